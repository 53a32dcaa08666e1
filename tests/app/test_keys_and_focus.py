"""Keys do what they say where they are shown, focus is where the learner looks, letters in the
editor stay text, and every screen scrolls from the keyboard."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from textual.containers import VerticalScroll
from textual.widgets import Tree
from textual.widgets.markdown import MarkdownFence
from tui_support import FIXTURE_CONTENT, Waiter

from tutor.app.dialogs.confirm import ConfirmDialog
from tutor.app.screens.help import HelpScreen
from tutor.app.screens.lesson import LessonScreen
from tutor.app.tutor_app import TutorApp
from tutor.app.widgets.dockerfile_editor import DockerfileEditor
from tutor.app.widgets.editor_pane import EditorPane
from tutor.app.widgets.lesson_viewer import LessonContents


def _shown_keys(app: TutorApp) -> set[str]:
    return {b.binding.key for b in app.screen.active_bindings.values() if b.enabled and b.binding.show}


async def test_watch_never_takes_the_keyboard_from_the_editor(
    make_app: Callable[..., TutorApp], wait_for: Waiter
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_exercise(app.curriculum.exercise("01-hello-box"))
        await pilot.pause()
        screen = app.screen
        await pilot.press("w")
        await pilot.pause(0.5)
        await pilot.press("e", "end", "enter", *"# me", "ctrl+s")
        await wait_for(pilot, lambda: app.progress.load()["exercises"].get("01-hello-box", {}).get("attempts", 0) == 1)
        await pilot.pause(0.5)
        editor = screen.query_one(DockerfileEditor)
        assert editor.has_focus
        # r would reset, h show a hint, w stop watching, n/f move on: here they are text.
        await pilot.press(*"LABEL maintainer=me rhwnf")
        assert "LABEL maintainer=me rhwnf" in editor.text
        assert app.screen is screen and not isinstance(app.screen, ConfirmDialog) and screen.watching
        assert {"r", "h", "w", "n", "f", "e"}.isdisjoint(_shown_keys(app))  # the footer offers no letter


async def test_focus_follows_the_eyes_in_an_exercise(make_app: Callable[..., TutorApp], wait_for: Waiter) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_exercise(app.curriculum.exercise("01-hello-box"))
        await pilot.pause()
        screen = app.screen
        # Entering: the task has the keys, so PageDown scrolls it.
        assert app.focused is not None and app.focused in screen.query_one("#task").query(VerticalScroll)
        # A check started by watch while the learner reads: the results get the keys.
        await pilot.press("w")
        await pilot.pause(0.5)
        (screen.folder / "Dockerfile").write_text("FROM busybox\nCMD echo hi\n")
        await wait_for(pilot, lambda: app.progress.status("01-hello-box") == "failed")
        assert app.focused is screen.query_one("#checks")
        assert screen.query_one("#tabs").active == "results"


async def test_help_scrolls_from_the_keyboard(make_app: Callable[..., TutorApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        scroll = app.screen.query_one("#help", VerticalScroll)
        assert scroll.has_focus
        await pilot.press("pagedown", "pagedown")
        await pilot.pause()
        assert scroll.scroll_y > 0


async def test_left_and_right_scroll_wide_code_and_never_change_the_lesson(
    make_app: Callable[..., TutorApp], content_04: Path
) -> None:
    app = make_app([content_04])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await pilot.pause(0.5)
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        wide = [fence for fence in screen.query(MarkdownFence) if fence.max_scroll_x > 0]
        assert wide, "lesson 04 has code wider than 80 columns"
        assert "right" in _shown_keys(app)
        await pilot.press("right", "right", "left", "right")
        await pilot.pause()
        assert app.screen is screen
        assert all(fence.scroll_x > 0 for fence in wide)
        assert list(app.progress.load()["lessons"]) == [screen.lesson.id]


async def test_contents_show_headings_without_roman_numerals(make_app: Callable[..., TutorApp], content_04: Path) -> None:
    app = make_app([content_04])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await pilot.pause(0.5)
        tree = app.screen.query_one(LessonContents).query_one(Tree)
        labels = []
        stack = list(tree.root.children)
        while stack:
            node = stack.pop()
            labels.append(str(node.label))
            stack.extend(node.children)
        assert labels and not any(numeral in label for label in labels for numeral in "ⅠⅡⅢⅣⅤⅥ")


async def test_next_file_is_f6_while_editing_and_f_stays_a_letter(
    make_app: Callable[..., TutorApp], tmp_path: Path
) -> None:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, root)
    toml = root / "exercises" / "01-hello-box" / "exercise.toml"
    toml.write_text(toml.read_text().replace('task = """', 'files = ["Dockerfile", "app.py"]\ntask = """', 1))
    for sub in ("starter", "solution"):
        (root / "exercises" / "01-hello-box" / sub / "app.py").write_text("print('hi')\n")
    app = make_app([root])
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_exercise(app.curriculum.exercise("01-hello-box"))
        await pilot.pause()
        await pilot.press("e", "f")
        pane = app.screen.query_one(EditorPane)
        assert pane.index == 0 and pane.editor.text.startswith("f")
        header = str(app.screen.query_one("#editor-file").render())
        assert "f6: next file" in header and "f:" not in header
        assert "f6" in _shown_keys(app)
        await pilot.press("f6")
        await pilot.pause()
        assert pane.index == 1 and pane.editor.has_focus
        assert (pane.folder / "Dockerfile").read_text().startswith("f")  # saved on the way
