"""What the archives of a build context would unpack to, read before the engine unpacks them.

`ADD archive.tar.gz /dir/` makes the engine unpack a local tar archive (plain, gzip, bzip2 or xz)
into the image, with no limit of its own: a few megabytes of compressed zeros write gigabytes
on the engine's disk before the finished image's size can be judged. So when a Dockerfile has
an ADD, every archive in the context is read first (which file an ADD names may hang on build
arguments), stopping as soon as their contents together pass the limit.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterable
from pathlib import Path

from tutor.engine.dockerfile import Dockerfile
from tutor.engine.learner_files import display_name

# The first bytes of a compressed stream, and where a plain tar says "ustar".
_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
_USTAR_AT = 257
MAX_ARCHIVE_MEMBERS = 50_000  # as many entries as a build context may hold
ARCHIVE_HINT = "ADD unpacks a local archive into the image: ship less data in it, or fetch large data at run time into a volume."


def oversized_archives(dockerfile: Dockerfile, root: Path, files: Iterable[str], limit: int) -> str:
    """Why the context's archives may not be unpacked ('' when they may): together they unpack to
    over `limit` bytes or MAX_ARCHIVE_MEMBERS entries. Only judged when the Dockerfile has an ADD."""
    if not any(instruction.name == "ADD" for instruction in dockerfile.instructions):
        return ""
    total = members = 0
    for relative in sorted(files):
        path = root / relative
        if path.is_symlink() or not path.is_file() or not _looks_like_archive(path):
            continue
        try:
            with tarfile.open(path, mode="r|*") as archive:  # a stream: nothing is unpacked or kept
                for member in archive:
                    total += member.size
                    members += 1
                    if total > limit or members > MAX_ARCHIVE_MEMBERS:
                        return (
                            f"{display_name(relative)} unpacks to over {limit / 10**9:g} GB or {MAX_ARCHIVE_MEMBERS:,} "
                            "files (with the other archives of the folder), which ADD would write into the image"
                        )
        except (tarfile.TarError, OSError, EOFError):
            continue  # not an archive ADD would unpack: the engine copies it as a file
    return ""


def _looks_like_archive(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(_USTAR_AT + 5)
    return head.startswith(_COMPRESSED) or head[_USTAR_AT:].startswith(b"ustar")
