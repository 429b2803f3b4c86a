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
import json
import threading
import urllib.parse

import testserver

parser = argparse.ArgumentParser()
testserver.add_common_args(parser)
parser.add_argument("--upstream", required=True)
parser.add_argument("--throttle", type=int, default=0)
parser.add_argument("--reject-items", type=int, default=0)
parser.add_argument("--user")
parser.add_argument("--password")
parser.add_argument("--api-key", help="require Authorization: ApiKey <this>")
args = parser.parse_args()

UPSTREAM = urllib.parse.urlparse(args.upstream)
STATE = {"throttle": 0, "reject": 0}
LOCK = threading.Lock()
REJECTED = {"type": "es_rejected_execution_exception",
            "reason": "rejected execution of coordinating operation"}


class Handler(testserver.Handler):
    def handle_any(self):
        body = self.read_body() or None
        expected = None
        if args.user:
            expected = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()
        if args.api_key:
            expected = f"ApiKey {args.api_key}"
        if expected:
            if self.headers.get("Authorization") != expected:
                return self.send_json(401, {"error": {"type": "security_exception",
                                                      "reason": "unable to authenticate user"}, "status": 401})
        bulk = self.path.split("?", 1)[0].endswith("/_bulk")
        reject = False
        if bulk:
            with LOCK:
                if STATE["throttle"] < args.throttle:
                    STATE["throttle"] += 1
                    return self.send_json(429, {"error": {"root_cause": [REJECTED], **REJECTED}, "status": 429})
                if STATE["reject"] < args.reject_items:
                    STATE["reject"] += 1
                    reject = True
        response, data = self.upstream(UPSTREAM.hostname, UPSTREAM.port, body,
                                       ("host", "authorization", "connection", "content-length"), timeout=30)
        if reject and response.status == 200:
            answer = json.loads(data)
            answer["errors"] = True
            for item in answer["items"]:
                for result in item.values():
                    result.clear()
                    result.update({"status": 429, "error": REJECTED})
            return self.send_json(200, answer)
        self.relay(response, data, ("content-length", "transfer-encoding", "connection"))

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


testserver.serve(Handler, args)
