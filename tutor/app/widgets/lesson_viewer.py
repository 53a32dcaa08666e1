"""A Markdown viewer for one lesson: links are handed to the screen instead of loaded as files."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import Markdown, MarkdownViewer


class LessonViewer(MarkdownViewer):
    class LinkFollowed(Message):
        def __init__(self, href: str) -> None:
            super().__init__()
            self.href = href

    def __init__(self, markdown: str, *, show_table_of_contents: bool, id: str | None = None) -> None:
        super().__init__(markdown, show_table_of_contents=show_table_of_contents, open_links=False, id=id)

    async def _on_markdown_link_clicked(self, message: Markdown.LinkClicked) -> None:
        message.stop()
        if message.href.startswith("#"):
            self.document.goto_anchor(message.href[1:])
        else:
            self.post_message(self.LinkFollowed(message.href))
