"""One exercise: task, editor, live check, image layers, hints, solution, reset and watch mode.

The screen only calls `grade` in a thread worker and shows the events and the Report it returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Button, Footer, Header, Markdown, Static, TabbedContent, TabPane

from tutor.app import steps
from tutor.app.crash import crash_message
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

SIDE_BY_SIDE = 120  # columns from which the task (and results) sit beside the editor

# In the browser the learner has no shell and the folder lives on the server: say so beside the task.
WEB_NOTE = (
    "> **In the browser** there is no shell: commands such as `docker build` and `docker run` in this "
    "task are for a terminal on a machine with Docker. Here, **ctrl+r** builds and checks your files "
    "on the tutor's engine.\n\n"
)


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
        Binding("f6", "next_file", "Next file", priority=True),  # works while editing, where f is a letter
        Binding("f", "next_file", "Next file", show=False),
        Binding("n", "next_step", "Next step"),
        Binding("t", "tab('task')", "Task", show=False),
        Binding("e", "tab('editor')", "Edit"),
        Binding("l", "tab('results')", "Results", show=False),
        Binding("i", "tab('image')", "Image", show=False),
    ]

    watching: reactive[bool] = reactive(False, init=False)

    def __init__(self, exercise: Exercise) -> None:
        super().__init__()
        self.exercise = exercise
        self.hints_shown = 0  # read from progress on mount: revealed hints stay revealed
        self._watch_stop = threading.Event()
        self._asked_to_check = False  # ctrl+r saved and left the check to the watcher

    @property
    def folder(self) -> Path:
        return self.tutor.workspace.folder(self.exercise)

    def compose(self) -> ComposeResult:
        folder = self.tutor.workspace.ensure(self.exercise)
        task = (WEB_NOTE if self.app.is_web else "") + self.exercise.task
        yield Header()
        yield Static(id="exercise-status")
        # One editor for both layouts: narrow, it shows under the tab bar when the Editor tab is
        # active; from SIDE_BY_SIDE columns it stays beside the tabs and the Editor tab is hidden.
        with Container(id="workbench"):
            with TabbedContent(id="tabs", initial="task"):
                # The underlined letter is the tab's key.
                with TabPane("[u]T[/u]ask", id="task"), VerticalScroll(classes="pane-scroll"):
                    yield Markdown(task, id="task-text")
                yield TabPane("[u]E[/u]ditor", id="editor")
                with TabPane("Resu[u]l[/u]ts", id="results"):
                    yield Button("", id="next-step", compact=True)
                    yield CheckPanel(id="check-panel")
                with TabPane("[u]I[/u]mage", id="image"), VerticalScroll(classes="pane-scroll"):
                    yield LayerChart(id="layers")
                with TabPane("[u]H[/u]ints", id="hints"), VerticalScroll(classes="pane-scroll"):
                    yield Markdown(id="hint-text")
                with TabPane("[u]S[/u]olution", id="solution"), VerticalScroll(classes="pane-scroll"):
                    yield SolutionDiff(id="solution-diff")
            yield EditorPane(folder, self.exercise.files, id="editor-pane")
        yield Footer()

    def on_mount(self) -> None:
        self.title = self.exercise.title
        self.sub_title = f"Exercise {self.exercise.id.split('-', 1)[0]}"
        self.query_one(LayerChart).show(None)
        self.tutor.progress.record_opened(self.exercise.id)  # active time starts when the exercise is opened
        self.hints_shown = min(self.tutor.progress.hints_shown(self.exercise.id), len(self.exercise.hints))
        self._show_hints()
        self._show_solution()
        self._show_status()
        self._lay_out(self.app.size.width)
        self.watch(self.query_one(CheckPanel), "running", self._on_running, init=False)
        self.action_tab("task")  # the learner reads the task first: PageDown scrolls it at once

    # --- layout: tabs alone, or tabs beside the editor ------------------------------------------
    @property
    def side_by_side(self) -> bool:
        return self.has_class("side-by-side")

    def on_resize(self, event: events.Resize) -> None:
        self._lay_out(event.size.width)

    def _lay_out(self, width: int) -> None:
        wide = width >= SIDE_BY_SIDE
        tabs = self.query_one(TabbedContent)
        self.set_class(wide, "side-by-side")
        if wide:
            tabs.hide_tab("editor")
            if tabs.active == "editor":
                tabs.active = "task"
        else:
            tabs.show_tab("editor")
        self._show_editing()

    def _show_editing(self) -> None:
        """Narrow, the editor is on screen only while its tab is active."""
        editing = not self.side_by_side and self.query_one(TabbedContent).active == "editor"
        self.set_class(editing, "editing")

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
        """Folder, verdict and watch state in one line; the counts say what they count."""
        entry = self.tutor.progress.load()["exercises"].get(self.exercise.id, {})
        status = entry.get("status", "not started")
        attempts = entry.get("attempts", 0)
        failing = entry.get("failing_checks", [])
        if self.running:
            verdict = "checking…"
        elif status == "passed":
            verdict = "✔ passed"
        elif status == "failed" and "build" in failing:
            verdict = "✘ the image did not build"
        elif status == "failed":
            verdict = f"✘ {len(failing)} of {len(self.exercise.checks)} checks failed"
        else:
            verdict = "not checked yet"
        tries = f" · attempt {attempts}" if attempts else ""
        watch = "watch on" if self.watching else "watch off"
        where = "Files kept for this browser tab" if self.app.is_web else f"Folder {friendly_path(self.folder)}"
        self.query_one("#exercise-status", Static).update(f"{where} · {verdict}{tries} · {watch}")
        self._show_next_step(status == "passed")

    def _show_next_step(self, passed: bool) -> None:
        button = self.query_one("#next-step", Button)
        step = self._next_step() if passed else None
        button.display = step is not None
        if step is not None:
            button.label = f"Next: {step.title}  (n)"
        self.refresh_bindings()

    def _next_step(self) -> steps.Step | None:
        return steps.after(self.tutor.curriculum, self.tutor.progress.load(), exercise_id=self.exercise.id)

    def action_next_step(self) -> None:
        step = self._next_step()
        if step is None:
            self.notify("Every lesson, quiz and exercise is done. Well built!")
            return
        if self.pane.save():
            self.notify(f"Saved {self.pane.filename}", timeout=2)
        self.tutor.open_step(step)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "next-step":
            event.stop()
            self.action_next_step()

    def _on_running(self, _running: bool) -> None:
        self._show_status()
        self.refresh_bindings()

    # --- checking ------------------------------------------------------------------------------
    def action_check(self) -> None:
        self.pane.sync_from_disk()
        if self.pane.save() and self.watching:
            self._asked_to_check = True  # the watcher sees the save and checks; a second run would race it
            return
        self.start_check(asked=True)

    def start_check(self, *, asked: bool = False) -> None:
        """Show the results where the learner looks, but never take the keyboard from the editor
        for a check they did not ask for (watch mode): their next letters must stay text."""
        asked = asked or self._asked_to_check
        self._asked_to_check = False
        editing = self.editor.has_focus
        tabs = self.query_one(TabbedContent)
        if self.side_by_side or asked or not editing:
            tabs.active = "results"
            self._show_editing()
        if not editing or (asked and not self.side_by_side):
            self.query_one("#checks").focus()
        self.query_one(CheckPanel).start(self.exercise, self.folder, self.tutor.progress.record_report)

    def on_check_panel_finished(self, message: CheckPanel.Finished) -> None:
        self.query_one(LayerChart).show(message.report.build)
        self._show_status()
        self._show_solution()

    def on_check_panel_failed(self, message: CheckPanel.Failed) -> None:
        self._show_status()
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
        if action == "tab" and parameters == ("editor",):
            return not editing
        if action == "save":
            return editing or self.pane.dirty if self.is_mounted else True
        if action == "next_file":
            return len(self.exercise.files) > 1
        if action == "next_step":
            return self.tutor.progress.status(self.exercise.id) == "passed"
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def on_descendant_blur(self) -> None:
        self.refresh_bindings()

    def on_text_area_changed(self) -> None:
        self.refresh_bindings()  # unsaved edits make ctrl+s worth showing

    def action_leave_editor(self) -> None:
        if self.side_by_side:
            self.action_tab(self.query_one(TabbedContent).active)
        else:
            self.query_one(TabbedContent).query_one("Tabs").focus()

    def action_home(self) -> None:
        if self.pane.save():
            self.notify(f"Saved {self.pane.filename}", timeout=2)
        self.tutor.go_home()

    def action_tab(self, tab: str) -> None:
        """Show a tab and focus what is in it, so the arrow keys scroll it at once."""
        tabs = self.query_one(TabbedContent)
        if tab == "editor":
            if not self.side_by_side:
                tabs.active = "editor"
            self._show_editing()
            self.pane.sync_from_disk()
            self.editor.focus()
            return
        tabs.active = tab
        self._show_editing()
        pane = tabs.get_pane(tab)
        target = pane.query(".pane-scroll") or pane.query("#checks")
        if target:
            target.first().focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._show_editing()
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
        where = "this exercise" if self.app.is_web else friendly_path(self.folder)
        question = (
            f"Put the starter files back in {where} and forget this exercise's "
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
        self.tutor.progress.record_opened(self.exercise.id)  # active time starts when the exercise is opened
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

    @work(thread=True, exclusive=True, group="watch", exit_on_error=False)
    def follow_saves(self) -> None:
        from watchfiles import watch

        self._watch_stop.set()
        stop = self._watch_stop = threading.Event()
        try:
            for _changes in watch(self.folder, stop_event=stop, debounce=400, raise_interrupt=False):
                if stop.is_set():
                    break
                self.app.call_from_thread(self._on_files_changed)
        except Exception as exc:  # a watcher that dies is a message, never a closed app
            if not stop.is_set():
                self.app.call_from_thread(self._watch_failed, crash_message("watching your folder", exc))

    def _watch_failed(self, message: str) -> None:
        self.watching = False
        self.notify(message, title="Watch mode stopped", severity="error", timeout=30)

    def _on_files_changed(self) -> None:
        self.pane.sync_from_disk()
        self.start_check()
