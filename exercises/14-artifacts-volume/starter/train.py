"""Fit y = w*x + b and save the model to the artifacts folder (/data by default).

Data in:   /datasets/points.csv if a dataset is mounted there (x,y rows), else synthetic points.
Model out: /data/model.json, plus one line per run in /data/runs.log, so a volume mounted
           at /data keeps every run's result after the container is gone.
"""

import csv
import json
import os
import random
import sys
from pathlib import Path

DATASET = Path(os.environ.get("DATASET", "/datasets/points.csv"))
OUTPUT = Path(os.environ.get("OUTPUT", "/data"))


def load_points() -> list[tuple[float, float]]:
    if DATASET.is_file():
        with DATASET.open(newline="") as handle:
            points = [(float(row["x"]), float(row["y"])) for row in csv.DictReader(handle)]
        print(f"read {len(points)} points from {DATASET}", flush=True)
        return points
    random.seed(0)
    print(f"no dataset mounted at {DATASET.parent}: using 50 synthetic points", flush=True)
    return [(x / 10, 3 * (x / 10) + 2 + random.uniform(-0.1, 0.1)) for x in range(50)]


def main() -> int:
    points = load_points()
    w = b = 0.0
    for _ in range(300):
        grad_w = sum(2 * (w * x + b - y) * x for x, y in points) / len(points)
        grad_b = sum(2 * (w * x + b - y) for x, y in points) / len(points)
        w, b = w - 0.05 * grad_w, b - 0.05 * grad_b
    loss = sum((w * x + b - y) ** 2 for x, y in points) / len(points)

    runs = OUTPUT / "runs.log"
    previous = runs.read_text().count("\n") if runs.exists() else 0
    try:
        OUTPUT.mkdir(exist_ok=True)
        (OUTPUT / "model.json").write_text(json.dumps({"w": w, "b": b, "loss": loss}))
        with runs.open("a") as handle:
            handle.write(f"run {previous + 1}: w={w:.3f} b={b:.3f} loss={loss:.5f}\n")
    except OSError as exc:
        print(f"error: cannot write to {OUTPUT} as uid {os.getuid()}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"uid={os.getuid()} saved model to {OUTPUT / 'model.json'} (run {previous + 1}, loss={loss:.4f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
