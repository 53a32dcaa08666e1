"""Reduce the raw dump to the small table the model trains on (from a sample of its first lines).

Usage: python prepare.py RAW_FOLDER OUTPUT_CSV
"""

import os
import sys

raw, output = sys.argv[1], sys.argv[2]
sums = [0] * 101
counts = [0] * 101
with open(os.path.join(raw, "dump.csv"), "rb") as dump:
    for number, line in enumerate(dump):
        if number == 50_000:
            break
        x, y = line.split(b",")
        key = int(y)
        sums[key] += int(x) % 1000
        counts[key] += 1
with open(output, "w") as out:
    out.write("y,mean_x\n")
    for key in range(101):
        if counts[key]:
            out.write(f"{key},{sums[key] / counts[key]:.3f}\n")
print(f"wrote {output}")
