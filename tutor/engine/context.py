"""The build context as the engine will see it: size after .dockerignore, and unsafe entries.

The walk counts as it goes and stops at the limits, so a context of a million files or a
terabyte of sparse files costs no more memory than a small one.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from docker.utils.build import PatternMatcher, exclude_paths

from tutor.engine.learner_files import LearnerFileRefused, display_name, read_learner_file

MAX_CONTEXT_BYTES = 500 * 2**20  # refused before anything is sent to the engine
MAX_CONTEXT_FILES = 50_000  # entries (files, folders, links) after .dockerignore
DOCKERIGNORE_LIMIT = 256 * 2**10


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
    for relative in PatternMatcher(patterns).walk(str(root)):
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
    body = tempfile.TemporaryFile()
    with tarfile.open(fileobj=body, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for relative in sorted(exclude_paths(str(root), read_dockerignore(root), dockerfile=dockerfile)):
            path = root / relative
            info = archive.gettarinfo(str(path), arcname=relative.replace(os.sep, "/"))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = int(info.mtime)
            if dockerfile_text is not None and relative.replace(os.sep, "/") == dockerfile.replace(os.sep, "/"):
                data = dockerfile_text.encode("utf-8")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            elif info.isfile():
                with path.open("rb") as content:
                    archive.addfile(info, content)
            else:
                archive.addfile(info)
    body.seek(0)
    return body


def ignores(directory: Path, path: str) -> bool:
    """Whether .dockerignore leaves `path` out (or everything in it), whether or not it exists now."""
    try:
        matcher = PatternMatcher(read_dockerignore(directory))
    except LearnerFileRefused:
        return False
    return matcher.matches(path) or matcher.matches(f"{path}/HEAD")
