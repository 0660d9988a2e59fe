#!/usr/bin/env python3
"""A small HTTP origin for warmset's tests, on loopback; prints its port on the first line.

  /fast/NAME     200, body "value-of:NAME"
  /slow/NAME     200 after SLOW seconds (argv[1], default 2)
  /fail/NAME     500
  /missing/NAME  404
  /big/N         200, a body of N bytes ("x" repeated)
  /limited/NAME  429 with Retry-After: 1 on the first request for NAME, then 200
  /burst/NAME    every 5th request to /burst/ (over all names) answers 429 with Retry-After: 1
  /flaky/NAME    502 on the first request for NAME, then 200
  /stats         JSON: {"requests": {path: count}, "user_agents": [...], "headers": {...}}
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
lock = threading.Lock()
requests = {}
burst_count = 0
user_agents = set()
last_headers = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path
        if path == "/stats":
            with lock:
                body = json.dumps({"requests": requests, "user_agents": sorted(user_agents), "headers": last_headers})
            return self.reply(200, body)
        with lock:
            count = requests.get(path, 0) + 1
            requests[path] = count
            user_agents.add(self.headers.get("User-Agent", ""))
            last_headers.clear()
            last_headers.update({k: v for k, v in self.headers.items()})
        parts = path.split("/", 2)
        kind = parts[1] if len(parts) > 1 else ""
        name = parts[2] if len(parts) > 2 else ""
        if kind == "fast":
            return self.reply(200, "value-of:" + name)
        if kind == "slow":
            time.sleep(SLOW)
            return self.reply(200, "value-of:" + name)
        if kind == "big":
            return self.reply(200, "x" * int(name))
        if kind == "fail":
            return self.reply(500, "boom")
        if kind == "missing":
            return self.reply(404, "not found")
        if kind == "burst":
            global burst_count
            with lock:
                burst_count += 1
                limited = burst_count % 5 == 0
            if limited:
                return self.reply(429, "slow down", [("Retry-After", "1")])
            return self.reply(200, "value-of:" + name)
        if kind == "flaky":
            if count == 1:
                return self.reply(502, "bad gateway")
            return self.reply(200, "value-of:" + name)
        if kind == "limited":
            if count == 1:
                return self.reply(429, "slow down", [("Retry-After", "1")])
            return self.reply(200, "value-of:" + name)
        return self.reply(404, "unknown endpoint")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
