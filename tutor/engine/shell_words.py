"""Docker's variable substitution in Dockerfile instructions ($X, ${X}, ${X:-word}, quotes), so
the tutor judges what the builder will see rather than the text as written."""

from __future__ import annotations

from collections.abc import Mapping


class Unresolvable(ValueError):
    """A substitution the tutor cannot follow; the caller refuses rather than guesses."""


def expand(text: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """The text with every variable replaced, quotes kept (as for FROM and --from values)."""
    return "".join(_Lexer(text, env, escape, split=False).words()) if text else ""


def words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """The text split into words as ADD and COPY split it: quotes removed, variables replaced."""
    return _Lexer(text, env, escape, split=True).words()


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str, *, split: bool) -> None:
        self.text, self.env, self.escape, self.split = text, env, escape, split
        self.pos = 0

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _take(self) -> str:
        char = self._peek()
        self.pos += 1
        return char

    def words(self) -> list[str]:
        found: list[str] = []
        word: list[str] = []
        started = False
        while self.pos < len(self.text):
            char = self._take()
            if self.split and char in " \t\r\n":
                if started:
                    found.append("".join(word))
                word, started = [], False
                continue
            started = True
            if char == self.escape:
                following = self._take()
                word.append(following if self.split else char + following)
            elif char == "'" and self.split:
                word.append(self._until("'"))
            elif char == '"' and self.split:
                word.append(self._double_quoted())
            elif char == "$":
                word.append(self._variable())
            else:
                word.append(char)
        if started:
            found.append("".join(word))
        return found

    def _until(self, end: str) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] != end:
            self.pos += 1
        if self.pos >= len(self.text):
            raise Unresolvable("an unmatched quote")
        self.pos += 1
        return self.text[start : self.pos - 1]

    def _double_quoted(self) -> str:
        out: list[str] = []
        while True:
            char = self._take()
            if char == "":
                raise Unresolvable("an unmatched quote")
            if char == '"':
                return "".join(out)
            if char == self.escape and self._peek() in ('"', "$", self.escape):
                out.append(self._take())
            elif char == "$":
                out.append(self._variable())
            else:
                out.append(char)

    def _name(self) -> str:
        start = self.pos
        while self._peek() and (self._peek().isalnum() or self._peek() == "_"):
            self.pos += 1
        return self.text[start : self.pos]

    def _variable(self) -> str:
        if self._peek() != "{":
            name = self._name()
            return self.env.get(name, "") if name else "$"
        self._take()
        name = self._name()
        if not name:
            raise Unresolvable("a ${...} without a variable name")
        if self._peek() == "}":
            self._take()
            return self.env.get(name, "")
        operator = self._take()
        if operator == ":":
            operator += self._take()
        if operator not in (":-", ":+", "-", "+"):
            raise Unresolvable(f"the substitution ${{{name}{operator}...}}")
        word = self._braced_word()
        value = self.env.get(name)
        present = value is not None and (value != "" or ":" not in operator)
        if operator.endswith("-"):
            return value if present and value is not None else word
        return word if present else ""

    def _braced_word(self) -> str:
        out: list[str] = []
        while True:
            char = self._take()
            if char == "":
                raise Unresolvable("an unclosed ${")
            if char == "}":
                return "".join(out)
            if char == "$":
                out.append(self._variable())
            elif char == self.escape:
                out.append(self._take())
            else:
                out.append(char)
