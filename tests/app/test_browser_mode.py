"""Served in a browser: no shell and no server path in what the learner reads, and a theme key
that the browser does not keep for itself."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Markdown, Static

from tutor.app.tutor_app import TutorApp


async def test_the_exercise_speaks_of_the_browser_not_of_a_shell_or_a_server_path(
    make_app: Callable[..., TutorApp], monkeypatch, workspace
) -> None:
    monkeypatch.setattr(TutorApp, "is_web", property(lambda _app: True))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_exercise(app.curriculum.exercise("01-hello-box"))
        await pilot.pause()
        status = str(app.screen.query_one("#exercise-status", Static).render())
        assert str(workspace) not in status and "~/" not in status and "browser tab" in status
        assert str(app.screen.query_one("#editor-file", Static).render()).strip() == "Dockerfile"
        task = app.screen.query_one("#task-text", Markdown).source
        assert "In the browser" in task and "no shell" in task


async def test_f2_toggles_the_theme_everywhere(make_app: Callable[..., TutorApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        before = app.theme
        await pilot.press("f2")
        assert app.theme != before
        app.open_exercise(app.curriculum.exercise("01-hello-box"))
        await pilot.pause()
        await pilot.press("e", "f2")  # even while typing in the editor
        assert app.theme == before
