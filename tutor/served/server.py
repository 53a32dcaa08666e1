"""The served class: an aiohttp app that gives each named learner their own tutor processes.

textual-serve's AppService runs one tutor process per websocket and relays the terminal; this
server decides which learner a connection belongs to (a cookie holding their token), starts the
process in that learner's session folder, enforces the limits and closes idle tabs. The learner's
folder is never deleted: a closed tab, a reaped one or a server restart only ends processes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from tutor.classroom.reports import export
from tutor.engine.discovery import CLASS_TAB_VARIABLE, ENGINE_VARIABLE, named_engine
from tutor.errors import UsageError
from tutor.progress import Progress
from tutor.served import pages
from tutor.served.admission import ClassCode, JoinRate, client_key
from tutor.served.guard import Limits, OriginGuard
from tutor.served.learners import JoinRefused, Learner, Roster
from tutor.words import plural

COOKIE = "docker_tutor_learner"
COOKIE_DAYS = 30
STOP_SECONDS = 10  # a tutor process asked to quit that has not ended by then is killed
log = logging.getLogger("docker-tutor.serve")


@dataclass(slots=True)
class Tab:
    learner: Learner
    websocket: web.WebSocketResponse
    service: AppService
    last_active: float = field(default_factory=time.time)
    engine: str = ""


class ClassServer:
    def __init__(
        self,
        *,
        sessions: Path,
        tutor_command: list[str],
        limits: Limits,
        guard: OriginGuard,
        password: str,
        class_code: ClassCode,
        exercises: int,
        secure_cookie: bool = False,
        engines: list[str] | None = None,
    ) -> None:
        self.sessions = sessions
        self.tutor_command = tutor_command
        self.limits = limits
        self.guard = guard
        self.password = password
        self.class_code = class_code
        self.join_rate = JoinRate(limits.joins_at_once, limits.joins_per_minute)
        self.exercises = exercises
        self.secure_cookie = secure_cookie
        self.roster = Roster(sessions, limits.max_learners)
        self.roster.learners()  # a broken class list stops `serve` at its start, with what is wrong
        self.engines = engines or []  # empty: every tab uses the default engine
        self.lost_engines: dict[str, float] = {}  # engine -> when it was last found not answering
        self._placing = asyncio.Lock()
        self.tabs: list[Tab] = []
        self.last_active: dict[str, float] = {}  # learner folder -> last key press, for the instructor
        self.downloads = DownloadManager()
        self._reaper: asyncio.Task[None] | None = None

    # --- the application ------------------------------------------------------------------------
    def app(self) -> web.Application:
        import textual_serve

        served = Path(textual_serve.__file__).parent
        app = web.Application(middlewares=[self._check_origin], client_max_size=64 * 1024)
        # Our page first (terminal focused on load, local font, icon), textual-serve's as the fallback.
        page = Path(__file__).resolve().parent.parent / "web"
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader([page, served / "templates"]))
        app.add_routes(
            [
                web.get("/", self.index),
                web.post("/join", self.join),
                web.get("/join/{token}", self.join_link),
                web.get("/ws", self.websocket),
                web.get("/download/{key}", self.download),
                web.get("/instructor", self.instructor),
                web.get("/instructor/export.json", self.export),
                web.post("/instructor/learners", self.add_learners),
                web.static("/static", served / "static"),
            ]
        )
        app.on_startup.append(self._start_reaper)
        app.on_shutdown.append(self._shutdown)
        return app

    @web.middleware
    async def _check_origin(self, request: web.Request, handler):  # type: ignore[no-untyped-def]
        # Websockets and posts change state: they must say where they come from.
        required = request.method != "GET" or request.path == "/ws"
        refusal = self.guard.refusal(request.host, request.headers.get("Origin"), origin_required=required)
        if refusal:
            log.warning("refused %s %s: %s", request.method, request.path, refusal)
            return web.Response(status=403, text=f"docker-tutor: {refusal}\n")
        try:
            return await handler(request)
        except JoinRefused:
            raise
        except UsageError as exc:  # the class list became unreadable while serving: said, not a traceback
            log.error("%s %s: %s", request.method, request.path, exc.message)
            # Which file and why is the instructor's to read, in the server's log: not shown to the class.
            page = pages.refusal_page(
                "The class list cannot be read", "Tell your instructor: the server's log says which file and why."
            )
            return web.Response(status=503, text=page, content_type="text/html")

    # --- learners -------------------------------------------------------------------------------
    def _learner(self, request: web.Request) -> Learner | None:
        return self.roster.by_token(request.cookies.get(COOKIE))

    def _signed_in(self, learner: Learner) -> web.Response:
        response = web.HTTPSeeOther("/")
        response.set_cookie(
            COOKIE, learner.token, max_age=COOKIE_DAYS * 86400, httponly=True, samesite="Strict",
            secure=self.secure_cookie, path="/",
        )
        return response

    async def index(self, request: web.Request) -> web.StreamResponse:
        learner = self._learner(request)
        if learner is None:
            return web.Response(text=pages.join_page(), content_type="text/html")
        refusal = self._tab_refusal(learner)
        if refusal:
            return web.Response(status=503, text=pages.refusal_page("Not now", refusal), content_type="text/html")
        scheme = "wss" if request.secure or self.secure_cookie else "ws"
        context = {
            "font_size": 16,
            "app_websocket_url": f"{scheme}://{request.host}/ws",
            "config": {"static": {"url": "/static/"}},
            "application": {"name": f"docker-tutor: {learner.name}"},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def join(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        name, code = str(form.get("name", "")), str(form.get("code", ""))
        key, now = client_key(request.remote), time.monotonic()
        wait = self.join_rate.wait(key, now)
        if wait:
            log.warning("refused a join from %s: over the join rate", key)
            page = pages.join_page(
                f"Too many new names from your network address just now ({self.limits.joins_at_once} at once, then "
                f"{self.limits.joins_per_minute:g} a minute): try again in {plural(int(wait), 'second')}",
                "If your whole class shares one address, the instructor can allow more: "
                "docker-tutor serve --joins-at-once N --joins-per-minute M",
                name[:40], code[:80],
            )
            return web.Response(status=429, text=page, content_type="text/html", headers={"Retry-After": str(int(wait))})
        if not self.class_code.matches(code):
            self.join_rate.take(key, now)  # a guess costs a join: the code cannot be tried at speed
            log.warning("refused a join from %s: %s class code", key, "no" if not code.strip() else "a wrong")
            error = "Give the class code to join" if not code.strip() else "That is not this class's code"
            page = pages.join_page(error, "Your instructor has it (on the board, or in the invitation).", name[:40])
            return web.Response(status=403, text=page, content_type="text/html")
        try:
            learner = self.roster.join(name)
        except JoinRefused as exc:
            page = pages.join_page(exc.message, exc.hint or "", name[:40], code[:80])
            return web.Response(status=409, text=page, content_type="text/html")
        self.join_rate.take(key, now)
        log.info("joined: %s (%s)", learner.name, learner.folder)
        return self._signed_in(learner)

    async def join_link(self, request: web.Request) -> web.StreamResponse:
        learner = self.roster.by_token(request.match_info["token"])
        if learner is None:
            page = pages.refusal_page("Unknown link", "This personal link is not part of this class. Ask your instructor.")
            return web.Response(status=404, text=page, content_type="text/html")
        return self._signed_in(learner)

    # --- tabs -----------------------------------------------------------------------------------
    def _tab_refusal(self, learner: Learner) -> str:
        if len(self.tabs) >= self.limits.max_processes:
            return (
                f"The class server is full: {plural(self.limits.max_processes, 'tutor')} running. Try again in a minute, "
                "or ask the instructor (docker-tutor serve --max-processes N)."
            )
        own = sum(tab.learner.folder == learner.folder for tab in self.tabs)
        if own >= self.limits.max_tabs:
            return f"You have {plural(own, 'tab')} open already (at most {self.limits.max_tabs}). Close one, then reload this page."
        return ""

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        learner = self._learner(request)
        refusal = "Reload the page and give your name." if learner is None else self._tab_refusal(learner)
        if learner is None or refusal:
            await websocket.send_bytes(f"\r\n  docker-tutor: {refusal}\r\n".encode())
            await websocket.close()
            return websocket
        async with self._placing:  # two tabs opening at once must see each other's engine
            engine = await self._engine_for(learner)
            # The tab finds its engine as a single --engine is found (a context name or a URL).
            prefix = ["env", f"{ENGINE_VARIABLE}={engine}", f"{CLASS_TAB_VARIABLE}=1"] if engine else []
            command = shlex.join([*prefix, *self.tutor_command, "--session", str(learner.session(self.sessions))])
            service = AppService(
                command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.downloads,
            )
            tab = Tab(learner, websocket, service, engine=engine)
            self.tabs.append(tab)
        try:
            await service.start(_size(request, "width", 80), _size(request, "height", 24))
            await self._relay(tab)
        except asyncio.CancelledError:
            pass
        except Exception:  # one tab's failure must not take the class down
            log.exception("tab of %s failed", learner.name)
        finally:
            self.tabs.remove(tab)
            await _stop(service)
            with contextlib.suppress(Exception):
                await websocket.close()
        return websocket

    async def _engine_for(self, learner: Learner) -> str:
        """The engine for a new tab: the learner's other tabs' engine while it answers, else the
        answering engine with the fewest tabs. An engine that does not answer gets no new tab, so a
        learner whose engine stopped is moved to another by reloading the page."""
        if not self.engines:
            return ""
        own = next((t.engine for t in self.tabs if t.learner.folder == learner.folder), "")
        load = {url: sum(t.engine == url for t in self.tabs) for url in self.engines}
        for url in sorted(self.engines, key=lambda u: (u != own, load[u])):
            if await self._answers(url):
                return url
        return own or self.engines[0]  # none answers: the tutor's doctor screen will say so

    async def _answers(self, engine: str) -> bool:
        answers = await asyncio.get_running_loop().run_in_executor(None, _answers, engine)
        if answers:
            self.lost_engines.pop(engine, None)
        elif engine not in self.lost_engines:
            self.lost_engines[engine] = time.time()
            log.warning("engine %s stopped answering: new tabs go to the others", engine)
        return answers

    async def _relay(self, tab: Tab) -> None:
        async for message in tab.websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                kind, data = message.json()
            except (ValueError, TypeError):
                continue
            if kind == "stdin" and isinstance(data, str):
                tab.last_active = self.last_active[tab.learner.folder] = time.time()
                await tab.service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await tab.service.set_terminal_size(_int(data.get("width"), 80), _int(data.get("height"), 24))
            elif kind == "ping":
                await tab.websocket.send_json(["pong", data])
            elif kind == "blur":
                await tab.service.blur()
            elif kind == "focus":
                await tab.service.focus()

    async def download(self, request: web.Request) -> web.StreamResponse:
        try:
            meta = await self.downloads.get_download_metadata(request.match_info["key"])
        except KeyError:
            raise web.HTTPNotFound() from None
        response = web.StreamResponse()
        response.headers["Content-Type"] = meta.mime_type + (f"; charset={meta.encoding}" if meta.encoding else "")
        disposition = "inline" if meta.open_method == "browser" else "attachment"
        response.headers["Content-Disposition"] = f"{disposition}; filename={meta.file_name}"
        await response.prepare(request)
        async for chunk in self.downloads.download(request.match_info["key"]):
            await response.write(chunk)
        await response.write_eof()
        return response

    # --- idle tabs ------------------------------------------------------------------------------
    async def _start_reaper(self, _app: web.Application) -> None:
        self._reaper = asyncio.create_task(self._reap_forever())

    async def _reap_forever(self) -> None:
        idle = self.limits.idle_minutes * 60
        while True:
            await asyncio.sleep(max(1.0, min(30.0, idle / 4)))
            now = time.time()
            for tab in [t for t in self.tabs if now - t.last_active > idle]:
                log.info("closing an idle tab of %s (its work is kept)", tab.learner.name)
                with contextlib.suppress(Exception):
                    await tab.websocket.close()

    async def _shutdown(self, _app: web.Application) -> None:
        if self._reaper:
            self._reaper.cancel()
        for tab in list(self.tabs):
            with contextlib.suppress(Exception):
                await tab.websocket.close()

    # --- the instructor -------------------------------------------------------------------------
    def _is_instructor(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            _, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return secrets.compare_digest(password.encode(), self.password.encode())

    def _challenge(self) -> web.Response:
        return web.Response(
            status=401, text="docker-tutor: the instructor's password is needed\n",
            headers={"WWW-Authenticate": 'Basic realm="docker-tutor instructor", charset="UTF-8"'},
        )

    async def instructor(self, request: web.Request) -> web.StreamResponse:
        if not self._is_instructor(request):
            return self._challenge()
        rows = []
        for learner in self.roster.learners():
            data = Progress(learner.session(self.sessions) / "data" / "progress.json").load()
            exercises = data["exercises"].values()
            last = data.get("last") or {}
            rows.append(
                pages.LearnerRow(
                    name=learner.name,
                    link=f"{request.scheme}://{request.host}/join/{learner.token}",
                    tabs=sum(t.learner.folder == learner.folder for t in self.tabs),
                    last_active=self.last_active.get(learner.folder),
                    passed=sum(e.get("status") == "passed" for e in exercises),
                    attempted=sum(e.get("attempts", 0) > 0 for e in exercises),
                    lessons_read=len(data["lessons"]),
                    current=str(last.get("exercise") or last.get("lesson") or "-"),
                )
            )
        limits = (
            f"{plural(self.limits.max_learners, 'learner')}, {plural(self.limits.max_processes, 'tab')} in all, "
            f"{self.limits.max_tabs} per learner, idle tabs closed after {self.limits.idle_minutes:g} min, "
            f"new names from one address {self.limits.joins_at_once} at once then {self.limits.joins_per_minute:g} a minute"
        )
        if self.engines:
            limits += "; tabs per engine: " + ", ".join(
                f"{u} {sum(t.engine == u for t in self.tabs)}" + (" (not answering)" if u in self.lost_engines else "")
                for u in self.engines
            )
        return web.Response(text=pages.instructor_page(rows, self.exercises, limits, self.class_code.value), content_type="text/html")

    async def export(self, request: web.Request) -> web.StreamResponse:
        if not self._is_instructor(request):
            return self._challenge()
        learners = [
            export(Progress(learner.session(self.sessions) / "data" / "progress.json").load(), learner.name)
            for learner in self.roster.learners()
        ]
        return web.json_response(
            learners, dumps=_pretty, headers={"Content-Disposition": "attachment; filename=class-progress.json"}
        )

    async def add_learners(self, request: web.Request) -> web.StreamResponse:
        if not self._is_instructor(request):
            return self._challenge()
        form = await request.post()
        problems = []
        for line in str(form.get("names", "")).splitlines():
            if line.strip():
                try:
                    self.roster.join(line)
                except JoinRefused as exc:
                    problems.append(f"{line.strip()}: {exc.message}")
        if problems:
            return web.Response(
                status=409, text=pages.refusal_page("Some links were not made", "; ".join(problems)), content_type="text/html"
            )
        raise web.HTTPSeeOther("/instructor")


def _answers(engine: str) -> bool:
    from tutor.engine.dockerhost import connect

    try:
        host = connect(timeout=3, named=named_engine(engine, "serve --engine"))
        try:
            host.ping()
        finally:
            host.client.close()
    except Exception:  # noqa: BLE001 - any failure means: not this engine now
        return False
    return True


def _pretty(value: object) -> str:
    import json

    return json.dumps(value, indent=2)


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and 0 < value < 10_000 else default


def _size(request: web.Request, name: str, default: int) -> int:
    try:
        return _int(int(request.query.get(name, "")), default)
    except ValueError:
        return default


async def _stop(service: AppService) -> None:
    """Ask the tutor to quit; kill it if it does not (a process must never outlive its tab)."""
    try:
        await asyncio.wait_for(service.stop(), STOP_SECONDS)
    except Exception:  # a timeout, or a process already gone: make sure it is gone
        process = service._process  # textual-serve keeps it private; killing is the only way left
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
