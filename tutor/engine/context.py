"""The build context as the engine will see it: size after .dockerignore, and unsafe entries.

The walk counts as it goes and stops at the limits, so a context of a million files or a
terabyte of sparse files costs no more memory than a small one. A context holds files, folders
and links: a socket, a FIFO or a device (what a running program or mknod leaves in a folder) is
refused with its name. The folder may change while the tar is written (a file removed, or
swapped for a link, a FIFO or a socket, by a program still running in it): each file is opened
without following a link and judged by what was opened, and a change refuses the build.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from docker.utils.build import PatternMatcher, exclude_paths

from tutor.engine.learner_files import LearnerFileRefused, display_name, open_learner_file, read_learner_file
from tutor.errors import TutorError

MAX_CONTEXT_BYTES = 500 * 2**20  # refused before anything is sent to the engine
MAX_CONTEXT_FILES = 50_000  # entries (files, folders, links) after .dockerignore
DOCKERIGNORE_LIMIT = 256 * 2**10
_SPECIAL = {stat.S_IFSOCK: "a socket", stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}


class ContextChanged(TutorError):
    """The folder changed while its build context was written; the message names the file."""


def _walked(walk: Iterable[str], limit: int) -> list[str]:
    """The walk's entries, no more than limit (the count refuses past it)."""
    found: list[str] = []
    for relative in walk:
        found.append(relative)
        if len(found) >= limit:
            break
    return found


def _unlisted(exc: OSError, root: Path) -> str:
    """A folder of the context that could not be listed (no permission, or removed meanwhile)."""
    where = display_name(os.path.relpath(exc.filename, root)) if exc.filename else "a folder"
    if isinstance(exc, PermissionError):
        return f"{where} cannot be listed (permission denied), so the build context cannot be read: chmod u+rx {where}, or list it in .dockerignore"  # noqa: E501
    return f"{where} could not be listed ({exc.strerror or exc}): the folder changed while it was read; check again"


@dataclass(frozen=True, slots=True)
class ContextSummary:
    files: int
    bytes: int
    included: frozenset[str]  # relative paths, "/"-separated
    escaping_links: tuple[str, ...]  # symlinks that point outside the context
    refused: str = ""  # why the context cannot be sent at all (a bad .dockerignore, too many entries)
    unreadable: tuple[str, ...] = ()  # files the build could not read (mode 000 for this user)


def read_dockerignore(directory: Path) -> list[str]:
    """The patterns of .dockerignore. Raises LearnerFileRefused for a link, a huge file, or no access."""
    try:
        data = read_learner_file(directory, ".dockerignore", DOCKERIGNORE_LIMIT)
    except LearnerFileRefused as exc:
        if exc.missing:
            return []
        raise
    # Bytes that are not UTF-8 (a Latin-1 file) are kept as the file system's names keep them.
    lines = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def summarize(directory: Path, dockerfile: str = "Dockerfile") -> ContextSummary:
    root = directory.resolve()
    try:
        patterns = read_dockerignore(root)
    except LearnerFileRefused as exc:
        return ContextSummary(0, 0, frozenset(), (), refused=str(exc))
    # As docker-py's exclude_paths does: the Dockerfile always goes.
    patterns = [*patterns, f"!{dockerfile}"]
    total = files = 0
    escaping: list[str] = []
    unreadable: list[str] = []
    included: set[str] = set()
    try:
        entries = list(_walked(PatternMatcher(patterns).walk(str(root)), MAX_CONTEXT_FILES + 1))
    except OSError as exc:
        return ContextSummary(0, 0, frozenset(), (), refused=_unlisted(exc, root))
    for relative in entries:
        if len(included) >= MAX_CONTEXT_FILES:
            return ContextSummary(
                files, total, frozenset(), (),
                refused=f"the build context has more than {MAX_CONTEXT_FILES} files and folders (after .dockerignore)",
            )
        included.add(relative.replace(os.sep, "/"))
        path = root / relative
        try:
            info = path.lstat()
        except OSError:
            continue
        kind = _SPECIAL.get(stat.S_IFMT(info.st_mode))
        if kind:
            return ContextSummary(
                files, total, frozenset(), (),
                refused=f"{display_name(relative)} is {kind}, which a build context cannot hold (only files, folders "
                "and links): remove it from the folder, or list it in .dockerignore",
            )
        if stat.S_ISLNK(info.st_mode):
            target = Path(os.path.realpath(path))
            if not target.is_relative_to(root):
                escaping.append(display_name(relative))
            continue
        if stat.S_ISREG(info.st_mode):
            files += 1
            total += info.st_size
            if not os.access(path, os.R_OK):
                unreadable.append(display_name(relative))
    return ContextSummary(files, total, frozenset(included), tuple(sorted(escaping)), unreadable=tuple(sorted(unreadable)))


