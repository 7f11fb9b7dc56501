#!/usr/bin/env python3
"""A small HTTP server that misbehaves on request, for download tests.

    faultserver.py --root DIR --log FILE [--port-file FILE]

Serves the files of DIR at /MODE/NAME, or /MODE:N/NAME to misbehave only on
the first N requests for that path and then serve properly (with Range
support).  Prints its port on stdout (and to --port-file).  Modes:

    ok        the file, honouring "Range: bytes=N-" with 206
    reset     half the body, then a TCP reset
    short     half the body with the full Content-Length, then a clean close
    500, 503  that status
    429       429 with "Retry-After: 1"
    stall     half the body, then nothing for 5 seconds
    wrong     the right length, one byte changed
    loop      a redirect to itself
    norange   the whole file with 200, whatever the Range header says

It also answers as an HTTP proxy ("GET http://any.host/MODE/NAME"), serving
the path itself, so tests can check that http_proxy is followed.

Every request is appended to --log as one JSON line:
    {"t": seconds, "path": ..., "range": ..., "status": ..., "bytes": body bytes sent,
     "proxied": whether it came as a proxy request, "peer": the client's port (one
     per connection)}
"""
import argparse
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
COUNTS = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, status, sent):
        entry = {"t": time.time(), "path": self.path, "range": self.headers.get("Range"),
                 "status": status, "bytes": sent, "proxied": getattr(self, "proxied", False),
                 "peer": self.client_address[1]}
        with LOCK:
            with open(self.server.log, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def parse(self):
        if self.path.startswith("http://"):  # asked as a proxy: serve it ourselves
            self.proxied = True
            self.path = "/" + self.path[7:].partition("/")[2]
        parts = self.path.split("/")
        if len(parts) != 3 or not parts[2] or parts[2].startswith("."):
            return None, None
        mode, _, n = parts[1].partition(":")
        with LOCK:
            COUNTS[self.path] = COUNTS.get(self.path, 0) + 1
            count = COUNTS[self.path]
        if n and count > int(n):
            mode = "ok"
        path = os.path.join(self.server.root, parts[2])
        return mode, path

    def send_status(self, status, extra=()):
        self.send_response(status)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.record(status, 0)

    def do_GET(self):
        mode, path = self.parse()
        if mode is None or not os.path.isfile(path):
            return self.send_status(404)
        with open(path, "rb") as f:
            data = f.read()
        if mode in ("500", "503", "429"):
            extra = [("Retry-After", "1")] if mode == "429" else []
            return self.send_status(int(mode), extra)
        if mode == "loop":
            return self.send_status(302, [("Location", self.path)])
        status, first = 200, 0
        rng = self.headers.get("Range")
        if mode == "ok" and rng and rng.startswith("bytes=") and rng.endswith("-"):
            first = int(rng[6:-1])
            if first >= len(data):
                return self.send_status(416, [("Content-Range", "bytes */%d" % len(data))])
            status = 206
        part = data[first:]
        if mode == "wrong":
            part = bytes([part[0] ^ 0xFF]) + part[1:]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(part)))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (first, len(data) - 1, len(data)))
        self.end_headers()
        if mode in ("reset", "short", "stall"):
            half = len(part) // 2
            self.wfile.write(part[:half])
            self.wfile.flush()
            self.record(status, half)
            if mode == "stall":
                time.sleep(5)
            elif mode == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        try:
            self.wfile.write(part)
            sent = len(part)
        except OSError:
            sent = -1
        self.record(status, sent)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.root, srv.log = a.root, a.log
    port = srv.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(a.port_file + ".tmp", a.port_file)
    print(port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
