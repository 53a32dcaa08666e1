"""Fit a line with the tinyfit package (installed from requirements.txt) and predict y for x (X, 1.5 by default)."""

import os
import random

import tinyfit

random.seed(0)
points = [(x / 10, 3 * (x / 10) + 2 + random.uniform(-0.1, 0.1)) for x in range(50)]
w, b, mse = tinyfit.fit_line(points)
print(f"tinyfit {tinyfit.__version__}: w={w:.2f} b={b:.2f} mse={mse:.4f}")
x = float(os.environ.get("X", "1.5"))
print(f"x={x} prediction={w * x + b:.1f}")
print("training complete")
