"""The in-app editor. Textual's tree-sitter set has no Dockerfile grammar, so Pygments colours it.

Textual's "css" code theme keeps dark-background colours in a light app theme (1.9:1), so the
editor follows the app theme with a code theme of its own for each, every colour at 4.5:1.
"""

from __future__ import annotations

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.token import Token
from pygments.util import ClassNotFound
from rich.style import Style
from textual.widgets import TextArea
from textual.widgets.text_area import TextAreaTheme

from tutor.app.themes import is_light

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


_CODE_THEMES = {
    False: TextAreaTheme(
        name="tutor-dark-code",
        syntax_styles={
            "keyword": Style(color="#C586C0"),
            "string": Style(color="#CE9178"),
            "number": Style(color="#B5CEA8"),
            "comment": Style(color="#8CBF7A"),
            "variable": Style(color="#9CDCFE"),
            "operator": Style(color="#D4D4D4"),
            "punctuation.bracket": Style(color="#D4D4D4"),
        },
    ),
    True: TextAreaTheme(
        name="tutor-light-code",
        syntax_styles={
            "keyword": Style(color="#8B1A5C"),
            "string": Style(color="#7A3E00"),
            "number": Style(color="#005A8C"),
            "comment": Style(color="#2F5E24"),
            "variable": Style(color="#5B2A8C"),
            "operator": Style(color="#1F1F1F"),
            "punctuation.bracket": Style(color="#1F1F1F"),
        },
    ),
}


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

    def on_mount(self) -> None:
        for theme in _CODE_THEMES.values():
            self.register_theme(theme)
        self.watch(self.app, "theme", self._follow_app_theme)

    def _follow_app_theme(self, app_theme: str) -> None:
        self.theme = _CODE_THEMES[is_light(app_theme)].name

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
