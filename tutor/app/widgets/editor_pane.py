"""The Editor tab: the exercise's files one at a time, saved into the learner's workspace folder.

Edits made here and saves made in another editor are told apart, so neither silently wins.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static, TextArea

from tutor.app.display import friendly_path
from tutor.app.widgets.dockerfile_editor import DockerfileEditor


class EditorPane(Vertical):
    def __init__(self, folder: Path, files: tuple[str, ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.folder = folder
        self.files = files
        self.index = 0  # which of files is in the editor
        self._saved = self._read()  # the file as last loaded or saved here

    @property
    def filename(self) -> str:
        return self.files[self.index]

    @property
    def editor(self) -> DockerfileEditor:
        return self.query_one(DockerfileEditor)

    def compose(self) -> ComposeResult:
        yield Static(id="editor-file")
        yield DockerfileEditor(self._saved, filename=self.filename, id="dockerfile")

    def on_mount(self) -> None:
        self._show_name()

    def _read(self) -> str:
        path = self.folder / self.filename
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    @property
    def dirty(self) -> bool:
        return self.editor.text != self._saved

    def load(self) -> None:
        """Show the current file as it is on disk, dropping unsaved edits (after a reset)."""
        self._saved = self._read()
        self.editor.open(self._saved, self.filename)
        self._show_name()

    def save(self) -> bool:
        """Write unsaved edits; True when something was written."""
        written = self.dirty
        if written:
            (self.folder / self.filename).write_text(self.editor.text, encoding="utf-8")
            self._saved = self.editor.text
        self._show_name()
        return written

    def next_file(self) -> None:
        if self.save():
            self.notify(f"Saved {self.files[self.index]}", timeout=2)
        self.index = (self.index + 1) % len(self.files)
        self.load()

    def sync_from_disk(self) -> None:
        """Take in a save made in another editor, unless there are unsaved edits here too."""
        if self._read() == self._saved:
            return
        if self.dirty:
            self.notify(f"{self.filename} changed on disk too; ctrl+s keeps the version here.", severity="warning")
        else:
            self.load()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._show_name()

    def _show_name(self) -> None:
        mark = "  [modified: ctrl+s saves]" if self.dirty else ""
        # f6, not f: in the editor f is a letter.
        which = f"[{self.index + 1}/{len(self.files)}, f6: next file] " if len(self.files) > 1 else ""
        # In the browser the folder is on the server: its path means nothing to the learner.
        where = self.filename if self.app.is_web else friendly_path(self.folder / self.filename)
        self.query_one("#editor-file", Static).update(f"{which}{where}{mark}")
