"""Train the model: fit y = w*x + b to data/points.csv and save the weights as JSON.

    python train.py --data data/points.csv --out model.json
"""

import argparse
import csv
import json

import tinyml


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/points.csv")
    parser.add_argument("--out", default="model.json")
    args = parser.parse_args()
    with open(args.data, newline="") as handle:
        rows = list(csv.DictReader(handle))
    xs = [float(row["x"]) for row in rows]
    ys = [float(row["y"]) for row in rows]
    model = tinyml.LinearModel().fit(xs, ys, epochs=2000, lr=0.02)
    loss = sum((model.predict(x) - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
    with open(args.out, "w") as handle:
        json.dump({"w": round(model.w, 4), "b": round(model.b, 4), "loss": round(loss, 5)}, handle)
    print(f"trained on {len(xs)} points: w={model.w:.3f} b={model.b:.3f} loss={loss:.4f} -> {args.out}")


if __name__ == "__main__":
    main()
