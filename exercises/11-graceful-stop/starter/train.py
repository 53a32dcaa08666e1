"""Train for a number of epochs, saving a checkpoint after each one.

    python train.py --epochs 3

TODO: docker stop sends SIGTERM. As PID 1, Python ignores it unless the program installs a
handler, so docker stop waits 10 seconds and then kills the job mid-write. Install one in main().
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

    # TODO: install request_stop as the handler of SIGTERM (signal.signal).

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
