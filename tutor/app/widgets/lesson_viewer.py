"""A Markdown viewer for one lesson: links are handed to the screen instead of loaded as files."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Markdown, MarkdownViewer, Tree
from textual.widgets.markdown import MarkdownTableOfContents, TableOfContentsType


class LessonContents(MarkdownTableOfContents):
    """The headings as a tree: the nesting shows the level, so no "Ⅰ Ⅱ" numerals before each."""

    def rebuild_table_of_contents(self, table_of_contents: TableOfContentsType) -> None:
        tree = self.query_one(Tree)
        tree.clear()
        for level, name, block_id in table_of_contents:
            node = tree.root
            for _ in range(level - 1):
                if node.children:
                    node = node.children[-1]
                    node.expand()
                    node.allow_expand = True
                else:
                    node = node.add("…", expand=True)  # a heading level skipped in the lesson
            node.add_leaf(name, {"block_id": block_id})


class LessonViewer(MarkdownViewer):
    class LinkFollowed(Message):
        def __init__(self, href: str) -> None:
            super().__init__()
            self.href = href

    def __init__(self, markdown: str, *, show_table_of_contents: bool, id: str | None = None) -> None:
        super().__init__(markdown, show_table_of_contents=show_table_of_contents, open_links=False, id=id)

    def compose(self) -> ComposeResult:
        document = Markdown(parser_factory=self._parser_factory, open_links=self._open_links)
        document.can_focus = True
        yield document
        yield LessonContents(document)

    def _on_markdown_table_of_contents_updated(self, message: Markdown.TableOfContentsUpdated) -> None:
        super()._on_markdown_table_of_contents_updated(message)
        # The document is laid out now: keys that depend on it (wide code) may have changed.
        self.call_after_refresh(self.screen.refresh_bindings)

    async def _on_markdown_link_clicked(self, message: Markdown.LinkClicked) -> None:
        message.stop()
        if message.href.startswith("#"):
            self.document.goto_anchor(message.href[1:])
        else:
            self.post_message(self.LinkFollowed(message.href))
