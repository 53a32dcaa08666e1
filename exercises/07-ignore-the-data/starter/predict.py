"""Serve predictions from the trained parameters in model.json: the only artifact the image needs."""

import json
import sys

with open("model.json") as handle:
    model = json.load(handle)
xs = [float(a) for a in sys.argv[1:]] or [1.5]
for x in xs:
    print(f"x={x} prediction={model['w'] * x + model['b']:.2f}")
