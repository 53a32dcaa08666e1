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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor.errors import UsageError

FORMAT = "docker-tutor-progress"
VERSION = 1
BAR_WIDTH = 24


def export(progress: dict[str, Any], learner: str) -> dict[str, Any]:
    """The learner's exercises from the progress file: status, attempts, time spent, failing checks."""
    exercises = []
    for exercise_id, entry in sorted(progress.get("exercises", {}).items()):
        first, last = entry.get("first_attempt"), entry.get("last_attempt")
        exercises.append(
            {
                "exercise": exercise_id,
                "status": entry.get("status", "not started"),
                "attempts": entry.get("attempts", 0),
                # Time from first to last check: a lower bound on the time spent, never inflated by idling after.
                "seconds_spent": round(last - first, 1) if first is not None and last is not None else 0.0,
                "failing_checks": list(entry.get("failing_checks", [])),
                "passed_at": _iso(entry["passed_at"]) if entry.get("passed_at") else None,
            }
        )
    return {"format": FORMAT, "version": VERSION, "learner": learner, "exported_at": _iso(time.time()), "exercises": exercises}


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@dataclass(frozen=True, slots=True)
class ExerciseSummary:
    exercise: str
    learners: int  # in the class
    attempted: int
    passed: int
    median_attempts: float
    median_seconds: float
    most_failed: tuple[str, int] | None  # (check id, learners whose last attempt failed it)


def read_exports(paths: list[Path]) -> list[dict[str, Any]]:
    """Read and validate every export; one learner per export (a later file replaces an earlier one).

    A file holds one learner's export, or a list of them (a served class's export).
    """
    by_learner: dict[str, dict[str, Any]] = {}
    for path in paths:
        for data in _read(path):
            by_learner[data["learner"]] = data
    return list(by_learner.values())


def _read(path: Path) -> list[dict[str, Any]]:
    hint = "Each learner makes one with: docker-tutor progress export --output NAME.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path} is not a progress export: not JSON ({exc})", hint=hint) from exc
    exports = data if isinstance(data, list) else [data]
    for index, entry in enumerate(exports):
        problem = _problem(entry)
        if problem:
            where = f"[{index}] " if isinstance(data, list) else ""
            raise UsageError(f"{path} is not a progress export: {where}{problem}", hint=hint)
    return exports


def _problem(data: Any) -> str:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return f"format is not {FORMAT!r}"
    if data.get("version") != VERSION:
        return f"version {data.get('version')!r}; this docker-tutor reads version {VERSION}"
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
        summaries.append(
            ExerciseSummary(
                exercise=exercise,
                learners=len(exports),
                attempted=len(tried),
                passed=sum(r["status"] == "passed" for r in rows),
                median_attempts=statistics.median(r["attempts"] for r in tried) if tried else 0,
                median_seconds=statistics.median(r["seconds_spent"] for r in tried) if tried else 0,
                most_failed=failed.most_common(1)[0] if failed else None,
            )
        )
    return summaries


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def _most_failed(summary: ExerciseSummary) -> str:
    return f"{summary.most_failed[0]} ({summary.most_failed[1]})" if summary.most_failed else "-"


def as_table(exports: list[dict[str, Any]], summaries: list[ExerciseSummary]) -> str:
    width = max([len("exercise"), *(len(s.exercise) for s in summaries)])
    lines = [f"{len(exports)} learners: {', '.join(sorted(d['learner'] for d in exports))}", ""]
    lines.append(f"{'exercise':<{width}}  passed/attempted  median attempts  median time  most common failing check")
    for s in summaries:
        lines.append(
            f"{s.exercise:<{width}}  {f'{s.passed}/{s.attempted}':>16}  {s.median_attempts:>15g}  "
            f"{_duration(s.median_seconds):>11}  {_most_failed(s)}"
        )
    lines += ["", f"passed, of {len(exports)} learners"]
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
<p>{len(exports)} learners: {learners}. Generated {_iso(time.time())}.</p>
<table>
<thead><tr><th>exercise</th><th>passed/attempted</th><th>median attempts</th><th>median time</th>
<th>most common failing check</th><th>passed, of the class</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""
