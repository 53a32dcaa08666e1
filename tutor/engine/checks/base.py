"""What every check kind shares: its declared fields, the context it judges, the verdict it returns."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import threading
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from tutor.content.model import CheckSpec, Exercise
from tutor.engine.dockerfile import Dockerfile
from tutor.errors import ContentError, Problem, TutorError

if typing.TYPE_CHECKING:
    from tutor.engine.builders.outcome import BuildOutcome
    from tutor.engine.driver import Driver


@dataclass(frozen=True, slots=True)
class Verdict:
    passed: bool
    message: str


def passed(message: str) -> Verdict:
    return Verdict(True, message)


def failed(message: str) -> Verdict:
    return Verdict(False, message)


T = TypeVar("T")


class Shared:
    """What the checks of one grading make once and share (a running Compose project).

    The first check that asks opens it; the others wait for it, or get the same error. The grader
    closes everything when the grading ends, also after an error or Ctrl-C."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[Any, TutorError | None]] = {}
        self._stack = contextlib.ExitStack()

    def get(self, key: str, open_: Callable[[contextlib.ExitStack], T]) -> T:
        with self._lock:
            if key not in self._items:
                try:
                    self._items[key] = (open_(self._stack), None)
                except TutorError as exc:
                    self._items[key] = (None, exc)
            value, error = self._items[key]
        if error is not None:
            raise TutorError(error.message, hint=error.hint)
        return value

    def close(self) -> None:
        self._stack.close()


@dataclass(slots=True)
class CheckContext:
    """Everything a check may look at. The driver and rebuild are set once the image is built."""

    exercise: Exercise
    directory: Path
    dockerfile: Dockerfile | None
    driver: Driver | None = None  # the learner's built image, as checks may see it
    cancel: threading.Event = dataclasses.field(default_factory=threading.Event)
    # Rebuilds a (changed) copy of the context; the cache check uses it.
    rebuild: Callable[[Path], BuildOutcome] | None = None
    shared: Shared = dataclasses.field(default_factory=Shared)
    keep_images: bool = True  # False: images a check builds itself (Compose's) go when grading ends

    @property
    def image(self) -> Driver:
        """The built image; only checks with needs_image run after the build, so it is there."""
        if self.driver is None:
            raise RuntimeError("a check that needs the image ran before the image was built")
        return self.driver

    @property
    def config(self) -> dict[str, Any]:
        return self.image.facts().config


@dataclass(kw_only=True, frozen=True)
class Check:
    """A declared check. Subclasses add their own fields, named as instructors write them."""

    kind: ClassVar[str]
    needs_image: ClassVar[bool] = True  # False: judged from the files alone, before any build
    needs_engine: ClassVar[bool] = True
    default_hint: ClassVar[str] = ""

    id: str
    title: str = ""
    hint: str = ""
    lesson: str = ""  # the lesson that teaches what it checks: feedback links to it
    expect: str = ""  # what its patterns look for, in words: a learner never reads a regular expression

    def describe(self) -> str:
        """A default title, used when the exercise gives none."""
        return self.kind

    def run(self, ctx: CheckContext) -> Verdict:
        raise NotImplementedError

    def content_problems(self) -> list[tuple[str, str]]:
        """(field, problem) for what the field types alone cannot say; found when the pack loads."""
        return []

    @property
    def display_title(self) -> str:
        return self.title or self.describe()

    @property
    def display_hint(self) -> str:
        return self.hint or self.default_hint


KINDS: dict[str, type[Check]] = {}


def register(cls: type[Check]) -> type[Check]:
    KINDS[cls.kind] = cls
    return cls


