"""Fit a tiny model with tinyml (installed from the wheelhouse) and make one prediction."""

import sys

import tinyml

model = tinyml.LinearModel().fit([0.0, 1.0, 2.0, 3.0], [2.0, 5.0, 8.0, 11.0])
print(f"python {sys.prefix}, tinyml {tinyml.__version__}")
print(f"prediction for x=4.0: {model.predict(4.0):.2f}")
