"""A learner's progress as a portable export, and a class's exports aggregated into one report.

An export is plain JSON so it travels by mail or an LMS upload; the report reads nothing else,
and refuses (with the file's name) anything that is not an export.
"""

from __future__ import annotations

import html
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor.errors import UsageError
from tutor.words import plural

FORMAT = "docker-tutor-progress"
GRADE_FORMAT = "docker-tutor-grade"
VERSION = 2
READS = (1, 2)  # version 1 exports (before active time, hints, lessons and quizzes) still read
BAR_WIDTH = 24


def export(progress: dict[str, Any], learner: str) -> dict[str, Any]:
    """What the learner did: per exercise status, attempts, active time, hints; lessons read; quiz answers."""
    exercises = []
    for exercise_id, entry in sorted(progress.get("exercises", {}).items()):
        exercises.append(
            {
                "exercise": exercise_id,
                "status": entry.get("status", "not started"),
                "attempts": entry.get("attempts", 0),
                "seconds_spent": _active_seconds(entry),
                "hints_used": entry.get("hints_shown", 0),
                "failing_checks": list(entry.get("failing_checks", [])),
                "opened_at": _iso(entry["opened_at"]) if entry.get("opened_at") else None,
                "passed_at": _iso(entry["passed_at"]) if entry.get("passed_at") else None,
            }
        )
    lessons = [
        {"lesson": lesson, "read_at": _iso(info["read_at"]) if isinstance(info, dict) and info.get("read_at") else None}
        for lesson, info in sorted(progress.get("lessons", {}).items())
    ]
    quizzes = [
        {"lesson": lesson, "question": question, "attempts": answer.get("attempts", 0), "correct": bool(answer.get("correct"))}
        for lesson, answers in sorted(progress.get("quizzes", {}).items())
        if isinstance(answers, dict)
        for question, answer in sorted(answers.items())
        if isinstance(answer, dict)
    ]
    return {
        "format": FORMAT,
        "version": VERSION,
        "learner": learner,
        "exported_at": _iso(time.time()),
        "active_seconds": round(sum(e["seconds_spent"] for e in exercises), 1),
        "exercises": exercises,
        "lessons_read": lessons,
        "quizzes": quizzes,
    }


def _active_seconds(entry: dict[str, Any]) -> float:
    """Active time (see tutor.progress.IDLE_CAP); progress kept before it was recorded falls back
    to the time from first to last check, a lower bound never inflated by idling after."""
    if isinstance(entry.get("active_seconds"), (int, float)):
        return round(float(entry["active_seconds"]), 1)
    first, last = entry.get("first_attempt"), entry.get("last_attempt")
    return round(last - first, 1) if isinstance(first, (int, float)) and isinstance(last, (int, float)) else 0.0


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@dataclass(frozen=True, slots=True)
class ExerciseSummary:
    exercise: str
    learners: int  # in the class
    attempted: int
    passed: int
    median_attempts: float
    median_seconds: float | None  # active time of those who tried it; None when no file says
    most_failed: tuple[str, int] | None  # (check id, learners whose last attempt failed it)
    median_hints: float | None = None


