"""A classroom of hostile learners, through the real command line: one case per class of hole,
with wall time, the tutor's peak memory, exit code, what the user saw, and what was left behind
(containers and networks with this run's owner label). Prints a Markdown table
(tests/hostile/README.md keeps the latest one).

    python benchmarks/red_team.py

`--grade-class` measures what issue 12 asks of `grade`: N copies of each exercise's reference
solution graded with `--jobs J`, R runs in a row (a fresh data folder each run, so nothing is
reused from the run before); every copy must pass every time. Prints a table per exercise and
the failures' reasons (benchmarks/RESULTS.md keeps the latest one).

    nice -n 10 python benchmarks/red_team.py --grade-class [EXERCISE ...] [--copies 20] [--jobs 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import csv
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import docker  # noqa: E402
from common import TUTOR, measure, write_pack  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECRET = "INSTRUCTOR_API_TOKEN=s3cr3t"


class Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        Recorder.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(SECRET.encode())

    def log_message(self, *args: object) -> None:
        pass


def serve(address: str) -> int:
    server = http.server.ThreadingHTTPServer((address, 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def saw(output: str) -> str:
    """The first thing the user is told: the build error, a failing check, a warning, or the verdict."""
    start = output.find("{")
    try:
        report = json.loads(output[start:]) if start >= 0 else None
    except ValueError:
        report = None
    if report and "build" in report:
        failing = [c["message"] for c in report["checks"] if not c["passed"] and not c["skipped"]]
        text = report["build"]["error"] or (failing[0] if failing else "passed: " + report["checks"][-1]["message"])
        warning = next((line for line in output.splitlines() if "warning:" in line), "")
        text = (warning + " / " if warning else "") + text
    else:
        lines = [line for line in output.splitlines() if line.strip()]
        text = next((line for line in lines if "warning" in line or "Traceback" in line), lines[-1] if lines else "(nothing)")
    return text.replace("|", "/").replace("\n", " ")[:150]


def main(only: set[str] | None = None) -> None:
    client = docker.from_env()
    loopback = serve("127.0.0.1")
    everywhere = serve("0.0.0.0")
    rows = []
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        env = {"DOCKER_TUTOR_DATA": str(base / "data")}
        from tutor.engine.owner import OWNER_LABEL, owner_id  # the same data folder as the cases

        os.environ.update(env)
        mine = {"label": f"{OWNER_LABEL}={owner_id()}"}

        def folder(name: str, files: dict[str, str | bytes]) -> Path:
            path = base / name
            path.mkdir(parents=True)
            for file, content in files.items():
                (path / file).write_bytes(content if isinstance(content, bytes) else content.encode())
            return path

        def check(exercise: str, path: Path, *extra: str) -> list[str]:
            return [*TUTOR, *extra, "check", exercise, "--dir", str(path), "--format", "json"]

        victim = f"docker-tutor-redteam/victim:{time.time_ns()}"
        client.api.tag("busybox", *victim.split(":"))
        victim_id = client.images.get(victim).id.removeprefix("sha256:")[:12]
        addresses = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
        targets = [f"{line.split()[3].split('/')[0]}:{everywhere}" for line in addresses.splitlines() if " lo " not in line]
        targets.append(f"127.0.0.1:{loopback}")
        # Python, not busybox: the stand-in busybox's wget cannot resolve, so it would see nothing.
        probe = (
            "import os, urllib.request\n"
            f"targets = {targets!r}\n"
            "for line in open('/proc/net/route').read().splitlines()[1:]:\n"
            "    f = line.split()\n"
            "    if f[1] == '00000000':\n"
            f"        targets.append('.'.join(str(b) for b in reversed(bytes.fromhex(f[2]))) + ':{everywhere}')\n"
            "reached = []\n"
            "for t in targets:\n"
            "    try:\n"
            "        urllib.request.urlopen('http://' + t + '/', timeout=2).read(); reached.append(t)\n"
            "    except OSError:\n"
            "        pass\n"
            "os.makedirs('/www', exist_ok=True)\n"
            "open('/www/r', 'w').write('probed ' + ' '.join(reached))\n"
            "os.execvp('python3', ['python3', '-m', 'http.server', '8000', '-d', '/www'])\n"
        )
        prober_files = {
            "probe.py": probe,
            "Dockerfile": 'FROM python:3.11-slim\nCOPY probe.py /probe.py\nEXPOSE 8000\nCMD ["python3", "/probe.py"]\n',
        }
        http_pack = base / "http-pack"
        http_dir = write_pack(
            http_pack, "90-served", "[[checks]]\nkind = \"http\"\npath = \"/r\"\nexpected_body = ['\\Aprobed\\s*\\Z']\ntimeout = 60\n",
            prober_files,
        )
        compose_pack = base / "compose-pack"
        compose_dir = write_pack(
            compose_pack, "90-compose",
            "[[checks]]\nkind = \"compose.http\"\nservice = \"web\"\nport = 8000\npath = \"/r\"\n"
            "expected_body = ['\\Aprobed\\s*\\Z']\ntimeout = 60\n",
            {**prober_files, "compose.yaml": "services:\n  web:\n    build: .\n    ports: ['8000:8000']\n"},
        )
        compose_from_dir = write_pack(
            base / "compose-from-pack", "90-compose-from",
            "[[checks]]\nkind = \"compose.logs\"\nservice = \"web\"\nexpectedOutput = [\"up\"]\n",
            {"Dockerfile": "FROM busybox\n", "web/Dockerfile": "ARG BASE=busybox\nFROM $BASE\nCMD [\"echo\", \"up\"]\n",
             "compose.yaml": f"services:\n  web:\n    build: {{context: ./web, args: {{BASE: '{victim}'}}}}\n"},
        )
        run_pack = base / "run-pack"
        run_dir = write_pack(
            run_pack, "90-run", '[[checks]]\nkind = "docker-run"\nflags = ["--rm"]\nexecute = false\n',
            {"Dockerfile": "FROM busybox\n", "run.sh": "docker run --rm=false busybox\n"},
        )
        outside = base / "instructor.env"
        outside.write_text(SECRET + "\n")
        linked = folder("linked", {})
        os.symlink(outside, linked / "Dockerfile")
        sparse = folder("sparse", {})
        with open(sparse / "Dockerfile", "wb") as handle:
            handle.truncate(1536 * 2**20)
        ignore = folder("ignore", {"Dockerfile": "FROM busybox\n"})
        with open(ignore / ".dockerignore", "wb") as handle:
            handle.truncate(2**30)
        many = folder("many", {"Dockerfile": "FROM busybox\n"})
        for index in range(120):
            (many / f"d{index}").mkdir()
            for name in range(500):
                (many / f"d{index}" / str(name)).touch()
        odd = folder("odd", {"Dockerfile": "\ufeffFROM busybox\nCOPY . /ctx\nCMD [\"echo\", \"hello from the container\"]\n",
                             ".dockerignore": "secret-\u00e9*\n".encode("latin-1")})
        (odd / os.fsdecode(b"caf\xe9.txt")).write_text("x\n")
        (odd / os.fsdecode(b"secret-\xe9.key")).write_text("x\n")
        (odd / "locked.bin").write_text("x\n")
        os.chmod(odd / "locked.bin", 0)
        klass = base / "class"
        for index in range(20):
            shutil.copytree(ROOT / "exercises" / "12-non-root" / "solution", klass / f"learner{index:02d}")
        odd_class = base / "odd-class"
        shutil.copytree(ROOT / "exercises" / "01-hello-container" / "solution", odd_class / os.fsdecode(b"ren\xe9"))

        def broken_progress() -> None:
            (base / "data").mkdir(exist_ok=True)
            (base / "data" / "progress.json").write_text('{"version": 1, "exercises": []}')

        def broken_verdicts() -> None:
            for path in (base / "data" / "verdicts").glob("*.json"):
                path.write_text('{"tag": 3, "fingerprint": [], "image_id": {}, "report": "passed"}')

        others_image = {"tag": ""}

        def prepare_clean() -> None:
            context = folder("theirs", {"Dockerfile": f"FROM busybox\nRUN echo {time.time_ns()}\n"})
            others_image["tag"] = f"docker-tutor/01-hello-container:redteam{time.time_ns()}"
            list(client.api.build(path=str(context), tag=others_image["tag"], rm=True, decode=True, network_mode="none",
                                  labels={"org.docker-tutor.exercise": "01-hello-container", OWNER_LABEL: "someone-else"}))

        def after_clean() -> str:
            kept = client.api.images(name=others_image["tag"].split(":")[0], filters={"label": f"{OWNER_LABEL}=someone-else"})
            client.api.remove_image(others_image["tag"])
            return f"other user's image kept: {'yes' if kept else 'NO'}"

        classic = ["env", "DOCKER_TUTOR_BUILDER=classic"]
        buildkit = ["env", "DOCKER_TUTOR_BUILDER=buildkit"]
        fork_bomb = folder("forks", {"Dockerfile": "FROM python:3.11-slim\nRUN python3 -c \"exec('import os, time\\nwhile True:\\n try: os.fork()\\n except OSError: time.sleep(0.05)')\"\n"})
        big = folder("big", {"Dockerfile": "FROM busybox\nRUN dd if=/dev/zero of=/big bs=1M count=1024\n"})
        shell_bomb = folder("shell-bomb", {"Dockerfile": "FROM python:3.11-slim\nRUN bomb(){ bomb|bomb& }; bomb; sleep 600\n"})
        memory_hog = folder("memory-hog", {"Dockerfile": "FROM python:3.11-slim\nRUN python3 -c \"s = 'a' * (3 * 2**30)\"\n"})
        many_big = folder("many-big", {"Dockerfile": "FROM busybox\nRUN for i in 1 2 3 4 5 6; do dd if=/dev/zero of=/big$i bs=1M count=200; done\n"})
        compose_limits = {}
        for name, run in (("fork", "python3 -c \"exec('import os, time\\nwhile True:\\n try: os.fork()\\n except OSError: time.sleep(0.05)')\""),
                          ("disk", "dd if=/dev/zero of=/app/weights.bin bs=1M count=1200")):
            compose_limits[name] = shutil.copytree(ROOT / "exercises" / "14b-model-api-and-kv" / "solution", base / f"compose-{name}")
            (compose_limits[name] / "kv" / "Dockerfile").write_text(
                f"FROM python:3.11-slim\nWORKDIR /app\nRUN {run}\nCOPY kv.py .\nCMD [\"python\", \"kv.py\"]\n"
            )
        mine_classic = folder("mine-classic", {"Dockerfile": f"FROM busybox\nRUN echo {time.time_ns()} > /m\nCMD [\"echo\", \"hello from the container\"]\n"})

        def classic_check() -> None:
            subprocess.run([*classic, *check("01-hello-container", mine_classic)], env={**os.environ, **env}, capture_output=True)

        # Another learner (their own data folder) leaves a secret in the pip cache mount exercise 06b
        # teaches; the thief's build mounts the same target and prints what it finds.
        victims_cache = folder("victims-cache", {"Dockerfile": (
            "FROM busybox\nRUN --mount=type=cache,target=/root/.cache/pip "
            f"echo '{SECRET}' > /root/.cache/pip/token; echo {time.time_ns()}\n")})
        thief = folder("thief", {"Dockerfile": (
            "FROM busybox\nRUN --mount=type=cache,target=/root/.cache/pip "
            f"(cat /root/.cache/pip/token || echo nothing) > /stolen; echo {time.time_ns()}\n"
            'CMD ["cat", "/stolen"]\n')})

        def plant_in_cache() -> None:
            victim_env = {**os.environ, "DOCKER_TUTOR_DATA": str(base / "victim-data")}
            subprocess.run([*buildkit, *check("04-first-dockerfile", victims_cache)], env=victim_env, capture_output=True)

        no_hits = lambda: f"requests the engine made to this machine: {len(Recorder.hits)}"  # noqa: E731
        cases: list[tuple[str, str, list[str], Callable[[], None] | None, Callable[[], str] | None]] = [
            ("1", "ADD http://127.0.0.1 (a loopback service)",
             check("04-first-dockerfile", folder("add", {"Dockerfile": f"FROM busybox\nARG U=http://127.0.0.1:{loopback}/t\nADD $U /t\n"})), None, no_hits),
            ("1", "served container probes this machine's addresses",
             [*TUTOR, "--content", str(http_pack), "check", "90-served", "--dir", str(http_dir), "--format", "json"], None, no_hits),
            ("1", "Compose service probes this machine's addresses",
             [*TUTOR, "--content", str(compose_pack), "check", "90-compose", "--dir", str(compose_dir), "--format", "json"], None, no_hits),
            ("2", "Compose build.args name another learner's image",
             [*TUTOR, "--content", str(base / "compose-from-pack"), "check", "90-compose-from", "--dir", str(compose_from_dir), "--format", "json"],
             None, None),
            ("4", "RUN step forking without end (classic, as serve and grade build)", [*classic, *check("04-first-dockerfile", fork_bomb)], None, None),
            ("4", "RUN step writing one 1 GB file (classic)", [*classic, *check("04-first-dockerfile", big)], None, None),
            ("4", "RUN step writing 1.2 GB in 200 MB files (classic)", [*classic, *check("04-first-dockerfile", many_big)], None, None),
            ("4", "RUN step writing one 1 GB file (BuildKit)", [*buildkit, *check("04-first-dockerfile", big)], None, None),
            ("4", "RUN step bomb(){ bomb|bomb& }; bomb (BuildKit, as 06b builds: step warden)",
             [*buildkit, *check("04-first-dockerfile", shell_bomb)], None, None),
            ("4", "RUN step allocating 3 GB in a 1 GB build (BuildKit: step warden)",
             [*buildkit, *check("04-first-dockerfile", memory_hog)], None, None),
            ("4", "Compose service's RUN step forking without end (classic)",
             [*classic, *check("14b-model-api-and-kv", compose_limits["fork"])], None, None),
            ("4", "Compose service's RUN step writing a 1.2 GB file (classic)",
             [*classic, *check("14b-model-api-and-kv", compose_limits["disk"])], None, None),
            ("2", "FROM another learner's image", check("04-first-dockerfile", folder("from", {"Dockerfile": f"FROM {victim}\n"})), None, None),
            ("2", "COPY --from=<short image id>",
             check("04-first-dockerfile", folder("copyfrom", {"Dockerfile": f"FROM busybox\nCOPY --from={victim_id} /bin/sh /x\n"})), None, None),
            ("2", "BuildKit cache mount on 06b's target, after another learner's build left a token in it",
             [*buildkit, *check("01-hello-container", thief)], plant_in_cache, None),
            ("2", "RUN --mount=type=bind,fr\\om=<another learner's image> (BuildKit reads it as from=)",
             [*buildkit, *check("04-first-dockerfile", folder("mountfrom", {
                 "Dockerfile": f"FROM busybox\nRUN --mount=type=bind,fr\\om={victim},target=/m cat /m/bin/busybox > /x\n"}))], None, None),
            ("2", 'COPY --"from"=<another learner\'s image> (classic)',
             [*classic, *check("04-first-dockerfile", folder("copyquoted", {
                 "Dockerfile": f'FROM busybox\nCOPY --"from"={victim} /bin/busybox /x\n'}))], None, None),
            ("3", "Dockerfile is a link to a token file", check("04-first-dockerfile", linked), None, None),
            ("7", "1.5 GB sparse Dockerfile", check("04-first-dockerfile", sparse), None, None),
            ("7", "1 GB sparse .dockerignore", check("04-first-dockerfile", ignore), None, None),
            ("7", "60,000 empty files in the context", check("04-first-dockerfile", many), None, None),
            ("8", "BOM, Latin-1 .dockerignore, non-UTF-8 and mode-000 files", check("01-hello-container", odd), None, None),
            ("8", "the same, classic builder", [*classic, *check("01-hello-container", odd)], None, None),
            ("8", "progress.json of the wrong shape", [*TUTOR, "list"], broken_progress, None),
            ("8", "verdict file of the wrong shape", check("01-hello-container", odd), broken_verdicts, None),
            ("8", "learner folder named in Latin-1 (grade)", [*TUTOR, "grade", "01-hello-container", str(odd_class)], None, None),
            ("9", "docker run --rm=false", [*TUTOR, "--content", str(run_pack), "check", "90-run", "--dir", str(run_dir), "--format", "json"], None, None),
            ("6", "grade --jobs 4, 20 copies of 12-non-root", [*TUTOR, "grade", "12-non-root", str(klass), "--jobs", "4"], None, None),
            ("11", "clean, with another user's tutor image on the engine", [*TUTOR, "clean"], prepare_clean, after_clean),
            ("11", "clean after a check built by the classic builder", [*TUTOR, "clean"], classic_check, None),
        ]
        for klass_no, name, argv, before, after in cases:
            if only and klass_no not in only:
                continue
            if before:
                before()
            result = measure(argv, env=env)
            note = after() if after else ""
            left = len(client.api.containers(all=True, filters=mine)) + len(client.api.networks(filters=mine))
            seen = saw(result.output)
            if "grade" in argv:
                seen = next((line for line in reversed(result.output.splitlines()) if "passed" in line), seen)
            if "clean" in argv:
                seen = next((line.split(" made by")[0] for line in result.output.splitlines() if line.startswith("removed")), seen)
            rows.append((klass_no, name, f"{result.seconds:.1f}", f"{result.peak_mb:.0f}", str(result.exit_code),
                         (seen + (f" ({note})" if note else "")).replace("|", "/"), str(left)))
            print(f"done: {name} in {result.seconds:.1f} s", file=sys.stderr)
        client.api.remove_image(victim)
        subprocess.run([*TUTOR, "clean"], env={**os.environ, **env}, capture_output=True)
    print("| class | case | wall s | tutor peak MB | exit | what the user saw | containers + networks left |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def grade_class(exercises: list[str], copies: int, jobs: int, runs: int) -> None:
    """Grade `copies` copies of each reference solution, `runs` times in a row; print a table."""
    rows = []
    solutions = sorted(p.parent.parent.name for p in (ROOT / "exercises").glob("*/solution/Dockerfile"))
    chosen = exercises or solutions
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        for exercise in chosen:
            klass = base / exercise
            for index in range(copies):
                shutil.copytree(ROOT / "exercises" / exercise / "solution", klass / f"learner{index:02d}")
            results, seconds, reasons = [], [], []
            for run in range(runs):
                # A fresh data folder per run: no remembered verdict, new image tags, the engine's cache as it is.
                env = {"DOCKER_TUTOR_DATA": str(base / f"data-{exercise}-{run}")}
                result = measure([*TUTOR, "grade", exercise, str(klass), "--jobs", str(jobs), "--format", "csv"], env=env)
                table = [row for row in csv.DictReader(io.StringIO(result.output[result.output.find("learner,"):])) if row.get("passed") in ("true", "false")]
                passed = sum(row["passed"] == "true" for row in table)
                results.append(passed)
                seconds.append(result.seconds)
                reasons += [f"run {run + 1} {row['learner']}: {row['reasons'] or row['build_error']}"[:200] for row in table if row["passed"] != "true"]
                if not table:
                    reasons.append(f"run {run + 1}: no table (exit {result.exit_code}): {result.output[-200:]}")
                subprocess.run([*TUTOR, "clean"], env={**os.environ, **env}, capture_output=True)
                print(f"done: {exercise} run {run + 1}: {passed}/{copies} in {result.seconds:.0f} s", file=sys.stderr)
            rows.append((exercise, " / ".join(str(n) for n in results), " / ".join(f"{s:.0f}" for s in seconds), reasons))
    print(f"| exercise | passed of {copies}, runs 1 / 2 / 3 | wall s per run |")
    print("|---|---|---|")
    for exercise, passed, took, _ in rows:
        print(f"| {exercise} | {passed} | {took} |")
    for exercise, _, _, reasons in rows:
        for reason in reasons:
            print(f"- {exercise}: {reason}".replace("\n", " "))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grade-class", nargs="*", metavar="EXERCISE", help="grade copies of reference solutions (all if none named)")
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--classes", nargs="*", metavar="N", help="only the cases of these classes (e.g. 1 4 11)")
    args = parser.parse_args()
    if args.grade_class is not None:
        grade_class(args.grade_class, args.copies, args.jobs, args.runs)
    else:
        main(set(args.classes or []))
