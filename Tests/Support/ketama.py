#!/usr/bin/env python3
"""The libketama continuum, written independently of libmemcached, as the oracle for warmset's
ketama placement test.

usage: ketama.py host:port,host:port < keys   (prints the host:port of each key, one a line)

Each of the n equal-weight servers gets 160 points: for i in 0..39, the MD5 of "host:port-i"
gives four 32-bit little-endian points. A key's point is the first four bytes of its MD5, little
endian; its server owns the first point at or after it, wrapping around.
"""
import bisect
import hashlib
import sys

servers = sys.argv[1].split(",")
points = []
for server in servers:
    for i in range(40):
        digest = hashlib.md5(f"{server}-{i}".encode()).digest()
        for h in range(4):
            points.append((int.from_bytes(digest[h * 4:h * 4 + 4], "little"), server))
points.sort()
values = [p for p, _ in points]
for line in sys.stdin:
    key = line.rstrip("\n")
    if not key:
        continue
    h = int.from_bytes(hashlib.md5(key.encode()).digest()[:4], "little")
    i = bisect.bisect_left(values, h)
    print(points[i % len(points)][1])
