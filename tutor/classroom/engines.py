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


class EnginePool:
    def __init__(self, engines: list[Engine]) -> None:
        self.engines = engines
        self._lock = threading.Condition()

    def start(self) -> None:
        if len(self.engines) == 1:  # one engine: its own error, word for word
            self.engines[0].host = self.engines[0].connect()
            return
        for engine in self.engines:
            try:
                engine.host = engine.connect()
            except EngineUnavailable as exc:
                engine.dropped = exc.message
        if not self.healthy():
            reasons = "; ".join(f"{e.name}: {e.dropped}" for e in self.engines)
            raise EngineUnavailable(f"no engine answers ({reasons})")

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
