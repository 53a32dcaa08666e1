"""Help: what the tutor is, and every key on every screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Markdown

from tutor.app.screens.base import TutorScreen

HELP = """\
# docker-tutor

Read a lesson, answer its quiz, then solve its exercise: edit the Dockerfile, press
**ctrl+r**, and the tutor builds it on your Docker engine and runs every check.
Your copy of each exercise is a plain folder: edit it here or in any editor.

## Everywhere

| Key | Does |
|---|---|
| `ctrl+p` | command palette: every lesson, exercise and action |
| `?` / `f1` | this help (arrows and PageDown scroll it) |
| `f2` | dark or light theme (also `ctrl+t` in a terminal) |
| `ctrl+q` | quit (progress is saved as you go) |

## Home

| Key | Does |
|---|---|
| `↑` `↓` `enter` | open a lesson, quiz or exercise, in any order |
| `r` | the next step you have not finished |
| `d` | doctor: is the Docker engine usable? |

## Lesson and quiz

| Key | Does |
|---|---|
| `n` / `p` | next or previous lesson (question, in a quiz) |
| `←` `→` | scroll code wider than the screen |
| `1`-`9` or `enter` | answer a quiz question |
| `c` | table of contents |
| `x` / `z` | the lesson's exercise / quiz |
| `escape` | home |

## Exercise

| Key | Does |
|---|---|
| `ctrl+s` | save the editor to your workspace folder |
| `ctrl+r` / `f5` | save, build and check |
| `escape` | leave the editor; cancel a running check; else home |
| `t` `e` `l` `i` | Task, Editor, Results, Image tabs |
| `n` | after a pass: the next step you have not finished |
| `h` | reveal the next hint |
| `s` | the reference solution as a diff (after your first check) |
| `f6` | the next of the exercise's files, when it has several |
| `w` | watch mode: saving in any editor checks again |
| `r` | reset the exercise to its starter (asks first) |

While you type in the editor, letters are text: only `ctrl` and function keys and `escape`
act. From 120 columns the editor stays beside the task and the results.
"""


class HelpScreen(TutorScreen):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="help"):
            yield Markdown(HELP, id="help-text")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Help"
        self.query_one("#help", VerticalScroll).focus()  # arrows, PageDown and Home scroll it
