"""Score a few inputs with a tiny linear model and print the results."""

WEIGHTS = {"w": 3.0, "b": 2.0}

for x in (0.5, 1.0, 2.5):
    print(f"x={x} prediction={WEIGHTS['w'] * x + WEIGHTS['b']:.2f}")
