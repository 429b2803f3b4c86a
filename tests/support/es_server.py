"""Runs osmem-server (an in-memory OpenSearch-compatible server) for one test.

Prints `READY <url>`; the server exits when this launcher's standard input
closes (osmem-server watches its parent).
"""

from osmem_server import OsmemServer

import testserver

server = OsmemServer.start(japanese=False)
testserver.ready_then_wait(server.url, stop=[testserver.stopper(server.process)])
