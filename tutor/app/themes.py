"""The tutor's two themes: Textual's dark and light, with every text colour at WCAG AA (4.5:1).

Textual's own palettes put orange accents, blue headings and red marks on backgrounds they do
not contrast with; tests/app/test_contrast.py measures every rendered character in both themes.
"""

from __future__ import annotations

from dataclasses import replace

from textual.theme import BUILTIN_THEMES, Theme

DARK, LIGHT = "tutor-dark", "tutor-light"

# The highlighted row is a quiet tint, not a saturated blue: red and green marks stay readable on it.
_DARK = {
    "block-cursor-background": "#2E3B47",
    "block-cursor-blurred-background": "#26313B",
    "text-error": "#EE9DAF",
    "text-success": "#8AD4A1",
    "text-warning": "#FFC473",
    "text-accent": "#FFC473",
    "text-primary": "#7DB9EA",
    "markdown-h1-color": "#7DB9EA",
    "markdown-h2-color": "#7DB9EA",
    "markdown-h3-color": "#7DB9EA",
    "foreground-muted": "#E0E0E0B8",
}
_LIGHT = {
    "block-cursor-background": "#B8C9DA",
    "block-cursor-blurred-background": "#C6D2DE",
    "text-error": "#7A1F35",
    "text-success": "#1A5230",
    "text-warning": "#6B4106",
    "text-accent": "#6B4106",
    "text-primary": "#002D4F",
    "footer-key-foreground": "#004578",
    "markdown-h1-color": "#002D4F",
    "markdown-h2-color": "#002D4F",
    "markdown-h3-color": "#002D4F",
    "foreground-muted": "#1F1F1FC0",
}


def tutor_themes() -> list[Theme]:
    dark, light = BUILTIN_THEMES["textual-dark"], BUILTIN_THEMES["textual-light"]
    return [
        replace(dark, name=DARK, variables={**dark.variables, **_DARK}),
        replace(light, name=LIGHT, variables={**light.variables, **_LIGHT}),
    ]


def is_light(name: str | None) -> bool:
    """A saved choice, also from before these themes had their own names ("textual-light")."""
    return bool(name) and "light" in str(name)
