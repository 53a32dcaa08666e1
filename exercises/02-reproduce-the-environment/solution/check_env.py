"""A colleague's environment check: the training code only runs where all of these hold."""

import csv
import os
import sys

problems = []


def check(label, ok, fix):
    print(f"{'ok  ' if ok else 'FAIL'} {label}")
    if not ok:
        problems.append(fix)


version = ".".join(map(str, sys.version_info[:2]))
check(f"python {version}", version == "3.11", "use a Python 3.11 base image")

try:
    import sqlite3  # a wrapper around the system library libsqlite3

    check(f"sqlite3 {sqlite3.sqlite_version} (system library)", True, "")
except ImportError:
    check("sqlite3 (system library)", False, "the system library libsqlite3 is missing")

data_dir = os.environ.get("DATA_DIR")
check(f"DATA_DIR={data_dir}", data_dir == "/data", "set ENV DATA_DIR=/data")
seed = os.environ.get("SEED")
check(f"SEED={seed}", seed == "42", "set ENV SEED=42")

path = os.path.join(data_dir or "/data", "points.csv")
if os.path.isfile(path):
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    check(f"{path}: {len(rows)} rows", len(rows) == 20, f"{path} should have 20 rows")
else:
    check(f"{path} exists", False, f"copy data/points.csv to {path}")

if problems:
    print("works on my machine, not here:", "; ".join(problems))
    sys.exit(1)
print("environment reproduced")
