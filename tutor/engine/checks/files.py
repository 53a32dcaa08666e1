"""Files in the image: exists or absent, permissions, owner, contents (read without starting it)."""

from __future__ import annotations

import stat
from dataclasses import dataclass

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
        entry = ctx.image.read_file(self.path, MAX_READ)
        if entry is None:
            if self.shouldExist:
                return failed(f"{self.path} does not exist in the image")
            return passed(f"{self.path} is not in the image")
        if not self.shouldExist:
            return failed(f"{self.path} is in the image but should not be")
        mode = stat.filemode(entry.mode)
        if self.permissions and mode != self.permissions:
            return failed(f"{self.path} has permissions {mode}, expected {self.permissions}")
        if self.uid is not None and entry.uid != self.uid:
            return failed(f"{self.path} is owned by uid {entry.uid}, expected {self.uid} (COPY --chown)")
        if self.gid is not None and entry.gid != self.gid:
            return failed(f"{self.path} has group gid {entry.gid}, expected {self.gid}")
        if self.expectedContents or self.excludedContents:
            if entry.contents is None:
                return failed(f"{self.path} is not a regular file, so its contents cannot be checked")
            text = clean_text(entry.contents, limit=MAX_READ)
            missing = search_all(self.expectedContents, text)
            if missing:
                return failed(f"{self.path} does not contain a match for {missing[0]!r}")
            present = search_any(self.excludedContents, text)
            if present:
                return failed(f"{self.path} contains {present[0]!r}, which it must not")
        return passed(f"{self.path}: {mode} {entry.uid}:{entry.gid}")
