"""The build context as the engine will see it: size after .dockerignore, and unsafe entries."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from docker.utils.build import PatternMatcher, exclude_paths

MAX_CONTEXT_BYTES = 500 * 2**20  # refused before anything is sent to the engine


@dataclass(frozen=True, slots=True)
class ContextSummary:
    files: int
    bytes: int
    included: frozenset[str]  # relative paths, "/"-separated
    escaping_links: tuple[str, ...]  # symlinks that point outside the context


def read_dockerignore(directory: Path) -> list[str]:
    path = directory / ".dockerignore"
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def summarize(directory: Path, dockerfile: str = "Dockerfile") -> ContextSummary:
    root = directory.resolve()
    included = exclude_paths(str(root), read_dockerignore(root), dockerfile=dockerfile)
    total = files = 0
    escaping = []
    for relative in included:
        path = root / relative
        if path.is_symlink():
            target = Path(os.path.realpath(path))
            if not target.is_relative_to(root):
                escaping.append(relative)
            continue
        if path.is_file():
            files += 1
            total += path.stat().st_size
    return ContextSummary(files, total, frozenset(p.replace(os.sep, "/") for p in included), tuple(sorted(escaping)))


def ignores(directory: Path, path: str) -> bool:
    """Whether .dockerignore leaves `path` out (or everything in it), whether or not it exists now."""
    matcher = PatternMatcher(read_dockerignore(directory))
    return matcher.matches(path) or matcher.matches(f"{path}/HEAD")
