"""Fit a tiny model with tinyml (installed from the wheelhouse) and predict y for x (X, 4.0 by default)."""

import os
import sys

import tinyml

model = tinyml.LinearModel().fit([0.0, 1.0, 2.0, 3.0], [2.0, 5.0, 8.0, 11.0])
x = float(os.environ.get("X", "4.0"))
print(f"python {sys.prefix}, tinyml {tinyml.__version__}")
print(f"prediction for x={x}: {model.predict(x):.2f}")
