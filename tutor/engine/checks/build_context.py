"""Checks on how the image is built: what the context sends, and which steps the cache serves."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tutor.engine.checks.base import Check, CheckContext, Verdict, failed, passed, register
from tutor.engine.context import MAX_CONTEXT_BYTES, ignores, summarize
from tutor.engine.learner_files import LearnerFileRefused, read_learner_file

MB = 1_000_000


@register
@dataclass(kw_only=True, frozen=True)
class ContextSize(Check):
    """The build context, after .dockerignore, is small and leaves named paths out."""

    kind = "context"
    needs_image = False
    needs_engine = False
    default_hint = (
        "List what the image does not need in .dockerignore (data/, *.pt, .git, .venv, .env): "
        "the whole context is sent to the engine before the first step runs."
    )
    max_mb: float | None = None
    # A path the folder lacks is judged by .dockerignore's patterns, as if it were there.
    excluded: tuple[str, ...] = ()  # paths that must not be sent, whether or not the folder has them now

    def describe(self) -> str:
        return "build context" + (f" under {self.max_mb:g} MB" if self.max_mb else "") + (
            f" without {', '.join(self.excluded)}" if self.excluded else ""
        )

    def run(self, ctx: CheckContext) -> Verdict:
        summary = summarize(ctx.directory)
        if summary.refused:
            return failed(summary.refused)
        for path in self.excluded:
            path = path.rstrip("/")
            if any(p == path or p.startswith(path + "/") for p in summary.included):
                return failed(f"{path} is sent to the engine with the build context: add it to .dockerignore")
            if not (ctx.directory / path).exists() and not ignores(ctx.directory, path):
                return failed(
                    f"your .dockerignore does not leave out {path}: there is none in this folder now, but in a real "
                    f"project it would be sent to the engine"
                    + ("" if (ctx.directory / ".dockerignore").is_file() else " (the folder has no .dockerignore)")
                )
        size = summary.bytes / MB
        if self.max_mb is not None and size > self.max_mb:
            return failed(f"the build context is {size:.1f} MB in {summary.files} files; the budget is {self.max_mb:g} MB")
        return passed(f"context: {size:.2f} MB in {summary.files} files")


@register
@dataclass(kw_only=True, frozen=True)
class CacheBehaviour(Check):
    """After a change to one file, the steps before it come from cache and the ones after rebuild."""

    kind = "cache"
    default_hint = (
        "Docker reuses a step only if it and every step before it are unchanged. Copy and install "
        "requirements first, then copy the source: an edit to the code then rebuilds only the last layers."
    )
    change: str  # file (relative to the context) that is edited before the rebuild
    cached: tuple[str, ...] = ()  # regexes: steps that must come from cache
    rebuilt: tuple[str, ...] = ()  # regexes: steps that must run again

    def describe(self) -> str:
        return f"after editing {self.change}, dependencies come from cache"

    def run(self, ctx: CheckContext) -> Verdict:
        assert ctx.rebuild is not None
        try:
            content = read_learner_file(ctx.directory, self.change, MAX_CONTEXT_BYTES)
        except LearnerFileRefused as exc:
            return failed(f"{self.change} is not in your folder, so the cache cannot be tested" if exc.missing else str(exc))
        with tempfile.TemporaryDirectory(prefix="docker-tutor-cache-") as temp:
            copy = Path(temp) / "context"
            _link_tree(ctx.directory, copy)
            edited = copy / self.change
            edited.unlink()
            # A new edit every time, so no earlier check's layers can answer for this one.
            stamp = f"\n# edited by docker-tutor to test the build cache ({time.time_ns()})\n"
            edited.write_bytes(content + stamp.encode())
            outcome = ctx.rebuild(copy)
        if not outcome.ok:
            return failed(f"the rebuild after editing {self.change} failed: {outcome.error}")
        expectations = [(pattern, True) for pattern in self.cached] + [(pattern, False) for pattern in self.rebuilt]
        for pattern, want_cached in expectations:
            steps = [(n, text) for n, text in outcome.steps.items() if re.search(pattern, text)]
            if not steps:
                return failed(f"no build step matches {pattern!r}")
            for number, text in steps:
                if (number in outcome.cached) != want_cached:
                    what = (
                        "ran again instead of coming from cache"
                        if want_cached
                        else "came from cache: the edit never reached the image"
                    )
                    return failed(f"after editing {self.change}, step {number} ({text}) {what}")
        rebuilt = outcome.total_steps - len(outcome.cached)
        # Said as the success it is: the steps before the edit reused, only those after it ran again.
        return passed(
            f"after editing {self.change}, the {len(outcome.cached)} steps before it were reused from the cache "
            f"and only the {rebuilt} after it ran again"
        )


def _link_tree(source: Path, target: Path) -> None:
    """Copy a context cheaply: hard links where the file system allows, copies elsewhere."""

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, symlinks=True, copy_function=link_or_copy)
