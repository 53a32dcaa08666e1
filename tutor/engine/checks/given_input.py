"""Run the program on an input made for this run, then judge what it printed and the file it wrote.

An output check alone can be met by an `echo` of the expected text. Here the input holds numbers
drawn when the check runs ({a}, {b}, {c}: whole numbers from 10 to 99), the expected text is
computed from them ({name} or {name:.2f} for a `derived` value), and the check reads the file the
program wrote inside the container after it ends: only a program that did the work can match.
"""

from __future__ import annotations

import ast
import dataclasses
import operator
import re
import secrets
import shlex
from dataclasses import dataclass
from typing import Any

from tutor.engine.checks.base import CheckContext, Verdict, failed, in_words, passed, register, search_all, search_any, shorten
from tutor.engine.checks.command import Command, judge
from tutor.engine.checks.image import _pairs
from tutor.engine.driver import RunOutcome, Sandbox

NUMBERS = ("a", "b", "c")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?::([^{}]*))?\}")
_OPERATORS: dict[type, Any] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
WHY = (
    "This check gives the program an input made for this run, with numbers it cannot know in advance, "
    "and reads what the program produced: an output written in advance (an echo, a copied file) cannot match it."
)


@register
@dataclass(kw_only=True, frozen=True)
class GivenInput(Command):
    """A command check that an `echo` cannot satisfy. `{a}`, `{b}` and `{c}` are whole numbers
    from 10 to 99 drawn for each run, and `derived` values are computed from them; write them
    `{name}` or `{name:.2f}` in `inputs`, `envVars`, `args` and the patterns. The inputs are put in
    the container, the program (the image's ENTRYPOINT and CMD, or `command`/`args`) runs as the
    image's user, and with `path` the file it wrote is read back when it ends. The image needs
    `/bin/sh`; put inputs where its user may write (`/tmp`)."""

    kind = "command.given-input"
    inputs: dict[str, str] = dataclasses.field(default_factory=dict)  # absolute path in the container -> text
    derived: dict[str, str] = dataclasses.field(default_factory=dict)  # name -> arithmetic over a, b, c and earlier names
    path: str = ""  # the file the program must write; read after it ends
    expectedContents: tuple[str, ...] = ()
    excludedContents: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"`{self.shown_command}` works on an input made for this run" + (f" and writes {self.path}" if self.path else "")

    def content_problems(self) -> list[tuple[str, str]]:
        problems = [("inputs", f"{p!r} must be an absolute path") for p in self.inputs if not p.startswith("/")]
        if self.path and not self.path.startswith("/"):
            problems.append(("path", f"{self.path!r} must be an absolute path"))
        if (self.expectedContents or self.excludedContents) and not self.path:
            problems.append(("path", "required with expectedContents or excludedContents"))
        known = {name: 11.0 for name in NUMBERS}
        for name, expression in self.derived.items():
            try:
                known[name] = _evaluate(expression, known)
            except (ValueError, ZeroDivisionError) as exc:
                problems.append((f"derived.{name}", str(exc)))
        texts = [*self.inputs, *self.inputs.values(), *_pairs(self.envVars).values(), *self.argv, self.path]
        texts += [*self.expectedOutput, *self.excludedOutput, *self.expectedContents, *self.excludedContents]
        for text in texts:
            for match in PLACEHOLDER.finditer(str(text)):
                name, spec = match.group(1), match.group(2)
                if name not in known and name not in ("nonce", "engine_kernel"):
                    problems.append(("derived", f"{{{name}}} is used but not defined (defined: {', '.join(known)})"))
                elif spec and name in known:
                    try:
                        format(known[name], spec)
                    except ValueError as exc:
                        problems.append(("derived", f"{{{name}:{spec}}}: {exc}"))
        return problems

    def run(self, ctx: CheckContext) -> Verdict:
        values: dict[str, Any] = {name: secrets.choice(range(10, 100)) for name in NUMBERS}
        for name, expression in self.derived.items():
            values[name] = _evaluate(expression, values)
        values["nonce"] = secrets.token_hex(6)
        marker = f"--- docker-tutor {secrets.token_hex(8)} ---"

        def fill(text: str, escape: bool = False) -> str:
            def one(match: re.Match[str]) -> str:
                name, spec = match.group(1), match.group(2) or ""
                if name not in values:
                    return match.group(0)
                shown = format(values[name], spec) if spec else _plain(values[name])
                return re.escape(shown) if escape else shown

            return PLACEHOLDER.sub(one, text)

        program = self._program(ctx, fill)
        if not program:
            return failed("the image has no CMD or ENTRYPOINT to run")
        inputs = {fill(path): fill(text) for path, text in self.inputs.items()}
        path = fill(self.path)
        environment = {k: fill(str(v)) for k, v in _pairs(self.envVars).items()}
        environment.update({f"DOCKER_TUTOR_INPUT_{i}": text for i, text in enumerate(inputs.values())})
        outcome = ctx.image.run(
            program,
            entrypoint=["/bin/sh", "-c", _script(list(inputs), path, marker), "sh"],
            environment=environment,
            timeout=self.timeout,
            sandbox=Sandbox(memory_mb=self.memory_mb, network=self.network),
        )
        if outcome.exit_code == 127 and "/bin/sh" in outcome.output and not outcome.stdout.count(marker):
            return failed("this check hands the program its input through /bin/sh, and the image has none")
        printed, _, written = outcome.stdout.partition(f"\n{marker}\n")
        if written.startswith("input:"):
            return failed(f"the program's input could not be put at {written[6:].strip()} as the image's user: check its permissions")
        shown_values = ", ".join(f"{n}={values[n]}" for n in NUMBERS)
        run = RunOutcome(outcome.exit_code, printed, outcome.stderr, outcome.seconds, outcome.timed_out, outcome.oom_killed)
        patterns = self.expectedOutput + self.excludedOutput + self.expectedError + self.excludedError
        # The command check's judge fills each placeholder as written ("{mean:.2f}") with this run's value.
        filled = {m.group(0): fill(m.group(0), escape=True) for p in patterns for m in PLACEHOLDER.finditer(p)}
        verdict = judge(run, self, filled)
        if not verdict.passed:
            return failed(f"{verdict.message}\n{WHY} (This run: {shown_values}.)")
        if not path:
            return verdict
        if written.startswith("missing"):
            return failed(f"{self.shown_command} exited {outcome.exit_code} but wrote no {path}. {WHY}")
        expected = tuple(fill(p, escape=True) for p in self.expectedContents)
        missing = search_all(expected, written)
        if missing:
            return failed(
                f"{path} does not show {in_words(self, missing[0])}: the program must compute it from its input "
                f"({shown_values}). It holds:\n{shorten(written) or '(nothing)'}\n{WHY}"
            )
        present = search_any(tuple(fill(p, escape=True) for p in self.excludedContents), written)
        if present:
            return failed(f"{path} shows {in_words(self, present[0])}, which it must not")
        return passed(f"{self.shown_command} worked on an input made for this run ({shown_values}) and wrote {path}")

    def _program(self, ctx: CheckContext, fill: Any) -> list[str]:
        """The program as `docker run IMAGE [ARGS]` would start it, with the check's command or args."""
        if self.command:
            return [fill(a) for a in self.argv]
        config = ctx.config
        entrypoint = list(config.get("Entrypoint") or [])
        return entrypoint + ([fill(a) for a in self.args] if self.args else list(config.get("Cmd") or []))


