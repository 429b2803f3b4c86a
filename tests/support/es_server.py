"""Runs osmem-server (an in-memory OpenSearch-compatible server) for one test.

Prints `READY <url>`; the server exits when this launcher's standard input
closes (osmem-server watches its parent).
"""

import sys

from osmem_server import OsmemServer

server = OsmemServer.start(japanese=False)
print(f"READY {server.url}", flush=True)
try:
    sys.stdin.read()
finally:
    server.process.terminate()
    try:
        server.process.wait(5)
    except Exception:
        server.process.kill()
