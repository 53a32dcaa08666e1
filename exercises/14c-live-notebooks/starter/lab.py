"""A stand-in for JupyterLab's server (no registry here): the same flags, token and contents API.

    python lab.py --ip 0.0.0.0 --port 8888 --notebook-dir /home/app/work

Like Jupyter, it listens on localhost unless told otherwise, takes its token from --token or
JUPYTER_TOKEN (or makes one up and prints it), and lists the notebook folder at /api/contents.
"""

import argparse
import json
import os
import secrets
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

parser = argparse.ArgumentParser()
parser.add_argument("--ip", default="localhost")
parser.add_argument("--port", type=int, default=8888)
parser.add_argument("--notebook-dir", default=".")
parser.add_argument("--token", default=None, help="as --IdentityProvider.token: an empty one switches login off")
args = parser.parse_args()
TOKEN = args.token if args.token is not None else os.environ.get("JUPYTER_TOKEN") or secrets.token_hex(24)
ROOT = Path(args.notebook_dir)


class Lab(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        given = parse_qs(url.query).get("token", [""])[0] or self.headers.get("Authorization", "").removeprefix("token ")
        if TOKEN and given != TOKEN:
            self.answer(403, {"message": "Forbidden: a valid token is required"})
        elif url.path == "/api/contents":
            items = [
                {"name": p.name, "type": "notebook" if p.suffix == ".ipynb" else "file", "owner_uid": p.stat().st_uid}
                for p in sorted(ROOT.iterdir())
            ] if ROOT.is_dir() else []
            self.answer(200, {"path": str(ROOT), "server_uid": os.getuid(), "content": items})
        else:
            self.answer(404, {"message": "not found"})

    def answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print(f"lab: serving {ROOT} at http://{args.ip}:{args.port}/lab?token={TOKEN}", flush=True)
ThreadingHTTPServer((args.ip, args.port), Lab).serve_forever()
