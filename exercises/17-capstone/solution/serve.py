"""Serve the trained model: GET /health, POST /predict with {"x": 1.5}.

    python serve.py --host 0.0.0.0 --port 8000 --model model.json
"""

import argparse
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import tinyml

MODEL = tinyml.LinearModel()


class Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200, {"status": "ok"})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/predict":
            self._send(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length", 0))
        try:
            x = float(json.loads(self.rfile.read(length))["x"])
        except (ValueError, KeyError, TypeError):
            self._send(400, {"error": 'send JSON like {"x": 1.5}'})
            return
        self._send(200, {"prediction": round(MODEL.predict(x), 1)})

    def log_message(self, format: str, *args: object) -> None:
        print(f"{self.address_string()} {format % args}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model", default="model.json")
    args = parser.parse_args()
    with open(args.model) as handle:
        weights = json.load(handle)
    MODEL.w, MODEL.b = weights["w"], weights["b"]
    # docker stop sends SIGTERM: exit cleanly instead of waiting to be killed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"model w={MODEL.w} b={MODEL.b}; serving on {args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
