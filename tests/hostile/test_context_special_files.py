"""Special files in the exercise folder, and files that change between the listing and the tar.

A socket in the folder crashed `check` with a traceback (tarfile has no entry for one). A build
context holds files, folders and links: a socket, a FIFO or a device is refused before anything
is sent, naming it. While the tar is written, a program still running in the folder may remove a
listed file or swap it for a link, a FIFO, a socket or a folder: each is judged by what is opened
(never through a link), and the build is refused with the file's name, never a traceback, a hang,
or a byte of what a link points at."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

import tutor.engine.context as context_module
from tests.engine.helpers import context, exercise
from tutor.engine.context import ContextChanged, build_context_tar
from tutor.engine.grader import Grading, grade

_DOCKERFILE = 'FROM busybox\nCOPY . /app\nCMD ["echo", "Hello, Docker!"]\n'


def _socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()  # the socket file stays


def _device(path: Path) -> None:
    try:
        os.mknod(path, 0o600 | 0o020000, os.makedev(1, 3))  # a character device, as /dev/null
    except PermissionError:
        pytest.skip("mknod needs root")


def _no_engine():
    raise AssertionError("the engine was asked for, though nothing may be sent")


@pytest.mark.parametrize(
    "make,where,kind",
    [
        (_socket, "sock", "a socket"),
        (_socket, "data/run/notebook.sock", "a socket"),
        (lambda path: os.mkfifo(path), "pipe", "a FIFO"),
        (_device, "null", "a device"),
    ],
    ids=["socket", "socket-in-a-subfolder", "fifo", "device"],
)
def test_a_special_file_in_the_folder_is_refused_before_the_build(
    tmp_path: Path, make: Callable[[Path], None], where: str, kind: str
) -> None:
    folder = context(tmp_path / "ctx", {"Dockerfile": _DOCKERFILE, "app.py": "print(1)\n"})
    (folder / where).parent.mkdir(parents=True, exist_ok=True)
    make(folder / where)
    report = grade(exercise([{"kind": "user"}]), folder, _no_engine, grading=Grading(keep_image=False))
    assert not report.build.ok
    assert f"{where} is {kind}" in report.build.error and ".dockerignore" in report.build.error, report.build.error


def test_a_special_file_left_out_by_dockerignore_is_no_obstacle(tmp_path: Path) -> None:
    folder = context(tmp_path / "ctx", {"Dockerfile": _DOCKERFILE, ".dockerignore": "*.sock\n"})
    _socket(folder / "server.sock")
    with build_context_tar(folder) as body:
        assert body.read(1)


def test_check_with_a_socket_in_the_folder_says_so_without_a_traceback(tmp_path: Path) -> None:
    """The red team's input, through the command line."""
    folder = context(tmp_path / "ctx", {"Dockerfile": _DOCKERFILE})
    _socket(folder / "sock")
    env = {**os.environ, "DOCKER_TUTOR_DATA": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "tutor", "check", "01-hello-container", "--dir", str(folder)],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "sock is a socket" in done.stdout, done.stdout
    assert "Traceback" not in done.stdout + done.stderr and "internal error" not in done.stdout + done.stderr


def _swap_to_socket(path: Path) -> None:
    path.unlink()
    _socket(path)


def _swap_to_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _swap_to_link(path: Path) -> None:
    path.unlink()
    path.symlink_to("/etc/passwd")


def _swap_to_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _swap_parent_to_link(path: Path) -> None:
    shutil.rmtree(path.parent)
    path.parent.symlink_to("/etc")


@pytest.mark.parametrize(
    "swap,relative,said",
    [
        (Path.unlink, "model.txt", "it was removed"),
        (_swap_to_socket, "model.txt", "a socket"),
        (_swap_to_fifo, "model.txt", "a FIFO"),  # never opened: no wait for a writer
        (_swap_to_link, "model.txt", "symbolic link to a place outside"),
        # Now an empty folder: sent as the folder it is, which harms nothing.
        (_swap_to_folder, "model.txt", ""),
        # A folder on the way swapped for a link to /etc: /etc/passwd must not be read as sub/passwd.
        (_swap_parent_to_link, "sub/passwd", "symbolic link"),
    ],
    ids=["removed", "socket", "fifo", "link", "folder", "parent-link"],
)
def test_a_file_that_changes_after_the_listing_refuses_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap: Callable[[Path], None], relative: str, said: str
) -> None:
    folder = context(tmp_path / "ctx", {"Dockerfile": _DOCKERFILE, relative: "weights\n"})
    listed = context_module.exclude_paths

    def list_then_change(*args, **kwargs):
        found = listed(*args, **kwargs)
        swap(folder / relative)  # a program in the folder, between the listing and the tar
        return found

    monkeypatch.setattr(context_module, "exclude_paths", list_then_change)
    if not said:
        with tarfile.open(fileobj=build_context_tar(folder)) as sent:
            assert sent.getmember(relative).isdir()
        return
    with pytest.raises(ContextChanged) as raised:
        build_context_tar(folder)
    assert Path(relative).parts[0] in raised.value.message and said in raised.value.message, raised.value.message
    assert "nothing was sent to the engine" in raised.value.message
