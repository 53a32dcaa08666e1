"""Score a batch of inputs and save the predictions to /app/artifacts, as a batch job would."""

import json
import os
from pathlib import Path

weights = {"w": 3.0, "b": 2.0}
# The inputs to score: BATCH="0.5,1.0,2.5" by default, as a scheduler would pass them.
batch = [float(x) for x in os.environ.get("BATCH", "0.5,1.0,2.5").split(",")]
predictions = [weights["w"] * x + weights["b"] for x in batch]
out = Path("/app/artifacts")
out.mkdir(exist_ok=True)
(out / "predictions.json").write_text(json.dumps(predictions))
print(f"uid={os.getuid()} saved {len(predictions)} predictions to {out}")
