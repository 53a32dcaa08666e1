"""Fifty checks in a row, every tenth cut by Ctrl-C and every tenth by kill -9 mid-build; then
count what is left: containers, and images that were not there before (tag or dangling).

    python benchmarks/soak.py [--checks 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import docker  # noqa: E402

from tutor import locations  # noqa: E402

TUTOR = [sys.executable, "-m", "tutor"]
EXERCISES = ["01-hello-container", "04-first-dockerfile", "12-non-root"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checks", type=int, default=50)
    args = parser.parse_args()
    client = docker.from_env()
    images_before = {image["Id"] for image in client.api.images(all=True)}
    tags_before = {tag for image in client.api.images() for tag in image.get("RepoTags") or []}
    containers_before = {c["Id"] for c in client.api.containers(all=True)}
    started = time.monotonic()
    outcomes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as temp:
        # The tutor's remembered verdicts go to a folder of their own, not the user's.
        os.environ["DOCKER_TUTOR_DATA"] = str(Path(temp) / "data")
        for index in range(args.checks):
            exercise = EXERCISES[index % len(EXERCISES)]
            folder = Path(temp) / f"attempt{index}"
            source = "solution" if index % 2 else "starter"
            shutil.copytree(locations.content_root() / "exercises" / exercise / source, folder)
            cut = {9: signal.SIGINT, 4: signal.SIGKILL}.get(index % 10)
            if cut is not None:
                # A slow first step, so the cut lands in the middle of the build.
                dockerfile = folder / "Dockerfile"
                lines = dockerfile.read_text().splitlines()
                lines.insert(1, f"RUN echo {time.time_ns()} && sleep 30")
                dockerfile.write_text("\n".join(lines) + "\n")
            process = subprocess.Popen([*TUTOR, "check", exercise, "--dir", str(folder)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if cut is not None:
                time.sleep(2.5)
                process.send_signal(cut)
            code = process.wait(120)
            key = {signal.SIGINT: "ctrl-c", signal.SIGKILL: "kill -9"}.get(cut, f"exit {code}")
            outcomes[key] = outcomes.get(key, 0) + 1
        # A last check sweeps what a killed tutor left, as any next start does.
        subprocess.run([*TUTOR, "check", EXERCISES[0], "--solution"], stdout=subprocess.DEVNULL)
    time.sleep(2)
    containers_left = [c for c in client.api.containers(all=True) if c["Id"] not in containers_before]
    new_tags = {tag for image in client.api.images() for tag in image.get("RepoTags") or []} - tags_before
    new_untagged = [i for i in client.api.images(all=True) if i["Id"] not in images_before and not i.get("RepoTags")]
    print(
        "| checks | outcomes | wall s | containers left "
        "| new image tags (the kept cache: the 3 most recently checked folders of each exercise) | new untagged images |"
    )
    print("|---|---|---|---|---|---|")
    print(f"| {args.checks + 1} | {', '.join(f'{v}× {k}' for k, v in sorted(outcomes.items()))} | "
          f"{time.monotonic() - started:.0f} | {len(containers_left)} | {len(new_tags)} | {len(new_untagged)} |")


if __name__ == "__main__":
    main()
