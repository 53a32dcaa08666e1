"""A tiny key-value store that speaks a few words of the Redis protocol's inline form.

It stands in for redis in this exercise (no registry needed): PING, GET key, SET key value,
INCR key, one command per line. Like redis loading a large snapshot, it takes a moment to start
listening, and it keeps its data in /data so a volume can outlive the container.
"""

import json
import os
import signal
import socket
import socketserver
import sys
import time

PORT = 6379
DUMP = "/data/dump.json"


def ping() -> int:
    """`python kv.py --ping`: exit 0 if the store answers PONG (what redis-cli ping does)."""
    try:
        with socket.create_connection(("localhost", PORT), timeout=1) as conn:
            conn.sendall(b"PING\n")
            return 0 if conn.recv(16).startswith(b"+PONG") else 1
    except OSError:
        return 1


class Store(socketserver.StreamRequestHandler):
    data: dict[str, str] = {}

    def handle(self) -> None:
        for raw in self.rfile:
            words = raw.decode(errors="replace").split()
            if not words:
                continue
            command, args = words[0].upper(), words[1:]
            if command == "PING":
                reply = "+PONG"
            elif command == "GET" and len(args) == 1:
                reply = f"${self.data.get(args[0], '')}"
            elif command == "SET" and len(args) == 2:
                self.data[args[0]] = args[1]
                reply = "+OK"
            elif command == "INCR" and len(args) == 1:
                self.data[args[0]] = str(int(self.data.get(args[0], "0")) + 1)
                reply = f":{self.data[args[0]]}"
            else:
                reply = "-ERR unknown command"
            self.wfile.write((reply + "\n").encode())
            save(self.data)


def save(data: dict[str, str]) -> None:
    if os.path.isdir(os.path.dirname(DUMP)):
        with open(DUMP, "w") as out:
            json.dump(data, out)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if os.path.exists(DUMP):
        with open(DUMP) as dump:
            Store.data = json.load(dump)
    print("kv: loading the snapshot...", flush=True)
    time.sleep(2)  # like redis reading a large dump.rdb: the container runs before the port answers
    server = socketserver.ThreadingTCPServer(("0.0.0.0", PORT), Store)
    server.daemon_threads = True
    print(f"kv: ready to accept connections on port {PORT}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(ping()) if sys.argv[1:] == ["--ping"] else main()