def build_context_tar(context: Path, dockerfile: str = "Dockerfile", *, dockerfile_text: str | None = None) -> IO[bytes]:
    """The build context after .dockerignore, as a tar in GNU format, for both builders.

    .dockerignore is read as summarize reads it (bytes that are not UTF-8 kept as they are, as
    `docker build` keeps them; the SDK's own reading fails on them). Not the SDK's tar: Python
    writes PAX headers, and BuildKit's frontend, which sniffs the body's first block to tell a
    tar from a bare Dockerfile, then reads the tar as a Dockerfile.

    dockerfile_text: what to send as the Dockerfile instead of the folder's file (the tutor's copy)."""
    root = context.resolve()
    try:
        listed = sorted(exclude_paths(str(root), read_dockerignore(root), dockerfile=dockerfile))
    except OSError as exc:
        raise ContextChanged(_unlisted(exc, root) + "; nothing was sent to the engine") from exc
    except LearnerFileRefused as exc:
        raise ContextChanged(str(exc)) from exc
    body = tempfile.TemporaryFile()
    with tarfile.open(fileobj=body, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for relative in listed:
            name = relative.replace(os.sep, "/")
            text = dockerfile_text if dockerfile_text is not None and name == dockerfile.replace(os.sep, "/") else None
            try:
                _add(archive, root, name, text)
            except (OSError, LearnerFileRefused, _Changed) as exc:
                body.close()
                raise ContextChanged(
                    f"{display_name(name)} changed while the build context was written ({_why(exc)}), so nothing "
                    "was sent to the engine",
                    hint="Stop what is writing in the exercise folder (a server, a notebook, a script), then check again.",
                ) from exc
    body.seek(0)
    return body


class _Changed(Exception):
    pass


def _add(archive: tarfile.TarFile, root: Path, name: str, dockerfile_text: str | None) -> None:
    """One entry, judged by what it is now: a regular file by the file opened (never through a link)."""
    path = root / name
    kind = stat.S_IFMT(path.lstat().st_mode)
    if kind == stat.S_IFREG:
        with os.fdopen(open_learner_file(root, name), "rb") as content:
            info = _owned_by_root(archive.gettarinfo(arcname=name, fileobj=content))
            if dockerfile_text is not None:
                data = dockerfile_text.encode("utf-8")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info, content)  # a file that shrank meanwhile: OSError, "unexpected end of data"
        return
    if kind not in (stat.S_IFDIR, stat.S_IFLNK):
        raise _Changed(f"it is {_SPECIAL.get(kind, 'no file')} now")
    if kind == stat.S_IFLNK and not Path(os.path.realpath(path)).is_relative_to(root):
        raise _Changed("it is a symbolic link to a place outside the folder now")
    info = archive.gettarinfo(str(path), arcname=name)
    if info is None or not (info.isdir() or info.issym()):  # its type changed again since the lstat
        raise _Changed("it is no longer a folder or a link")
    archive.addfile(_owned_by_root(info))


def _owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = int(info.mtime)
    return info


def _why(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "it was removed"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def ignores(directory: Path, path: str) -> bool:
    """Whether .dockerignore leaves `path` out (or everything in it), whether or not it exists now."""
    try:
        matcher = PatternMatcher(read_dockerignore(directory))
    except LearnerFileRefused:
        return False
    return matcher.matches(path) or matcher.matches(f"{path}/HEAD")
