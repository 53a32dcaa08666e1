"""WCAG AA for text in both themes, measured on what is drawn: every character's rendered
foreground against its rendered background, on every screen a learner sees."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from tui_support import Waiter

from tutor.app.themes import DARK, LIGHT
from tutor.app.tutor_app import TutorApp

AA = 4.5
# Lines, bars, scroll bars and the like are drawing, not text.
_DRAWING = set("·…▏▕▎▊▉▔▁━╸╺╴╶─│┌┐└┘├┤┬┴┼▀▄█▌▐░▒▓■▪▫▣▶▼▲▸▾ ") | {chr(c) for c in range(0x2500, 0x25A0)}


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(v) for v in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one: tuple[float, float, float], other: tuple[float, float, float]) -> float:
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula_matches_wcag() -> None:
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)


def too_faint(app: TutorApp, where: str) -> list[str]:
    """Every run of text on screen whose colours contrast less than AA."""
    found = []
    for row, strip in enumerate(app.screen._compositor.render_strips()):
        for segment in strip:
            text, style = segment.text, segment.style
            if not text.strip() or set(text) <= _DRAWING or style is None:
                continue
            if style.color is None or style.bgcolor is None:
                continue  # the terminal's own default colours: its choice, not ours
            fg, bg = style.color.get_truecolor(), style.bgcolor.get_truecolor()
            if style.reverse:
                fg, bg = bg, fg
            if style.dim:  # terminals draw dim text about halfway to the background
                fg = tuple((a + b) / 2 for a, b in zip(fg, bg, strict=False))  # type: ignore[assignment]
            ratio = contrast(tuple(fg), tuple(bg))  # type: ignore[arg-type]
            if ratio < AA:
                found.append(f"{where} row {row}: {text.strip()[:30]!r} {ratio:.2f}:1")
    return found


async def _settle(pilot: Pilot[None]) -> None:
    await pilot.pause(0.3)


@pytest.mark.parametrize("theme", [DARK, LIGHT])
async def test_every_text_reaches_aa_in_both_themes(
    make_app: Callable[..., TutorApp], wait_for: Waiter, theme: str
) -> None:
    app = make_app()
    faint: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        app.theme = theme
        await _settle(pilot)
        faint += too_faint(app, "home")
        exercise = app.curriculum.exercise("01-hello-box")
        app.open_exercise(exercise)
        await _settle(pilot)
        faint += too_faint(app, "exercise")
        await pilot.press("ctrl+r")  # the starter fails one check: a red mark, a hint, a green mark
        await wait_for(pilot, lambda: app.progress.status("01-hello-box") == "failed")
        await _settle(pilot)
        faint += too_faint(app, "results")
        await pilot.press("h")
        await _settle(pilot)
        faint += too_faint(app, "hints")
        app.go_home()
        await pilot.press("down", "down")  # the failed exercise's row, highlighted
        await _settle(pilot)
        faint += too_faint(app, "home, failed row highlighted")
        await pilot.press("up", "up", "enter")
        await _settle(pilot)
        faint += too_faint(app, "lesson")
        await pilot.press("z", "2")
        await _settle(pilot)
        faint += too_faint(app, "quiz")
        await pilot.press("question_mark")
        await _settle(pilot)
        faint += too_faint(app, "help")
    assert not faint, "\n".join(faint)


@pytest.mark.parametrize("theme", [DARK, LIGHT])
async def test_the_editor_reaches_aa_in_both_themes_and_follows_a_switch(
    make_app: Callable[..., TutorApp], theme: str
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:  # wide: the editor sits beside the task
        app.theme = theme
        app.open_exercise(app.curriculum.exercise("01-hello-box"))
        await _settle(pilot)
        faint = too_faint(app, f"editor in {theme}")
        await pilot.press("f2")  # the code colours change with the theme
        await _settle(pilot)
        faint += too_faint(app, f"editor after f2 from {theme}")
    assert not faint, "\n".join(faint)