def _script(inputs: list[str], path: str, marker: str) -> str:
    """Put the inputs in place, run the program ("$@"), then print the marker and the file it wrote."""
    lines = []
    for index, where in enumerate(inputs):
        folder = where.rsplit("/", 1)[0] or "/"
        lines.append(
            f'mkdir -p {shlex.quote(folder)} && printf %s "$DOCKER_TUTOR_INPUT_{index}" > {shlex.quote(where)} '
            f"|| {{ printf '\\n%s\\ninput: %s\\n' {shlex.quote(marker)} {shlex.quote(where)}; exit 0; }}"
        )
        lines.append(f"unset DOCKER_TUTOR_INPUT_{index}")
    lines += ['"$@"', "status=$?"]
    if path:
        quoted = shlex.quote(path)
        lines.append(f"printf '\\n%s\\n' {shlex.quote(marker)}")
        lines.append(f"if [ -f {quoted} ]; then cat {quoted}; else echo missing; fi")
    lines.append('exit "$status"')
    return "\n".join(lines)


def _evaluate(expression: str, names: dict[str, Any]) -> float:
    """+ - * / over numbers and the names given; anything else is refused."""
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"not arithmetic: {expression!r}") from exc

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise ValueError(f"{node.id!r} is not defined (defined: {', '.join(names)})")
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        raise ValueError(f"only + - * / over numbers and {', '.join(names)}: {expression!r}")

    return value(tree)


def _plain(value: Any) -> str:
    """A number as a program prints it by default: 14, 57.5."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
