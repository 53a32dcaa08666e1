"""The one thing every tutor screen shares: typed access to the app's curriculum and state."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from tutor.app.tutor_app import TutorApp


class TutorScreen(Screen[None]):
    @property
    def tutor(self) -> TutorApp:
        return cast("TutorApp", self.app)
