"""The in-app editor. Textual's tree-sitter set has no Dockerfile grammar, so Pygments colours it."""

from __future__ import annotations

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.token import Token
from pygments.util import ClassNotFound
from textual.widgets import TextArea

# Pygments token types onto the names TextArea themes already style.
_THEME_NAMES = (
    (Token.Keyword, "keyword"),
    (Token.Name.Builtin, "keyword"),
    (Token.Literal.String, "string"),
    (Token.Literal.Number, "number"),
    (Token.Comment, "comment"),
    (Token.Name.Variable, "variable"),
    (Token.Operator, "operator"),
    (Token.Punctuation, "punctuation.bracket"),
)


def _theme_name(token: object) -> str | None:
    return next((name for kind, name in _THEME_NAMES if token in kind), None)


def _lexer_for(filename: str) -> Lexer | None:
    try:
        return get_lexer_for_filename(filename, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


class DockerfileEditor(TextArea):
    """A TextArea that highlights with the Pygments lexer picked from the file name."""

    def __init__(self, text: str, *, filename: str, id: str | None = None) -> None:
        # Set before TextArea.__init__, which builds the first highlight map.
        self._lexer = _lexer_for(filename)
        super().__init__(text, soft_wrap=False, show_line_numbers=True, tab_behavior="focus", id=id)

    def open(self, text: str, filename: str) -> None:
        """Show another file, coloured for its own kind."""
        self._lexer = _lexer_for(filename)
        self.load_text(text)

    def _build_highlight_map(self) -> None:
        super()._build_highlight_map()
        if self._lexer is None or self._highlight_query:
            return  # a tree-sitter grammar, when there is one, knows better
        highlights = self._highlights
        row, column = 0, 0  # column in UTF-8 bytes, as TextArea's highlights expect
        for token, value in self._lexer.get_tokens(self.text):
            name = _theme_name(token)
            for number, part in enumerate(value.split("\n")):
                if number:
                    row, column = row + 1, 0
                width = len(part.encode("utf-8"))
                if name and width:
                    highlights[row].append((column, column + width, name))
                column += width
