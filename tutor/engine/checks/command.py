"""Run a command in a sandboxed container and judge its exit code and output."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from tutor.engine.checks.base import Check, CheckContext, Verdict, failed, in_words, passed, register, search_all, search_any, shorten
from tutor.engine.checks.image import _pairs
from tutor.engine.driver import RunOutcome, Sandbox

NONCE = "{nonce}"


@register
@dataclass(kw_only=True, frozen=True)
class Command(Check):
    """container-structure-test's commandTests, plus: no command runs the image's own CMD."""

    kind = "command"
    command: str | tuple[str, ...] = ()  # empty: run the image's ENTRYPOINT (with args as its CMD, if given)
    args: tuple[str, ...] = ()
    exitCode: int = 0
    expectedOutput: tuple[str, ...] = ()
    excludedOutput: tuple[str, ...] = ()
    expectedError: tuple[str, ...] = ()
    excludedError: tuple[str, ...] = ()
    envVars: Any = None
    timeout: float = 20.0
    network: bool = False
    memory_mb: int = 256

    def describe(self) -> str:
        return f"`{self.shown_command}` exits {self.exitCode}"

    @property
    def argv(self) -> list[str]:
        head = [self.command] if isinstance(self.command, str) else list(self.command)
        return head + list(self.args)

    @property
    def shown_command(self) -> str:
        return " ".join(self.argv) or "the image's CMD"

    def run(self, ctx: CheckContext) -> Verdict:
        # As container-structure-test does, a command replaces the entrypoint; args alone replace
        # only CMD, as `docker run IMAGE ARGS` does, so ENTRYPOINT + CMD exercises can be judged.
        # {nonce}: a value made for this run alone, so an output that names it cannot have been
        # written into the image (an `echo` of the expected text) before the check chose it.
        nonce = {NONCE: secrets.token_hex(6)} if NONCE in repr(self) else {}
        argv = [arg.replace(NONCE, nonce[NONCE]) for arg in self.argv] if nonce else self.argv
        environment = {k: str(v).replace(NONCE, nonce.get(NONCE, NONCE)) for k, v in _pairs(self.envVars).items()}
        replaces_entrypoint = bool(self.command)
        outcome = ctx.image.run(
            (argv[1:] if replaces_entrypoint else argv) or None,
            entrypoint=argv[:1] if replaces_entrypoint else None,
            environment=environment or None,
            timeout=self.timeout,
            sandbox=Sandbox(memory_mb=self.memory_mb, network=self.network),
        )
        return judge(outcome, self, {**_placeholders(ctx, self), **{k: re.escape(v) for k, v in nonce.items()}})


def _placeholders(ctx: CheckContext, check: Command) -> dict[str, str]:
    """Facts of the engine a pattern may name, e.g. {engine_kernel}: a container reports the engine's kernel.
    Asked of the engine only when a pattern names them."""
    patterns = check.expectedOutput + check.expectedError + check.excludedOutput + check.excludedError
    if not any("{engine_kernel}" in pattern for pattern in patterns):
        return {}
    return {"{engine_kernel}": re.escape(ctx.image.engine_kernel())}


def _fill(patterns: tuple[str, ...], values: dict[str, str]) -> tuple[str, ...]:
    filled = []
    for pattern in patterns:
        for key, value in values.items():
            pattern = pattern.replace(key, value)
        filled.append(pattern)
    return tuple(filled)


def judge(outcome: RunOutcome, check: Command, values: dict[str, str]) -> Verdict:
    shown = check.shown_command
    if outcome.timed_out:
        return failed(
            f"{shown} was still running after {check.timeout:g} s and was stopped. "
            f"Output so far:\n{shorten(outcome.output)}"
        )
    if outcome.oom_killed:
        return failed(f"{shown} ran out of memory (limit {check.memory_mb} MB) and was killed")
    if outcome.exit_code != check.exitCode:
        return failed(
            f"{shown} exited with code {outcome.exit_code}, expected {check.exitCode}."
            + (f" It printed:\n{shorten(outcome.output)}" if outcome.output.strip() else " It printed nothing.")
        )
    # container-structure-test matches expectedOutput against stdout and expectedError against stderr;
    # learners' programs mix the two freely, so expectedOutput here accepts either stream.
    # Patterns are reported as written (the grader puts them in words), not with facts filled in.
    for patterns, text, stream in (
        (check.expectedOutput, outcome.output, "output"),
        (check.expectedError, outcome.stderr, "error output"),
    ):
        missing = [p for p in patterns if search_all(_fill((p,), values), text)]
        if missing:
            # A pattern naming an engine fact is shown with the fact: "kernel: 6.8.0-45-generic".
            wanted = in_words(check, _fill(missing[:1], values)[0]) if values else repr(missing[0])
            return failed(f"the {stream} of {shown} does not show {wanted}. It printed:\n{shorten(text) or '(nothing)'}")
    for patterns, text, stream in (
        (check.excludedOutput, outcome.output, "output"),
        (check.excludedError, outcome.stderr, "error output"),
    ):
        present = [p for p in patterns if search_any(_fill((p,), values), text)]
        if present:
            return failed(f"the {stream} of {shown} shows {present[0]!r}, which it must not")
    return passed(f"{shown} exited {outcome.exit_code} in {outcome.seconds:.1f} s")
