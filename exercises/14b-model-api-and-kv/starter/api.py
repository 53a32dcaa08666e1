"""A model API that keeps its prediction count in a key-value store (redis in real life).

It reads where the store is from KV_HOST and KV_PORT, connects once at start-up (as an app
loading its feature cache would) and gives up if the store does not answer.
"""

import json
import os
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KV = (os.environ.get("KV_HOST", "localhost"), int(os.environ.get("KV_PORT", "6379")))


def kv(command: str) -> str:
    with socket.create_connection(KV, timeout=3) as conn:
        conn.sendall(command.encode() + b"\n")
        return conn.makefile().readline().strip()


class Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            self.answer(200, {"status": "ok", "kv": kv("PING")})
        else:
            self.answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/predict":
            self.answer(404, {"error": "not found"})
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        count = int(kv("INCR predictions").lstrip(":"))
        self.answer(200, {"prediction": 3.0 * float(body.get("x", 0.0)) + 2.0, "predictions_served": count})

    def answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    host, port = KV
    try:
        print(f"api: kv says {kv('PING')} at {host}:{port}", flush=True)
    except OSError as exc:
        print(f"api: cannot reach the key-value store at {host}:{port}: {exc}", flush=True)
        sys.exit(1)
    print("api: serving on 0.0.0.0:8000", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8000), Api).serve_forever()


if __name__ == "__main__":
    main()
