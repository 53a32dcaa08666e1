"""ADD of a local archive: the engine unpacks it with no limit of its own, so a few kilobytes of
compressed zeros would write the limit many times over on the engine's disk before the image's
size is judged. The tutor reads the archives first and sends nothing when they are too big."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker
LIMIT_MB = 30  # DOCKER_TUTOR_MAX_IMAGE_MB for the test: the same code path as the 1 GB default, sooner


def _archive(path: Path, megabytes: int, compress: bool = True) -> None:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        member = tarfile.TarInfo("zeros")
        member.size = megabytes * 10**6
        tar.addfile(member, io.BytesIO(bytes(member.size)))
    path.write_bytes(gzip.compress(data.getvalue(), compresslevel=1) if compress else data.getvalue())


def _check(folder: Path, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tutor", "check", "04-first-dockerfile", "--dir", str(folder)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "DOCKER_TUTOR_DATA": str(data), "DOCKER_TUTOR_MAX_IMAGE_MB": str(LIMIT_MB)},
    )


@pytest.mark.parametrize(("name", "add"), [("bomb.tar.gz", "ADD bomb.tar.gz /x/"), ("data", "ARG A=data\nADD ${A} /x/")])
def test_an_archive_that_unpacks_over_the_limit_is_refused_before_the_engine_sees_it(tmp_path: Path, host, name: str, add: str) -> None:
    folder = tmp_path / "learner"
    folder.mkdir()
    _archive(folder / name, LIMIT_MB + 10)  # a name without .tar.gz is unpacked all the same
    assert (folder / name).stat().st_size < 200_000
    (folder / "Dockerfile").write_text(f'FROM python:3.11-slim\nWORKDIR /app\n{add}\nCMD ["python", "-c", "print(1)"]\n')
    before = {image["Id"] for image in host.api.images(all=True)}
    started = time.monotonic()
    result = _check(folder, tmp_path / "data")
    assert result.returncode == 1 and "unpacks to over 0.03 GB" in result.stdout and "nothing was sent to the engine" in result.stdout, result.stdout
    assert time.monotonic() - started < 30
    assert {image["Id"] for image in host.api.images(all=True)} <= before  # no build ran


def test_an_archive_within_the_limit_is_unpacked_as_docker_would(tmp_path: Path, host) -> None:
    folder = tmp_path / "learner"
    folder.mkdir()
    _archive(folder / "small.tar", 1, compress=False)
    (folder / "Dockerfile").write_text('FROM python:3.11-slim\nWORKDIR /app\nADD small.tar /x/\nCOPY train.py .\nCMD ["python", "train.py"]\n')
    (folder / "train.py").write_text("print('trained')\n")
    result = _check(folder, tmp_path / "data")
    assert "unpacks to over" not in result.stdout and "build  ok" in result.stdout, result.stdout
    subprocess.run([sys.executable, "-m", "tutor", "clean"], capture_output=True, env={**os.environ, "DOCKER_TUTOR_DATA": str(tmp_path / "data")})
