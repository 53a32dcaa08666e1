"""Several engines for one class: each submission goes to the healthy engine with the least work,
and an engine that stops answering is dropped and its submission graded again elsewhere."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from tutor.engine.discovery import EngineChoice, named_engine
from tutor.engine.dockerhost import DockerHost, connect
from tutor.errors import EngineUnavailable


def class_engines(values: list[str], command: str) -> list[EngineChoice]:
    """Each --engine value found as a single --engine is (a context name, unix://, tcp:// with TLS,
    ssh://), all before any work starts: a typo stops the class at once, not halfway through."""
    return [named_engine(value, f"{command} --engine {value}") for value in values]


def connector(choice: EngineChoice | None) -> Callable[[], DockerHost]:
    """A connect() for one of the class's engines, or the default engine for None."""
    if choice is None:
        return connect

    def connect_named() -> DockerHost:
        try:
            return connect(timeout=60, named=choice)
        except EngineUnavailable as exc:
            where = choice.url if choice.context else ""
            raise EngineUnavailable(
                f"no engine answers at {choice.context or choice.url}" + (f" ({where})" if where else ""), hint=exc.hint
            ) from exc

    return connect_named


@dataclass
class Engine:
    name: str
    connect: Callable[[], DockerHost]
    host: DockerHost | None = None
    busy: int = 0
    graded: int = 0
    seconds: float = 0.0
    dropped: str = ""  # why it is no longer used


def engine_name(host: DockerHost) -> str:
    """How an instructor names the engine a host reached: its docker context, else its URL."""
    context = host.choice.context
    return context if context and context != "default" else host.choice.url


def identity(host: DockerHost) -> tuple[str, str, str]:
    """Who the engine is, by GET /info: its ID, its machine's name and its data root. The ID alone
    is not enough: engines started on one machine share the key it derives from, not a data root."""
    try:
        info = host.info()
    except EngineUnavailable:
        return ("", "", "")
    return (str(info.get("ID") or ""), str(info.get("Name") or ""), str(info.get("DockerRootDir") or ""))


class EnginePool:
    def __init__(self, engines: list[Engine], warn: Callable[[str], None] = lambda _: None) -> None:
        self.engines = engines
        self.warn = warn
        self._lock = threading.Condition()

    def start(self) -> None:
        if len(self.engines) == 1:  # one engine: its own error, word for word
            engine = self.engines[0]
            engine.host = engine.connect()
            engine.name = engine.name or engine_name(engine.host)
            return
        for engine in self.engines:
            try:
                engine.host = engine.connect()
            except EngineUnavailable as exc:
                engine.dropped = exc.message
        if not self.healthy():
            reasons = "; ".join(f"{e.name}: {e.dropped}" for e in self.engines)
            raise EngineUnavailable(f"no engine answers ({reasons})")
        self._use_each_engine_once()

    def _use_each_engine_once(self) -> None:
        """Two names of one engine (a context and the socket it points to) would count its capacity
        twice and split its load as if it were two: the engine is kept once, under its first name."""
        first: dict[tuple[str, str, str], Engine] = {}
        for engine in self.healthy():
            assert engine.host is not None
            key = identity(engine.host)
            if not key[0]:
                continue  # an engine that does not say its ID cannot be told apart: kept as named
            if key in first:
                self.engines.remove(engine)
                self.warn(
                    f"--engine {first[key].name} and --engine {engine.name} are the same engine (ID {key[0][:12]}, "
                    f"name {key[1] or '?'}): it grades as one engine, named {first[key].name}"
                )
            else:
                first[key] = engine

    def healthy(self) -> list[Engine]:
        return [e for e in self.engines if not e.dropped]

    def acquire(self) -> Engine:
        with self._lock:
            healthy = self.healthy()
            if not healthy:
                raise EngineUnavailable("every engine stopped answering")
            engine = min(healthy, key=lambda e: (e.busy, e.graded))
            engine.busy += 1
            return engine

    def release(self, engine: Engine, seconds: float, graded: bool) -> None:
        with self._lock:
            engine.busy -= 1
            if graded:
                engine.graded += 1
                engine.seconds += seconds

    def answers(self, engine: Engine) -> bool:
        """Ask the engine now; one that does not answer is dropped for the rest of the class."""
        try:
            assert engine.host is not None
            engine.host.ping()
            return True
        except EngineUnavailable as exc:
            self.drop(engine, exc.message)
            return False
        except Exception as exc:  # noqa: BLE001 - whatever the client raises, the engine is gone
            self.drop(engine, str(exc))
            return False

    def drop(self, engine: Engine, why: str) -> None:
        with self._lock:
            engine.dropped = engine.dropped or why

    def summary(self) -> list[str]:
        lines = []
        for e in self.engines:
            average = f", {e.seconds / e.graded:.1f} s each" if e.graded else ""
            state = f"; dropped: {e.dropped} (lost; its work was graded on the others)" if e.dropped else ""
            lines.append(f"{e.name}: {e.graded} graded{average}{state}")
        return lines
