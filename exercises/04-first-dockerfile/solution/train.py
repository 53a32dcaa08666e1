"""Fit y = 3x + 2 with plain gradient descent: a training script with no dependencies."""

import os
import random

random.seed(0)
points = [(x / 10, 3 * (x / 10) + 2 + random.uniform(-0.1, 0.1)) for x in range(50)]
if os.environ.get("DATA"):  # another dataset: a CSV file of x,y rows under a header
    with open(os.environ["DATA"]) as handle:
        points = [tuple(map(float, row.split(","))) for row in handle.read().split()[1:]]
epochs = int(os.environ.get("EPOCHS", "200"))
w, b, rate = 0.0, 0.0, 0.05
for _ in range(epochs):
    grad_w = sum(2 * (w * x + b - y) * x for x, y in points) / len(points)
    grad_b = sum(2 * (w * x + b - y) for x, y in points) / len(points)
    w, b = w - rate * grad_w, b - rate * grad_b
loss = sum((w * x + b - y) ** 2 for x, y in points) / len(points)
print(f"epochs={epochs} w={w:.2f} b={b:.2f} loss={loss:.4f}")
print("training complete")
