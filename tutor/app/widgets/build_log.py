"""The live build log: steps as headings, cached steps marked, the engine's output below each."""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.events import Resize
from textual.widgets import RichLog

from tutor.app.display import instruction_text
from tutor.engine.events import BuildOutput, BuildStep, StepCached

MAX_LINES = 5000  # a pip install can print thousands; the start of it matters least


class BuildLog(RichLog):
    def __init__(self, *, id: str | None = None) -> None:
        # min_width: RichLog renders every line at least 78 cells wide, which a pane beside the
        # editor is not: the ends of long lines (BuildKit's RUN lines) were cut off under its edge.
        super().__init__(wrap=True, markup=False, highlight=False, max_lines=MAX_LINES, min_width=1, id=id)
        # RichLog wraps a line once, to the width it has when the line is written. The texts are
        # kept to wrap them again when that width changes: a line written while the log's tab was
        # hidden, or before the terminal was resized, was cut off under the scrollbar.
        self._texts: deque[Text] = deque(maxlen=MAX_LINES)
        self._wrapped_to = 0

    def add(self, text: Text) -> None:
        self._texts.append(text)
        self.write(text)

    def clear(self) -> BuildLog:
        self._texts.clear()
        return super().clear()

    def on_resize(self, event: Resize) -> None:
        width = self.scrollable_content_region.width
        if not width or width == self._wrapped_to:
            return
        first, self._wrapped_to = not self._size_known, width
        if first:
            return  # RichLog itself writes, at this width, what it was given before
        super().clear()
        for text in self._texts:
            self.write(text)

    def show(self, event: BuildStep | StepCached | BuildOutput) -> None:
        if isinstance(event, (BuildStep, StepCached)) and event.logged:
            return  # BuildKit's own lines already show it
        if isinstance(event, BuildStep):
            self.add(Text(f"Step {event.number}/{event.total}  {instruction_text(event.instruction)}", style="bold"))
        elif isinstance(event, StepCached):
            self.add(Text(f"  ↳ step {event.number} cached: nothing changed, layer reused", style="green"))
        elif not event.line.startswith(("Step ", "STEP ")) and not event.line.lstrip(" -").startswith("> Using cache"):
            self.add(Text(f"  {event.line}", style="dim"))

    def unchanged(self) -> None:
        self.add(Text("No build ran: the files, checks and base images are those of the last check.", style="green"))
