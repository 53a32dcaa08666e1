"""Stand-in for downloading a raw dataset dump: writes 150 MB of records to a folder, no network needed.

Usage: python download.py FOLDER
"""

import os
import sys

folder = sys.argv[1]
os.makedirs(folder, exist_ok=True)
record = b"".join(b"%d,%d\n" % (i, (i * 37) % 101) for i in range(1000))  # about 8 KB of "x,y" lines
target = 150_000_000
with open(os.path.join(folder, "dump.csv"), "wb") as out:
    written = 0
    while written < target:
        out.write(record)
        written += len(record)
print(f"downloaded {written / 1e6:.0f} MB to {folder}/dump.csv")
