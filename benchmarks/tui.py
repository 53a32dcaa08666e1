"""The TUI under load, headless: resident memory after a lesson and a check, and how long the
event loop stalls while a container floods 100 MB of output.

    python benchmarks/tui.py

A 20 ms timer runs in the app throughout; the largest gap between its ticks is the longest
time the interface could not have drawn or answered a key.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import write_pack  # noqa: E402

from tutor import locations  # noqa: E402

FLOOD = 'FROM busybox\nCMD ["sh", "-c", "yes flood | head -c 100000000; echo done"]\n'


async def run_check(app, exercise_id: str, pilot, seconds: float = 300) -> float:
    """Open the exercise, check it, wait for the recorded verdict; return the largest loop stall."""
    gaps: list[float] = []
    last = [time.monotonic()]

    def tick() -> None:
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    timer = app.set_interval(0.02, tick)
    exercise = app.curriculum.exercise(exercise_id)
    app.open_exercise(exercise)
    await pilot.pause()
    await pilot.press("ctrl+r")
    deadline = time.monotonic() + seconds
    while app.progress.status(exercise_id) == "not started" and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    timer.stop()
    return max(gaps) - 0.02 if gaps else float("nan")


async def main() -> None:
    from tutor.app.tutor_app import TutorApp

    with tempfile.TemporaryDirectory() as temp:
        os.environ["DOCKER_TUTOR_DATA"] = str(Path(temp) / "data")
        pack = Path(temp) / "pack"
        write_pack(pack, "90-flood", '[[checks]]\nkind = "command"\nexpectedOutput = ["done"]\ntimeout = 120\n', {"Dockerfile": FLOOD})
        workspace = Path(temp) / "workspace"
        app = TutorApp(content_roots=[locations.content_root(), pack], workspace=workspace, check_engine=False)
        async with app.run_test(size=(120, 40)) as pilot:
            app.open_lesson(app.curriculum.lesson("04-dockerfile-recipe"))
            await pilot.pause()
            exercise = app.curriculum.exercise("04-first-dockerfile")
            folder = app.workspace.ensure(exercise)
            for item in exercise.solution_dir.iterdir():
                (folder / item.name).write_bytes(item.read_bytes())
            stall_check = await run_check(app, "04-first-dockerfile", pilot)
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            started = time.monotonic()
            stall_flood = await run_check(app, "90-flood", pilot)
            flood_seconds = time.monotonic() - started
            rss_after_flood = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| what | figure |\n|---|---|")
    print(f"| peak resident memory after a lesson and a check (04-first-dockerfile) | {rss_mb:.0f} MB |")
    print(f"| longest event-loop stall during that check | {stall_check * 1000:.0f} ms |")
    print(f"| check of a container printing 100 MB | {flood_seconds:.1f} s |")
    print(f"| longest event-loop stall during the flood | {stall_flood * 1000:.0f} ms |")
    print(f"| peak resident memory after the flood | {rss_after_flood:.0f} MB |")


if __name__ == "__main__":
    asyncio.run(main())
