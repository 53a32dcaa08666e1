"""Read a file from a learner's folder: never through a symbolic link, never past a size limit.

Every path component is opened with O_NOFOLLOW relative to the folder, and the size is taken from
the open file before a byte is read: a link to a file outside the folder, a FIFO or a 1.5 GB
sparse file is refused without reading it, and a refusal never quotes the file.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath

DOCKERFILE_LIMIT = 1 * 2**20  # no real Dockerfile comes near this
SMALL_FILE_LIMIT = 1 * 2**20  # .dockerignore, run.sh and other files a check reads whole


class LearnerFileRefused(ValueError):
    """The file is missing, a link, not a regular file, unreadable or too large; the message says which."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def read_learner_file(folder: Path, relative: str, limit: int = SMALL_FILE_LIMIT) -> bytes:
    """The bytes of `folder/relative`, or LearnerFileRefused."""
    shown = display_name(relative)
    handle = open_learner_file(folder, relative)
    info = os.fstat(handle)
    with os.fdopen(handle, "rb") as file:
        if info.st_size > limit:
            raise LearnerFileRefused(f"{shown} is {_size(info.st_size)}, over the {_size(limit)} limit for this file, and was not read")
        data = file.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise LearnerFileRefused(f"{shown} is over the {_size(limit)} limit for this file, and was not read")
    return data


def open_learner_file(folder: Path, relative: str) -> int:
    """An open descriptor of the regular file `folder/relative` (the caller closes it), reached
    without following a link on the way, or LearnerFileRefused. What it is is read from the open
    file: one swapped for a link, a FIFO or a folder since it was listed is refused, not read."""
    parts = PurePosixPath(relative).parts
    if not parts or any(part in ("..", "/") for part in parts):
        raise LearnerFileRefused(f"{relative} is not a path inside your folder")
    shown = display_name(relative)
    flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise LearnerFileRefused(f"{display_name(str(folder))} cannot be opened ({exc.strerror})", missing=True) from exc
    try:
        for index, part in enumerate(parts[:-1]):
            directory = _step(directory, part, "/".join(parts[: index + 1]))
        try:
            # O_NONBLOCK: opening a FIFO must not wait for a writer; regular files ignore it.
            handle = os.open(parts[-1], flags | os.O_NONBLOCK, dir_fd=directory)
        except OSError as exc:
            raise _refusal(exc, shown) from exc
    finally:
        os.close(directory)
    info = os.fstat(handle)
    if not stat.S_ISREG(info.st_mode):  # a folder, a FIFO, a device: before fdopen, which refuses a folder
        os.close(handle)
        raise LearnerFileRefused(f"{shown} is not a regular file")
    return handle


def learner_file_exists(folder: Path, relative: str) -> bool:
    path = folder / relative
    return path.is_symlink() or path.exists()


def _step(directory: int, part: str, shown: str) -> int:
    try:
        return os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=directory)
    except OSError as exc:
        raise _refusal(exc, display_name(shown)) from exc
    finally:
        os.close(directory)


def _refusal(exc: OSError, shown: str) -> LearnerFileRefused:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR) or (exc.errno == errno.EMLINK):
        return LearnerFileRefused(
            f"{shown} is a symbolic link; the tutor reads files only from inside your folder, "
            "so it was not read (replace the link with the file itself)"
        )
    if exc.errno == errno.ENOENT:
        return LearnerFileRefused(f"there is no {shown}", missing=True)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return LearnerFileRefused(f"{shown} cannot be read (permission denied): chmod u+r {shown}")
    return LearnerFileRefused(f"{shown} cannot be read ({exc.strerror})")


def display_name(name: str) -> str:
    """A file name fit to print: bytes that are not UTF-8 shown as \\xNN, never an encoding error."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size} bytes"
