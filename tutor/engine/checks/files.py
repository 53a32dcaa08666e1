"""Files in the image: exists or absent, permissions, owner, contents (read without starting it)."""

from __future__ import annotations

import io
import stat
import tarfile
from dataclasses import dataclass

import docker.errors

from tutor.engine.checks.base import Check, CheckContext, Verdict, failed, passed, register, search_all, search_any
from tutor.engine.sanitize import clean_text

MAX_READ = 4 * 2**20  # contents checks read at most this much of a file


@register
@dataclass(kw_only=True, frozen=True)
class FileInImage(Check):
    """container-structure-test's fileExistenceTests and fileContentTests, in one kind."""

    kind = "file"
    default_hint = (
        "COPY puts files where you say (relative to WORKDIR); COPY --chown=user:group sets the owner, "
        "RUN chmod the permissions; .dockerignore keeps files out of the image."
    )
    path: str
    shouldExist: bool = True
    permissions: str = ""  # as ls -l shows it, e.g. "-rw-r--r--"
    uid: int | None = None
    gid: int | None = None
    expectedContents: tuple[str, ...] = ()
    excludedContents: tuple[str, ...] = ()

    def describe(self) -> str:
        if not self.shouldExist:
            return f"{self.path} is not in the image"
        return f"{self.path} is in the image" + (" with the right contents" if self.expectedContents else "")

    def run(self, ctx: CheckContext) -> Verdict:
        assert ctx.host is not None
        with ctx.host.container(ctx.image, start=False, exercise_id=ctx.exercise.id) as container:
            try:
                stream, _ = container.get_archive(self.path)
                archive = _read_capped(stream)
            except docker.errors.NotFound:
                archive = None
        if archive is None:
            if self.shouldExist:
                return failed(f"{self.path} does not exist in the image")
            return passed(f"{self.path} is not in the image")
        if not self.shouldExist:
            return failed(f"{self.path} is in the image but should not be")
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            member = tar.next()
            assert member is not None
            mode = stat.filemode(_mode(member))
            if self.permissions and mode != self.permissions:
                return failed(f"{self.path} has permissions {mode}, expected {self.permissions}")
            if self.uid is not None and member.uid != self.uid:
                return failed(f"{self.path} is owned by uid {member.uid}, expected {self.uid} (COPY --chown)")
            if self.gid is not None and member.gid != self.gid:
                return failed(f"{self.path} has group gid {member.gid}, expected {self.gid}")
            if self.expectedContents or self.excludedContents:
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is None:
                    return failed(f"{self.path} is not a regular file, so its contents cannot be checked")
                text = clean_text(handle.read(MAX_READ), limit=MAX_READ)
                missing = search_all(self.expectedContents, text)
                if missing:
                    return failed(f"{self.path} does not contain a match for {missing[0]!r}")
                present = search_any(self.excludedContents, text)
                if present:
                    return failed(f"{self.path} contains {present[0]!r}, which it must not")
        return passed(f"{self.path}: {mode} {member.uid}:{member.gid}")


def _mode(member: tarfile.TarInfo) -> int:
    kind = {tarfile.DIRTYPE: stat.S_IFDIR, tarfile.SYMTYPE: stat.S_IFLNK}.get(member.type, stat.S_IFREG)
    return kind | member.mode


def _read_capped(stream: object) -> bytes:
    """Read a tar stream, but never more than the first file's header and MAX_READ of content."""
    buffer = bytearray()
    for chunk in stream:  # type: ignore[attr-defined]
        buffer += chunk
        if len(buffer) > MAX_READ + 1024:
            break
    return bytes(buffer[: MAX_READ + 1024]) + b"\0" * 1024
