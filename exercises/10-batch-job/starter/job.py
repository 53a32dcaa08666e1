"""Score a CSV of inputs with a tiny linear model: a batch job, as a scheduler would run it.

Exit codes: 0 done, 2 bad input (missing file or a row that is not a number).
"""

import csv
import os
import sys

WEIGHTS = {"w": 3.0, "b": 2.0}
LOG_FILE = "job.log"


def log(message: str) -> None:
    # TODO: inside a container nobody reads this file: print to stdout instead.
    with open(LOG_FILE, "a") as handle:
        handle.write(message + "\n")


def fail(message: str) -> int:
    # TODO: errors belong on stderr, and the exit code must say that the input was bad (2).
    log(f"error: {message}")
    return 0


def main() -> int:
    path = os.environ.get("INPUT", "data/inputs.csv")
    log(f"reading {path}")
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        return fail(f"cannot read {path}: {exc.strerror}")
    predictions = []
    for number, row in enumerate(rows, start=1):
        try:
            x = float(row["x"])
        except ValueError:
            return fail(f"row {number}: {row['x']!r} is not a number")
        predictions.append(WEIGHTS["w"] * x + WEIGHTS["b"])
        log(f"row {number}: x={x} -> {predictions[-1]:.2f}")
    log(f"scored {len(predictions)} rows, mean prediction {sum(predictions) / len(predictions):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