def read_exports(paths: list[Path], warn: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
    """Read and validate every file: a learner's export, a served class's export (a list of them),
    or `grade --format json` (one export per learner, for that exercise).

    The same learner in two files is one learner only when the files are the same kind and the
    later is newer; two different people under one name are kept apart, both named, and warned of.
    """
    by_learner: dict[str, dict[str, Any]] = {}
    origin: dict[str, Path] = {}
    for path in paths:
        for data in _read(path):
            name = data["learner"]
            if name in by_learner and origin[name] != path and _same_person(by_learner[name], data):
                by_learner[name] = data  # a newer export of the same learner
                origin[name] = path
                continue
            if name in by_learner:
                renamed = f"{name} ({path.name})"
                warn(f"two learners named {name!r}: the one in {path} is reported as {renamed!r}")
                name = renamed
                data = {**data, "learner": name}
            by_learner[name] = data
            origin[name] = path
    return list(by_learner.values())


def _same_person(earlier: dict[str, Any], later: dict[str, Any]) -> bool:
    """Two progress exports of one learner (the same exercises seen, or more): a re-export."""
    if earlier.get("source") or later.get("source"):
        return False
    seen = {e["exercise"] for e in earlier["exercises"]}
    return seen <= {e["exercise"] for e in later["exercises"]}


def _read(path: Path) -> list[dict[str, Any]]:
    hint = "Each learner makes one with: docker-tutor progress export --output NAME.json (or give grade's --format json)"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path} is not a progress export: not JSON ({exc})", hint=hint) from exc
    except RecursionError as exc:  # [[[[...]]]] thousands deep
        raise UsageError(f"{path} is not a progress export: it nests too deep", hint=hint) from exc
    if isinstance(data, dict) and (data.get("format") == GRADE_FORMAT or {"exercise", "submissions"} <= data.keys()):
        return _from_grade(path, data)
    exports = data if isinstance(data, list) else [data]
    for index, entry in enumerate(exports):
        problem = _problem(entry)
        if problem:
            where = f"[{index}] " if isinstance(data, list) else ""
            raise UsageError(f"{path} is not a progress export: {where}{problem}", hint=hint)
    return exports


def _from_grade(path: Path, data: dict[str, Any]) -> list[dict[str, Any]]:
    """grade's JSON as exports: one attempt each, and no time (grading time is not the learner's)."""
    exercise, submissions = data.get("exercise"), data.get("submissions")
    if not isinstance(exercise, str) or not isinstance(submissions, list):
        raise UsageError(f"{path} is not grade's JSON: exercise or submissions missing")
    exports = []
    for index, row in enumerate(submissions):
        if not isinstance(row, dict) or not isinstance(row.get("learner"), str) or not isinstance(row.get("passed"), bool):
            raise UsageError(f"{path} is not grade's JSON: submissions[{index}] needs a learner and passed")
        exports.append(
            {
                "format": FORMAT,
                "version": VERSION,
                "learner": row["learner"],
                "source": "grade",
                "exercises": [
                    {
                        "exercise": exercise,
                        "status": "passed" if row["passed"] else "failed",
                        "attempts": 1,
                        "seconds_spent": None,
                        "hints_used": None,
                        "failing_checks": [str(c) for c in row.get("failing_checks", [])],
                        "score": row.get("score"),
                        "max_score": row.get("max_score"),
                    }
                ],
            }
        )
    return exports


def _problem(data: Any) -> str:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return f"format is not {FORMAT!r}"
    if data.get("version") not in READS:
        return f"version {data.get('version')!r}; this docker-tutor reads versions {', '.join(map(str, READS))}"
    if not isinstance(data.get("learner"), str) or not data["learner"].strip():
        return "learner: must be a name"
    if not isinstance(data.get("exercises"), list):
        return "exercises: must be a list"
    for index, entry in enumerate(data["exercises"]):
        where = f"exercises[{index}]"
        if not isinstance(entry, dict):
            return f"{where}: must be an object"
        fields = (("exercise", str), ("status", str), ("attempts", int), ("seconds_spent", (int, float)), ("failing_checks", list))
        for name, kind in fields:
            if not isinstance(entry.get(name), kind) or isinstance(entry.get(name), bool):
                return f"{where}.{name}: missing or of the wrong type"
    return ""