def compile_check(spec: CheckSpec) -> Check:
    """Turn a declared check into a Check, rejecting unknown kinds, fields and wrong types."""
    cls = KINDS.get(spec.kind)
    if cls is None:
        _refuse([Problem(f"{spec.where}.kind", f"unknown check kind {spec.kind!r} (known: {', '.join(sorted(KINDS))})")])
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "id"}
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for name, value in spec.params.items():
        if name not in fields:
            problems.append(Problem(f"{spec.where}.{name}", f"unknown field for kind {spec.kind!r} (fields: {', '.join(sorted(fields))})"))
            continue
        expected = hints[name]
        if not _conforms(value, expected):
            problems.append(Problem(f"{spec.where}.{name}", f"expected {_type_name(expected)}, got {value!r}"))
            continue
        values[name] = tuple(value) if isinstance(value, list) else value
    missing = [
        name
        for name, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and name not in values
    ]
    problems += [Problem(f"{spec.where}.{name}", "required field is missing") for name in missing]
    if problems:
        _refuse(problems)
    check = cls(id=spec.id, **values)
    problems = [Problem(f"{spec.where}.{name}", message) for name, message in _bad_patterns(check) + check.content_problems()]
    if problems:
        _refuse(problems)
    return check


def _refuse(problems: list[Problem]) -> typing.NoReturn:
    raise ContentError("\n".join(map(str, problems)), problems=problems)


def _conforms(value: Any, expected: Any) -> bool:
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, arg) for arg in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is tuple:
        (item,) = {a for a in typing.get_args(expected) if a is not Ellipsis}
        return isinstance(value, (list, tuple)) and all(_conforms(v, item) for v in value)
    if origin is dict:
        key, item = typing.get_args(expected)
        return isinstance(value, dict) and all(_conforms(k, key) and _conforms(v, item) for k, v in value.items())
    if expected is Any:
        return True
    return isinstance(value, expected)


def _type_name(expected: Any) -> str:
    return expected.__name__ if isinstance(expected, type) else str(expected).replace("typing.", "")


# Fields that hold regular expressions: a typo in one must fail at load time, not at a learner's desk.
REGEX_FIELDS = {"matches", "pattern", "first", "then", "expectedOutput", "excludedOutput", "expectedError",
                "excludedError", "expectedContents", "excludedContents", "expected_body", "excluded_body", "cached", "rebuilt",
                "absent"}


def _bad_patterns(check: Check) -> list[tuple[str, str]]:
    """(field, problem) for each field holding an invalid regular expression."""
    problems = []
    for name in REGEX_FIELDS:
        value = getattr(check, name, None)
        patterns = (value,) if isinstance(value, str) else value if isinstance(value, tuple) else ()
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append((name, f"not a valid regular expression {pattern!r}: {exc}"))
    return problems


_ESCAPED = re.compile(r"\\([^A-Za-z0-9])")  # \. \( \$ ...: the character itself
_SPACES = re.compile(r"\\s[+*]?|\\b")
_SPECIAL = re.compile(r"[\[\]().*+?{}|^$\\]")


def in_words(check: Check, pattern: str) -> str:
    """A pattern as a learner may read it: its literal text when it is plain text with escapes,
    otherwise what the check says it expects."""
    text = _SPACES.sub(" ", pattern.removeprefix("^").removesuffix("$"))
    escaped: list[str] = []
    text = _ESCAPED.sub(lambda m: escaped.append(m.group(1)) or "\x00", text)
    if _SPECIAL.search(text) or "{engine_kernel}" in text:
        return check.expect or f"what “{check.display_title}” looks for"
    for char in escaped:
        text = text.replace("\x00", char, 1)
    return "“" + text.strip() + "”"


def without_patterns(check: Check, message: str) -> str:
    """The message with every regular expression of the check put in words."""
    for name in REGEX_FIELDS:
        value = getattr(check, name, None)
        patterns = (value,) if isinstance(value, str) else value if isinstance(value, tuple) else ()
        for pattern in sorted((p for p in patterns if p), key=len, reverse=True):
            words = in_words(check, pattern)
            # Only quoted or slashed: the same text bare may be in what a program printed.
            message = message.replace(repr(pattern), words).replace(f"/{pattern}/", words)
    return message


def search_all(patterns: tuple[str, ...], text: str) -> list[str]:
    """The patterns that do not match anywhere in text (multi-line)."""
    return [p for p in patterns if not re.search(p, text, re.MULTILINE)]


def search_any(patterns: tuple[str, ...], text: str) -> list[str]:
    """The patterns that do match somewhere in text."""
    return [p for p in patterns if re.search(p, text, re.MULTILINE)]


def shorten(text: str, limit: int = 400) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]
