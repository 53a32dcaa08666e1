"""A tokenizer service: fastjson (a compiled package, one wheel per CPU architecture) encodes its answers."""

import platform

import fastjson

print(fastjson.dumps({"machine": platform.machine(), "ready": True}))
