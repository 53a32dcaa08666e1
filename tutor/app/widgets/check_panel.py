"""The Results tab: runs `grade` in a thread worker and shows its events live, then the verdict.

It only calls the engine and displays what comes back; the caller says how to record a Report.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from tutor.app.crash import crash_message
from tutor.app.display import instruction_text
from tutor.app.widgets.build_log import BuildLog
from tutor.app.widgets.check_results import CheckResults
from tutor.content.model import Exercise
from tutor.engine.events import BuildFinished, BuildOutput, BuildStep, CheckFinished, CheckStarted, Event, GradeWarning, StepCached
from tutor.engine.report import Report
from tutor.errors import TutorError


class CheckPanel(Vertical):
    class Finished(Message):
        """A check ran to its end (not cancelled) and its Report is recorded."""

        def __init__(self, report: Report) -> None:
            super().__init__()
            self.report = report

    class Failed(Message):
        """The check could not run at all, e.g. no Docker engine, or the tutor itself failed (error is None)."""

        def __init__(self, error: TutorError | None) -> None:
            super().__init__()
            self.error = error

    running: reactive[bool] = reactive(False, init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._cancel = threading.Event()
        self._run = 0  # events of an older, cancelled run are ignored

    def compose(self) -> ComposeResult:
        yield Static("Not checked yet. Press ctrl+r to build and check.", id="check-state")
        yield CheckResults(id="checks")
        yield BuildLog(id="build-log")

    @property
    def state(self) -> Static:
        return self.query_one("#check-state", Static)

    def on_unmount(self) -> None:
        # Leaving the exercise must not leave a build running behind it, nor deliver to a gone screen.
        self._cancel.set()
        self._run += 1

    def start(self, exercise: Exercise, folder: Path, record: Callable[[Report], object]) -> None:
        """Grade in a thread; `record` runs there too, before the verdict shows, so what shows is saved."""
        self._cancel.set()  # an older run still building stops within a moment
        self._cancel = threading.Event()
        self._run += 1
        self.clear("Starting the build…")
        self.running = True
        self._grade(exercise, folder, record, self._run, self._cancel)

    def cancel(self) -> None:
        self._cancel.set()
        self.state.update("Cancelling…")

    def clear(self, message: str) -> None:
        """Forget the last run, e.g. after a reset."""
        if self.running:
            self._cancel.set()
            self._run += 1
            self.running = False
        self.query_one(CheckResults).clear()
        self.query_one(BuildLog).clear()
        self.state.update(message)
        self.state.remove_class("passed", "failed")

    # exit_on_error=False: whatever escapes the handlers below must not close the learner's app.
    @work(thread=True, exclusive=True, group="grade", exit_on_error=False)
    def _grade(
        self, exercise: Exercise, folder: Path, record: Callable[[Report], object], run: int, cancel: threading.Event
    ) -> None:
        from tutor.engine.grader import Grading, grade

        def on_event(event: Event) -> None:
            self.app.call_from_thread(self._on_event, run, event)

        try:
            # As `docker-tutor check` does: a folder unchanged since it passed is not built again.
            report = grade(exercise, folder, grading=Grading.learners_check(), on_event=on_event, cancel=cancel)
        except TutorError as exc:
            self.app.call_from_thread(self._on_failure, run, exc)
            return
        except Exception as exc:  # a bug of ours, never the learner's: shown with a way to report it
            self.app.call_from_thread(self._on_crash, run, crash_message("checking the exercise", exc))
            return
        if not cancel.is_set():
            record(report)  # a cancelled run is not an attempt
        self.app.call_from_thread(self._on_report, run, report, cancel.is_set())

    def _on_event(self, run: int, event: Event) -> None:
        if run != self._run:
            return
        if isinstance(event, (BuildStep, StepCached, BuildOutput)):
            self.query_one(BuildLog).show(event)
            if isinstance(event, BuildStep):
                self.state.update(f"Building: step {event.number} of {event.total}  {instruction_text(event.instruction)}")
        elif isinstance(event, BuildFinished):
            self.state.update(f"Built in {event.seconds:.1f} s; checking…" if event.ok else f"Build failed: {event.error}")
        elif isinstance(event, CheckStarted):
            self.query_one(CheckResults).started(event.check_id, event.title)
        elif isinstance(event, CheckFinished):
            self.query_one(CheckResults).finished(event.result)
        elif isinstance(event, GradeWarning):  # did not change the verdict: said aside, as the CLI does on stderr
            self.app.notify(event.text, title="Check", severity="warning", timeout=15)

    def _on_report(self, run: int, report: Report, cancelled: bool) -> None:
        if run != self._run:
            return
        self.running = False
        if cancelled:
            self.state.update("Cancelled. Nothing was recorded; ctrl+r checks again.")
            return
        if report.build.reused:
            self.query_one(BuildLog).unchanged()
        results = self.query_one(CheckResults)
        for result in report.checks:
            results.finished(result)  # checks skipped before the build sent no events
        passed = sum(1 for c in report.checks if c.passed)
        if report.passed and report.build.reused:
            self.state.update(
                f"✔ Passed: {passed} of {len(report.checks)} checks. Nothing changed since your last check, "
                "so the image was not rebuilt."
            )
        elif report.passed:
            self.state.update(f"✔ Passed: {passed} of {len(report.checks)} checks in {report.seconds:.1f} s")
        elif not report.build.ok:
            hint = f"\n{report.build.hint}" if report.build.hint else ""
            self.state.update(f"✘ The image did not build: {report.build.error}{hint}")
        else:
            self.state.update(f"✘ {len(report.checks) - passed} of {len(report.checks)} checks failed; see each hint below")
        self.state.set_class(report.passed, "passed")
        self.state.set_class(not report.passed, "failed")
        self.post_message(self.Finished(report))

    def _on_crash(self, run: int, message: str) -> None:
        if run != self._run:
            return
        self.running = False
        self.state.update(f"✘ {message}")
        self.state.add_class("failed")
        self.post_message(self.Failed(None))

    def _on_failure(self, run: int, error: TutorError) -> None:
        if run != self._run:
            return
        self.running = False
        self.state.update(f"✘ {error.message}\n{error.hint}".rstrip())
        self.state.add_class("failed")
        self.post_message(self.Failed(error))
