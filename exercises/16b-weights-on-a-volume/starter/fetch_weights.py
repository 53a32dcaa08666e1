"""Download the model's weights into the model-hub cache, as huggingface_hub does.

A stand-in for `huggingface_hub.snapshot_download` (no network here): it writes 40 MB of
weights under $HF_HOME (default ~/.cache/huggingface) and does nothing if they are there.
"""

import os
import random
from pathlib import Path

SIZE_MB = 40


def weights_path() -> Path:
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    return home / "hub" / "models--acme--tiny-classifier" / "model.safetensors"


def fetch() -> Path:
    path = weights_path()
    if path.exists():
        print(f"weights found in the cache: {path}", flush=True)
        return path
    print(f"downloading {SIZE_MB} MB of weights to {path} ...", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(42).randbytes(SIZE_MB * 2**20))
    return path


if __name__ == "__main__":
    fetch()
