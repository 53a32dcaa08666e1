"""A training job configured the way containers are: environment variables and arguments."""

import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
epochs = int(os.environ.get("EPOCHS", "1"))
rate = float(os.environ.get("LEARNING_RATE", "0.01"))
print(f"epochs={epochs} learning_rate={rate} seed={args.seed}")
print("training complete")
