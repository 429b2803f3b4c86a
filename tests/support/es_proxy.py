"""A proxy in front of osmem-server that plays an Elasticsearch cluster under
stress, for the esstore tests.

Forwards every request to --upstream. Hooks: --throttle N answers the first N
_bulk requests with HTTP 429 and Elasticsearch's rejection body;
--reject-items N forwards the first N _bulk requests but answers every item
with status 429 (es_rejected_execution_exception), as a cluster whose write
queue overflowed after it indexed them; --user/--password require basic
authentication, --api-key an API key (401 security_exception otherwise); --cert/--key serve HTTPS.
Prints READY; stops when its standard input closes.
"""

import argparse
import base64
import http.client
import json
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--upstream", required=True)
parser.add_argument("--throttle", type=int, default=0)
parser.add_argument("--reject-items", type=int, default=0)
parser.add_argument("--user")
parser.add_argument("--password")
parser.add_argument("--api-key", help="require Authorization: ApiKey <this>")
parser.add_argument("--cert")
parser.add_argument("--key")
args = parser.parse_args()

UPSTREAM = urllib.parse.urlparse(args.upstream)
STATE = {"throttle": 0, "reject": 0}
LOCK = threading.Lock()
REJECTED = {"type": "es_rejected_execution_exception",
            "reason": "rejected execution of coordinating operation"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        expected = None
        if args.user:
            expected = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()
        if args.api_key:
            expected = f"ApiKey {args.api_key}"
        if expected:
            if self.headers.get("Authorization") != expected:
                return self.reply(401, {"error": {"type": "security_exception",
                                                  "reason": "unable to authenticate user"}, "status": 401})
        bulk = self.path.split("?", 1)[0].endswith("/_bulk")
        reject = False
        if bulk:
            with LOCK:
                if STATE["throttle"] < args.throttle:
                    STATE["throttle"] += 1
                    return self.reply(429, {"error": {"root_cause": [REJECTED], **REJECTED}, "status": 429})
                if STATE["reject"] < args.reject_items:
                    STATE["reject"] += 1
                    reject = True
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=30)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "authorization", "connection", "content-length")}
        conn.request(self.command, self.path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        if reject and response.status == 200:
            answer = json.loads(data)
            answer["errors"] = True
            for item in answer["items"]:
                for result in item.values():
                    result.clear()
                    result.update({"status": 429, "error": REJECTED})
            return self.reply(200, answer)
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
if args.cert:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("READY", flush=True)
sys.stdin.read()
server.shutdown()
