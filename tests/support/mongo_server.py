"""Runs nx-27017 (MongoDB wire protocol on SQLite, in memory) for one test.

Starts `nx-27017 --db memory --host 127.0.0.1 -p PORT` with its log and pid
files under --dir, waits until it accepts connections, prints READY, and
stops it when its own standard input closes.
"""

import argparse
import os
import socket
import subprocess
import sys
import time

import testserver

parser = argparse.ArgumentParser()
testserver.add_common_args(parser, tls=False)
parser.add_argument("--dir", required=True)
args = parser.parse_args()

exe = os.path.join(os.path.dirname(sys.executable), "nx-27017")
child = subprocess.Popen(
    [exe, "--db", "memory", "--host", "127.0.0.1", "-p", str(args.port),
     "--log-file", os.path.join(args.dir, "nx-27017.log"),
     "--pid-file", os.path.join(args.dir, "nx-27017.pid")],
    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
    stderr=open(os.path.join(args.dir, "nx-27017.stderr"), "w"),
)
deadline = time.monotonic() + 30
while True:
    try:
        socket.create_connection(("127.0.0.1", args.port), timeout=1).close()
        break
    except OSError:
        if child.poll() is not None or time.monotonic() > deadline:
            print(f"nx-27017 did not start (exit {child.poll()})", flush=True)
            sys.exit(1)
        time.sleep(0.05)
testserver.ready_then_wait(stop=[testserver.stopper(child)])
