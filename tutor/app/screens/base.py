"""The one thing every tutor screen shares: typed access to the app's curriculum and state."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen
from textual.widgets import Footer, Header

ICON = "▣"  # drawn by common monospace fonts, in a terminal and in the browser alike

if TYPE_CHECKING:
    from tutor.app.tutor_app import TutorApp


class TutorScreen(Screen[None]):
    SHOW_PALETTE_KEY = False  # ctrl+p is on home and in help; elsewhere the footer's room is for the screen's keys

    @property
    def tutor(self) -> TutorApp:
        return cast("TutorApp", self.app)

    def on_mount(self) -> None:
        # Runs besides each screen's own on_mount (Textual calls the handler of every class).
        for header in self.query(Header):
            header.icon = ICON
        for footer in self.query(Footer):
            footer.compact = True  # more keys fit in 80 columns
            footer.show_command_palette = self.SHOW_PALETTE_KEY