def summarize(exports: list[dict[str, Any]]) -> list[ExerciseSummary]:
    entries: dict[str, list[dict[str, Any]]] = {}
    for data in exports:
        for entry in data["exercises"]:
            entries.setdefault(entry["exercise"], []).append(entry)
    summaries = []
    for exercise, rows in sorted(entries.items()):
        tried = [r for r in rows if r["attempts"] > 0]
        failed = Counter(check for r in rows if r["status"] != "passed" for check in r["failing_checks"])
        times = [r["seconds_spent"] for r in tried if isinstance(r.get("seconds_spent"), (int, float))]
        hints = [r["hints_used"] for r in tried if isinstance(r.get("hints_used"), int)]
        summaries.append(
            ExerciseSummary(
                exercise=exercise,
                learners=len(exports),
                attempted=len(tried),
                passed=sum(r["status"] == "passed" for r in rows),
                median_attempts=statistics.median(r["attempts"] for r in tried) if tried else 0,
                median_seconds=statistics.median(times) if times else None,
                most_failed=failed.most_common(1)[0] if failed else None,
                median_hints=statistics.median(hints) if hints else None,
            )
        )
    return summaries


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def _hints(summary: ExerciseSummary) -> str:
    return "-" if summary.median_hints is None else f"{summary.median_hints:g}"


def _most_failed(summary: ExerciseSummary) -> str:
    return f"{summary.most_failed[0]} ({summary.most_failed[1]})" if summary.most_failed else "-"


def as_table(exports: list[dict[str, Any]], summaries: list[ExerciseSummary]) -> str:
    width = max([len("exercise"), *(len(s.exercise) for s in summaries)])
    lines = [f"{plural(len(exports), 'learner')}: {', '.join(sorted(d['learner'] for d in exports))}", ""]
    lines.append(f"{'exercise':<{width}}  passed/attempted  median attempts  median time  median hints  most common failing check")
    for s in summaries:
        lines.append(
            f"{s.exercise:<{width}}  {f'{s.passed}/{s.attempted}':>16}  {s.median_attempts:>15g}  "
            f"{_duration(s.median_seconds):>11}  {_hints(s):>12}  {_most_failed(s)}"
        )
    lines += ["", f"passed, of {plural(len(exports), 'learner')}"]
    for s in summaries:
        filled = round(BAR_WIDTH * s.passed / s.learners) if s.learners else 0
        lines.append(f"{s.exercise:<{width}}  {'#' * filled}{'.' * (BAR_WIDTH - filled)}  {s.passed}/{s.learners}")
    return "\n".join(lines)


def as_html(exports: list[dict[str, Any]], summaries: list[ExerciseSummary]) -> str:
    """One self-contained page: no script, no external style or font, prints cleanly."""
    rows = []
    for s in summaries:
        share = 100 * s.passed / s.learners if s.learners else 0
        rows.append(
            "<tr>"
            f"<td><code>{html.escape(s.exercise)}</code></td>"
            f"<td class=num>{s.passed}/{s.attempted}</td>"
            f"<td class=num>{s.median_attempts:g}</td>"
            f"<td class=num>{_duration(s.median_seconds)}</td>"
            f"<td class=num>{_hints(s)}</td>"
            f"<td>{html.escape(_most_failed(s))}</td>"
            f'<td><div class=bar><div style="width:{share:.0f}%"></div></div> {s.passed}/{s.learners}</td>'
            "</tr>"
        )
    learners = ", ".join(html.escape(d["learner"]) for d in sorted(exports, key=lambda d: d["learner"]))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>docker-tutor class report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1d2433; }}
table {{ border-collapse: collapse; }}
th, td {{ padding: .35rem .8rem; border-bottom: 1px solid #d8dde6; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.bar {{ display: inline-block; width: 10rem; height: .8rem; background: #e4e8ef; vertical-align: middle; }}
.bar div {{ height: 100%; background: #2d7ff9; }}
</style>
</head>
<body>
<h1>docker-tutor class report</h1>
<p>{plural(len(exports), 'learner')}: {learners}. Generated {_iso(time.time())}.</p>
<table>
<thead><tr><th>exercise</th><th>passed/attempted</th><th>median attempts</th><th>median time</th><th>median hints</th>
<th>most common failing check</th><th>passed, of the class</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""
