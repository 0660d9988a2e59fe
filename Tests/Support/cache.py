#!/usr/bin/env python3
"""An HTTP server with a cache of its own, for warmset's --http tests, on loopback; prints its
port on the first line. argv[1] (optional) is another server's base URL for an off-host redirect.

  any path          200 "page:PATH"; the first request is a cache MISS, later ones HITs (X-Cache)
  /missing/NAME     404
  /limited/NAME     429 with Retry-After: 1 on the first request for NAME, then as any path
  /unavailable/NAME 503 with Retry-After: 1 on the first request for NAME, then as any path
  /redirect-away    302 to argv[1] + "/stolen" (another host)
  /redirect-here    302 to /landing (this host)
  /stats            JSON: hits, misses (per path), requests (all paths, in order, with method
                    and monotonic time), user_agents
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OTHER = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:9"
lock = threading.Lock()
cache = {}
hits = {}
misses = {}
log = []
seen = {}
user_agents = set()


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
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path
        if path == "/stats":
            with lock:
                body = json.dumps({"hits": hits, "misses": misses, "requests": log, "user_agents": sorted(user_agents)})
            return self.reply(200, body)
        with lock:
            log.append({"path": path, "method": self.command, "t": time.monotonic()})
            user_agents.add(self.headers.get("User-Agent", ""))
            count = seen.get(path, 0) + 1
            seen[path] = count
        if path.startswith("/missing/"):
            return self.reply(404, "not found")
        if path.startswith("/limited/") and count == 1:
            return self.reply(429, "slow down", [("Retry-After", "1")])
        if path.startswith("/unavailable/") and count == 1:
            return self.reply(503, "busy", [("Retry-After", "1")])
        if path == "/redirect-away":
            return self.reply(302, "", [("Location", OTHER + "/stolen")])
        if path == "/redirect-here":
            return self.reply(302, "", [("Location", "/landing")])
        with lock:
            if path in cache:
                hits[path] = hits.get(path, 0) + 1
                state = "HIT"
            else:
                cache[path] = "page:" + path
                misses[path] = misses.get(path, 0) + 1
                state = "MISS"
        return self.reply(200, cache[path], [("X-Cache", state)])


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
