"""An unexpected error in a background task: kept in a file and told to the learner, never a closed app."""

from __future__ import annotations

import time
import traceback
from pathlib import Path

from tutor import __version__, locations


def record_crash(where: str, error: BaseException) -> Path | None:
    """Write the traceback where the learner can find and send it; None when even that fails."""
    folder = locations.data_dir() / "crash-reports"
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{where}.txt"
    details = "".join(traceback.format_exception(error))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(f"docker-tutor {__version__}, while: {where}\n\n{details}", encoding="utf-8")
    except OSError:
        return None
    return path


def crash_message(where: str, error: BaseException) -> str:
    """What the learner reads: it is our bug, their work is safe, and how to report it."""
    path = record_crash(where, error)
    kept = f"The details are in {path}." if path else "The details could not be saved."
    return (
        f"docker-tutor hit an unexpected error while {where} ({type(error).__name__}: {error}). "
        f"This is a bug in the tutor, not in your files, which are saved. {kept} "
        "Please report it to the docker-tutor project with that file; meanwhile try again or restart the tutor."
    )
