"""Fit the training points with tinyfit 1.x and predict y for x (X in the environment, 1.5 by default)."""

import os
import random

import tinyfit

random.seed(0)
points = [(x / 10, 3 * (x / 10) + 2 + random.uniform(-0.1, 0.1)) for x in range(50)]
w, b, mse = tinyfit.fit_line(points)  # the 1.x API; 2.0.0 removed fit_line
x = float(os.environ.get("X", "1.5"))
print(f"tinyfit {tinyfit.__version__}: x={x} prediction={w * x + b:.1f}")
