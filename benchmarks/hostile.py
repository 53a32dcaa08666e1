"""Hostile cases through the real command line: time to a verdict, the tutor's peak memory, and
what was left behind. Prints a Markdown table (tests/hostile/README.md keeps the latest one).

    python benchmarks/hostile.py
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import docker  # noqa: E402
from common import TUTOR, measure, write_pack  # noqa: E402

BUSYBOX = "FROM busybox\n"
CASES: list[tuple[str, str, str, str, str]] = [
    # name, Dockerfile, checks TOML, build TOML, the limit that stops it
    ("RUN step that never ends", "FROM busybox\nRUN sleep 100000\n", '[[checks]]\nkind = "user"\n',
     "[build]\ntimeout = 10\n", "build deadline (10 s here, 300 s default)"),
    ("container that sleeps forever", 'FROM busybox\nCMD ["sleep", "100000"]\n',
     '[[checks]]\nkind = "command"\ntimeout = 10\n', "", "command timeout (10 s here, 20 s default)"),
    ("container that ignores SIGTERM", 'FROM busybox\nCMD ["sleep", "100000"]\n',
     '[[checks]]\nkind = "stop"\n', "", "stop grace period 5 s, then SIGKILL"),
    ("1 GB of output from a build step", "FROM busybox\nRUN yes 'flood' | head -c 1000000000\n",
     '[[checks]]\nkind = "user"\n', "[build]\ntimeout = 600\n", "log kept: last 60 lines, 500 chars each"),
    ("1 GB of output from a container", 'FROM busybox\nCMD ["sh", "-c", "yes flood | head -c 1000000000"]\n',
     '[[checks]]\nkind = "command"\ntimeout = 20\n', "", "json-file log capped at 1 MB; 64 KB read; 20 s timeout"),
    ("memory bomb in a build step", "FROM busybox\nRUN head -c 3000m /dev/zero | tail > /dev/null\n",
     '[[checks]]\nkind = "user"\n', "", "build memory limit 1 GB"),
    ("memory bomb in a container", 'FROM busybox\nCMD ["sh", "-c", "head -c 3000m /dev/zero | tail"]\n',
     '[[checks]]\nkind = "command"\n', "", "container memory limit 256 MB"),
    ("fork bomb in a container", 'FROM busybox\nCMD ["sh", "-c", "bomb() { bomb | bomb & }; bomb; sleep 5"]\n',
     '[[checks]]\nkind = "command"\ntimeout = 10\n', "", "pids limit 128"),
    ("10 GB build context", BUSYBOX, '[[checks]]\nkind = "user"\n', "", "context limit 500 MB, refused before sending"),
]


def verdict_of(output: str) -> str:
    try:
        report = json.loads(output)
    except ValueError:
        return output.strip().splitlines()[-1][:110] if output.strip() else "(no output)"
    failing = [c["message"] for c in report["checks"] if not c["passed"] and not c["skipped"]]
    text = report["build"]["error"] or (failing[0] if failing else "passed")
    return text.splitlines()[0][:110].replace("|", "/")


def leftovers(client: docker.DockerClient, before: set[str], exercise_id: str, dockerfile: str) -> int:
    """Containers this case made and left: labelled with its exercise, or running one of its steps."""
    mine = [
        c
        for c in client.api.containers(all=True)
        if c["Id"] not in before
        and ((c.get("Labels") or {}).get("org.docker-tutor.exercise") == exercise_id
             or any(part and part in c.get("Command", "") for part in re.findall(r"RUN (.+)", dockerfile)))
    ]
    return len(mine)


def main() -> None:
    client = docker.from_env()
    rows = []
    with tempfile.TemporaryDirectory() as temp:
        for index, (name, dockerfile, checks, build, limit) in enumerate(CASES):
            pack = Path(temp) / f"pack{index}"
            exercise_id = f"90-case-{index}"
            # A fresh first step, so no case is served from an earlier run's build cache.
            dockerfile = dockerfile.replace("FROM busybox\n", f"FROM busybox\nRUN echo {time.time_ns()}\n", 1)
            folder = write_pack(pack, exercise_id, checks, {"Dockerfile": dockerfile}, build)
            if "10 GB" in name:
                with open(folder / "dataset.bin", "wb") as sparse:
                    sparse.truncate(10 * 10**9)
            before = {c["Id"] for c in client.api.containers(all=True)}
            result = measure([*TUTOR, "--content", str(pack), "check", exercise_id, "--solution", "--format", "json"])
            rows.append((name, limit, f"{result.seconds:.1f}", f"{result.peak_mb:.0f}", str(result.exit_code),
                         verdict_of(result.output), str(leftovers(client, before, exercise_id, dockerfile))))
            print(f"done: {name} in {result.seconds:.1f} s", file=sys.stderr)
    print("| case | limit that stops it | wall s | tutor peak MB | exit | verdict | containers left |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
