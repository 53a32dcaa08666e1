"""The live build log: steps as headings, cached steps marked, the engine's output below each."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from tutor.app.display import instruction_text
from tutor.engine.events import BuildOutput, BuildStep, StepCached

MAX_LINES = 5000  # a pip install can print thousands; the start of it matters least


class BuildLog(RichLog):
    def __init__(self, *, id: str | None = None) -> None:
        # min_width: RichLog renders every line at least 78 cells wide, which a pane beside the
        # editor is not: the ends of long lines (BuildKit's RUN lines) were cut off under its edge.
        super().__init__(wrap=True, markup=False, highlight=False, max_lines=MAX_LINES, min_width=1, id=id)

    def show(self, event: BuildStep | StepCached | BuildOutput) -> None:
        if isinstance(event, (BuildStep, StepCached)) and event.logged:
            return  # BuildKit's own lines already show it
        if isinstance(event, BuildStep):
            self.write(Text(f"Step {event.number}/{event.total}  {instruction_text(event.instruction)}", style="bold"))
        elif isinstance(event, StepCached):
            self.write(Text(f"  ↳ step {event.number} cached: nothing changed, layer reused", style="green"))
        elif not event.line.startswith(("Step ", "STEP ")) and not event.line.lstrip(" -").startswith("> Using cache"):
            self.write(Text(f"  {event.line}", style="dim"))

    def unchanged(self) -> None:
        self.write(Text("No build ran: the files, checks and base images are those of the last check.", style="green"))
