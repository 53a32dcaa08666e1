"""One exercise: task, editor, live check, image layers, hints, solution, reset and watch mode.

The screen only calls `grade` in a thread worker and shows the events and the Report it returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Footer, Header, Markdown, Static, TabbedContent, TabPane

from tutor.app.dialogs.confirm import ConfirmDialog
from tutor.app.display import friendly_path
from tutor.app.screens.base import TutorScreen
from tutor.app.widgets.check_panel import CheckPanel
from tutor.app.widgets.dockerfile_editor import DockerfileEditor
from tutor.app.widgets.editor_pane import EditorPane
from tutor.app.widgets.layer_chart import LayerChart
from tutor.app.widgets.solution_diff import SolutionDiff
from tutor.content.model import Exercise
from tutor.errors import EngineUnavailable


class ExerciseScreen(TutorScreen):
    BINDINGS = [
        Binding("escape", "leave_editor", "Stop editing"),
        Binding("escape", "cancel", "Cancel check"),
        Binding("escape", "home", "Home"),
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("ctrl+r,f5", "check", "Check", priority=True),
        Binding("c", "check", "Check", show=False),
        Binding("h", "hint", "Hint"),
        Binding("s", "solution", "Solution"),
        Binding("w", "toggle_watch", "Watch"),
        Binding("r", "reset", "Reset"),
        Binding("f", "next_file", "Next file"),
        Binding("t", "tab('task')", "Task", show=False),
        Binding("e", "tab('editor')", "Editor", show=False),
        Binding("l", "tab('results')", "Results", show=False),
        Binding("i", "tab('image')", "Image", show=False),
    ]

    watching: reactive[bool] = reactive(False, init=False)

    def __init__(self, exercise: Exercise) -> None:
        super().__init__()
        self.exercise = exercise
        self.hints_shown = 0  # read from progress on mount: revealed hints stay revealed
        self._watch_stop = threading.Event()

    @property
    def folder(self) -> Path:
        return self.tutor.workspace.folder(self.exercise)

    def compose(self) -> ComposeResult:
        folder = self.tutor.workspace.ensure(self.exercise)
        yield Header()
        yield Static(id="exercise-status")
        with TabbedContent(id="tabs", initial="task"):
            with TabPane("Task", id="task"), VerticalScroll(classes="pane-scroll"):
                yield Markdown(self.exercise.task, id="task-text")
            with TabPane("Editor", id="editor"):
                yield EditorPane(folder, self.exercise.files, id="editor-pane")
            with TabPane("Results", id="results"):
                yield CheckPanel(id="check-panel")
            with TabPane("Image", id="image"), VerticalScroll(classes="pane-scroll"):
                yield LayerChart(id="layers")
            with TabPane("Hints", id="hints"), VerticalScroll(classes="pane-scroll"):
                yield Markdown(id="hint-text")
            with TabPane("Solution", id="solution"), VerticalScroll(classes="pane-scroll"):
                yield SolutionDiff(id="solution-diff")
        yield Footer()

    def on_mount(self) -> None:
        self.title = self.exercise.title
        self.sub_title = f"Exercise {self.exercise.id}"
        self.query_one(LayerChart).show(None)
        self.hints_shown = min(self.tutor.progress.hints_shown(self.exercise.id), len(self.exercise.hints))
        self._show_hints()
        self._show_solution()
        self._show_status()
        self.watch(self.query_one(CheckPanel), "running", lambda _running: self.refresh_bindings(), init=False)

    def on_unmount(self) -> None:
        self._watch_stop.set()  # no watcher outlives its exercise; the panel cancels its own check

    def palette_commands(self) -> list[tuple[str, Callable[[], object], str]]:
        """This exercise's actions, offered by the command palette while it is open."""
        return [
            ("Check this exercise", self.action_check, "save, build and run every check"),
            ("Cancel the check", self.action_cancel, "stop the build"),
            ("Save", self.action_save, "the file in the editor"),
            ("Next hint", self.action_hint, ""),
            ("Show the solution", self.action_solution, "as a diff against your files"),
            ("Toggle watch mode", self.action_toggle_watch, "check again whenever a file is saved"),
            ("Reset to the starter", self.action_reset, "asks first"),
        ]

    # --- files ---------------------------------------------------------------------------------
    @property
    def pane(self) -> EditorPane:
        return self.query_one(EditorPane)

    @property
    def editor(self) -> DockerfileEditor:
        return self.pane.editor

    def action_save(self) -> None:
        self.pane.save()
        self.notify(f"Saved {self.pane.filename}", timeout=2)

    def action_next_file(self) -> None:
        self.pane.next_file()
        self.action_tab("editor")

    def _show_status(self) -> None:
        entry = self.tutor.progress.load()["exercises"].get(self.exercise.id, {})
        status = entry.get("status", "not started")
        attempts = entry.get("attempts", 0)
        tries = f", {attempts} check{'s' if attempts != 1 else ''}" if attempts else ""
        watch = "watch on" if self.watching else "watch off"
        self.query_one("#exercise-status", Static).update(
            f"Folder {friendly_path(self.folder)} · {status}{tries} · {watch}"
        )

    # --- checking ------------------------------------------------------------------------------
    def action_check(self) -> None:
        self.pane.sync_from_disk()
        if self.pane.save() and self.watching:
            return  # the watcher sees the save and checks; a second run would only race it
        self.start_check()

    def start_check(self) -> None:
        self.query_one(TabbedContent).active = "results"
        self.query_one(CheckPanel).start(self.exercise, self.folder, self.tutor.progress.record_report)

    def on_check_panel_finished(self, message: CheckPanel.Finished) -> None:
        self.query_one(LayerChart).show(message.report.build)
        self._show_status()
        self._show_solution()

    def on_check_panel_failed(self, message: CheckPanel.Failed) -> None:
        if isinstance(message.error, EngineUnavailable):
            self.tutor.engine_unavailable(message.error)

    def action_cancel(self) -> None:
        self.query_one(CheckPanel).cancel()

    @property
    def running(self) -> bool:
        return self.query_one(CheckPanel).running

    # --- escape means: leave the editor, else cancel a running check, else go home -------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        editing = self.editor.has_focus if self.is_mounted else False
        if action == "leave_editor":
            return editing
        if action == "cancel":
            return self.running and not editing
        if action == "home":
            return not self.running and not editing
        if action == "next_file":
            return len(self.exercise.files) > 1
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def on_descendant_blur(self) -> None:
        self.refresh_bindings()

    def action_leave_editor(self) -> None:
        self.query_one(TabbedContent).query_one("Tabs").focus()

    def action_home(self) -> None:
        if self.pane.save():
            self.notify(f"Saved {self.pane.filename}", timeout=2)
        self.tutor.go_home()

    def action_tab(self, tab: str) -> None:
        """Show a tab and focus what is in it, so the arrow keys scroll it at once."""
        tabs = self.query_one(TabbedContent)
        tabs.active = tab
        if tab == "editor":
            self.editor.focus()
        else:
            pane = tabs.get_pane(tab)
            target = pane.query(".pane-scroll") or pane.query("#checks")
            if target:
                target.first().focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "editor":
            self.pane.sync_from_disk()
            self.editor.focus()

    # --- hints and solution --------------------------------------------------------------------
    def action_hint(self) -> None:
        if self.hints_shown < len(self.exercise.hints):
            self.hints_shown += 1
            self.tutor.progress.record_hints(self.exercise.id, self.hints_shown)
        elif self.exercise.hints:
            self.notify("That was the last hint. The solution (s) opens after your first check.")
        self._show_hints()
        self.action_tab("hints")

    def _show_hints(self) -> None:
        hints = self.exercise.hints
        shown = "\n".join(f"{n}. {hint}" for n, hint in enumerate(hints[: self.hints_shown], start=1))
        left = len(hints) - self.hints_shown
        more = f"\n\n*{left} more hint{'s' if left != 1 else ''}: press h.*" if left else "\n\n*No more hints.*"
        self.query_one("#hint-text", Markdown).update((shown or "*No hint shown yet.*") + (more if hints else ""))

    def action_solution(self) -> None:
        self.pane.sync_from_disk()
        self._show_solution()
        self.action_tab("solution")

    def _show_solution(self) -> None:
        attempts = self.tutor.progress.load()["exercises"].get(self.exercise.id, {}).get("attempts", 0)
        self.query_one(SolutionDiff).show(self.exercise, self.folder, attempts)

    # --- reset ---------------------------------------------------------------------------------
    def action_reset(self) -> None:
        question = (
            f"Put the starter files back in {friendly_path(self.folder)} and forget this exercise's "
            "checks? Your current files are kept aside in a hidden folder next to it."
        )
        self.app.push_screen(ConfirmDialog(question, confirm="Reset"), self._reset_confirmed)

    def _reset_confirmed(self, confirmed: bool | None) -> None:
        if not confirmed:
            return
        self.query_one(CheckPanel).clear("Reset to the starter. Not checked yet.")
        self._watch_stop.set()  # replacing the folder is not a save to check
        self.tutor.workspace.reset(self.exercise)
        self.tutor.progress.reset(self.exercise.id)
        self.pane.load()
        self.hints_shown = 0
        self.query_one(LayerChart).show(None)
        self.hints_shown = min(self.tutor.progress.hints_shown(self.exercise.id), len(self.exercise.hints))
        self._show_hints()
        self._show_solution()
        self._show_status()
        if self.watching:
            self.follow_saves()  # the folder was replaced: watch the new one
        self.notify("Exercise reset to the starter.")

    # --- watch mode ----------------------------------------------------------------------------
    def action_toggle_watch(self) -> None:
        self.watching = not self.watching

    def watch_watching(self, watching: bool) -> None:
        self._show_status()
        if watching:
            self.follow_saves()
            self.notify("Watch on: saving a file in any editor checks again.", timeout=3)
        else:
            self._watch_stop.set()

    @work(thread=True, exclusive=True, group="watch")
    def follow_saves(self) -> None:
        from watchfiles import watch

        self._watch_stop.set()
        stop = self._watch_stop = threading.Event()
        for _changes in watch(self.folder, stop_event=stop, debounce=400, raise_interrupt=False):
            if stop.is_set():
                break
            self.app.call_from_thread(self._on_files_changed)

    def _on_files_changed(self) -> None:
        self.pane.sync_from_disk()
        self.start_check()
