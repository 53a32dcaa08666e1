"""Predict with settings from the environment; the API token must come from outside the image."""

import os
import sys

version = os.environ.get("MODEL_VERSION", "unknown")
threshold = float(os.environ.get("THRESHOLD", "0.5"))
token = os.environ.get("API_TOKEN", "")
if not token:
    print("API_TOKEN is not set: pass it when you start the container, docker run -e API_TOKEN=...")
    sys.exit(2)

w, b = 3.0, 2.0
x = 1.5
score = w * x + b
print(f"model {version}, threshold {threshold}")
print(f"token: set ({len(token)} characters, not printed)")
print(f"x={x} prediction={score:.2f} positive={score / 10 > threshold}")
