"""The served class's own HTML: the join form, refusals, the instructor page. No script, no outside files."""

from __future__ import annotations

import html
import time
from dataclasses import dataclass

from tutor.words import plural

STYLE = """
body { font-family: system-ui, sans-serif; background: #0c181f; color: #e8eef2; margin: 0; }
main { max-width: 46rem; margin: 3rem auto; padding: 0 1rem; }
input, textarea, button { font: inherit; padding: .5rem .7rem; border-radius: 4px; border: 1px solid #3a5566; }
input, textarea { background: #12232d; color: inherit; }
button { background: #2d7ff9; color: white; border: none; cursor: pointer; }
.error { background: #5c1d24; padding: .6rem .9rem; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: .35rem .6rem; border-bottom: 1px solid #29414f; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { word-break: break-all; }
.class-code { font-size: 1.6rem; letter-spacing: .12em; font-weight: bold; }
a { color: #8cc4ff; }
"""


def _page(title: str, body: str, *, refresh: int = 0) -> str:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{meta}'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def join_page(error: str = "", hint: str = "", name: str = "", code: str = "") -> str:
    problem = f'<p class="error">{html.escape(error)}. {html.escape(hint)}</p>' if error else ""
    return _page(
        "docker-tutor: join the class",
        f"""<h1>docker-tutor</h1>
<p>Give your name and the class code your instructor gave you. Your work is kept under your name:
come back to this address in this browser (or open your personal link) and you continue where you
left off, without the code.</p>{problem}
<form method="post" action="/join">
<p><label for="name">Your name</label><br>
<input id="name" name="name" maxlength="40" autofocus required autocomplete="name" value="{html.escape(name)}"></p>
<p><label for="code">Class code</label><br>
<input id="code" name="code" maxlength="80" required autocomplete="off" autocapitalize="characters"
 spellcheck="false" value="{html.escape(code)}"></p>
<button type="submit">Start</button>
</form>""",
    )


def refusal_page(title: str, message: str) -> str:
    return _page(f"docker-tutor: {title}", f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>")


@dataclass(frozen=True, slots=True)
class LearnerRow:
    name: str
    link: str
    tabs: int
    last_active: float | None  # a key press in a tab, if any since the server started
    passed: int
    attempted: int
    lessons_read: int
    current: str  # what they last opened


def instructor_page(rows: list[LearnerRow], exercises: int, limits: str, class_code: str) -> str:
    now = time.time()

    def ago(moment: float | None) -> str:
        if moment is None:
            return "-"
        minutes = int(now - moment) // 60
        return "now" if minutes < 1 else f"{minutes} min ago"

    body = "".join(
        f"<tr><td>{html.escape(r.name)}</td><td class=num>{r.passed}/{exercises}</td>"
        f"<td class=num>{r.attempted}</td><td class=num>{r.lessons_read}</td><td>{html.escape(r.current)}</td>"
        f"<td class=num>{r.tabs}</td><td>{ago(r.last_active)}</td>"
        f"<td><code>{html.escape(r.link)}</code></td></tr>"
        for r in rows
    )
    return _page(
        "docker-tutor: instructor",
        f"""<h1>Class progress</h1>
<p>Class code: <code class="class-code">{html.escape(class_code)}</code> (learners give it with their name to join; personal
links and a learner's own browser need none).</p>
<p>{plural(len(rows), 'learner')}, {sum(r.tabs > 0 for r in rows)} online. Limits: {html.escape(limits)}.
This page refreshes every 10 s. <a href="/instructor/export.json">Export the class's progress</a>
(one file; <code>docker-tutor report FILE</code> reads it).</p>
<table><thead><tr><th>learner</th><th>passed</th><th>attempted</th><th>lessons read</th><th>last opened</th>
<th>tabs</th><th>last key press</th><th>personal link</th></tr></thead><tbody>{body}</tbody></table>
<h2>Personal links</h2>
<p>One name a line: each learner gets a link that signs them in without typing a name.</p>
<form method="post" action="/instructor/learners"><textarea name="names" rows="4" cols="40"></textarea><br>
<button type="submit">Make links</button></form>""",
        refresh=10,
    )
