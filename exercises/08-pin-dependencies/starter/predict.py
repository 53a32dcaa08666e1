"""Fit the training points with tinyfit 1.x and predict y for x = 1.5."""

import random

import tinyfit

random.seed(0)
points = [(x / 10, 3 * (x / 10) + 2 + random.uniform(-0.1, 0.1)) for x in range(50)]
w, b, mse = tinyfit.fit_line(points)  # the 1.x API; 2.0.0 removed fit_line
print(f"tinyfit {tinyfit.__version__}: x=1.5 prediction={w * 1.5 + b:.1f}")
