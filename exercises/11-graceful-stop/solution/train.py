"""Train for a number of epochs, saving a checkpoint after each one.

    python train.py --epochs 3

docker stop sends SIGTERM: the handler below lets the current step finish, saves a checkpoint
and exits 0, instead of being killed mid-write ten seconds later.
"""

import argparse
import json
import signal
import sys
import time
from pathlib import Path

STEPS_PER_EPOCH = 20
STEP_SECONDS = 0.1
CHECKPOINT = Path("checkpoint.json")

stop_requested = False


def request_stop(signum: int, frame: object) -> None:
    global stop_requested
    stop_requested = True
    print(f"received {signal.Signals(signum).name}: stopping after this step", flush=True)


def save_checkpoint(epoch: int, weight: float) -> None:
    CHECKPOINT.write_text(json.dumps({"epoch": epoch, "w": weight}))
    print(f"saved checkpoint at epoch {epoch}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()

    # Python as PID 1 ignores SIGTERM unless it installs a handler: install one.
    signal.signal(signal.SIGTERM, request_stop)

    w = 0.0
    for epoch in range(1, args.epochs + 1):
        for _ in range(STEPS_PER_EPOCH):
            w += args.lr * (3.0 - w)  # one step of "training" towards w = 3
            time.sleep(STEP_SECONDS)
            if stop_requested:
                save_checkpoint(epoch, w)
                return 0
        print(f"epoch {epoch}/{args.epochs} w={w:.3f}", flush=True)
        save_checkpoint(epoch, w)
    print("training complete", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
