"""A local Splunk HTTP Event Collector (HEC) for the splunkhecstore tests.

Faithful to the documented HEC behaviour that matters to a client:

- endpoints /services/collector, /services/collector/event and
  /services/collector/event/1.0 (batches of concatenated JSON event objects),
  /services/collector/health; anything else is 404;
- `Authorization: Splunk <token>`: missing -> 401 code 2 "Token is required",
  another scheme -> 401 code 3 "Invalid authorization", a wrong token -> 403
  code 4 "Invalid token";
- an empty body -> 400 code 5 "No data"; an event that is not JSON -> 400
  code 6 "Invalid data format"; an object without `event` -> 400 code 12
  "Event field is required"; an empty `event` -> 400 code 13 "Event field
  cannot be blank"; an index the token may not use -> 400 code 7 "Incorrect
  index". These carry `invalid-event-number`, and as in Splunk the events
  before the invalid one are indexed and the rest of the batch is not read;
- success -> 200 `{"text":"Success","code":0}`.

Test hooks: --busy N answers the first N posts with 503 code 9 "Server is
busy"; --throttle N answers them with 429 and Retry-After: 1 (what a load
balancer in front of Splunk sends); --invalid TEXT treats an event whose
JSON contains TEXT as invalid data (code 6), to exercise the per-event path;
--cert/--key serve HTTPS. Indexed events are appended to --log as JSON lines
({"index", "sourcetype", "time", "event"}). Prints READY; stops when its
standard input closes.
"""

import argparse
import json
import threading

import testserver

parser = argparse.ArgumentParser()
testserver.add_common_args(parser, log=True)
parser.add_argument("--token", default="token123")
parser.add_argument("--indexes", default="main,cloudmarker", help="indexes the token may write to")
parser.add_argument("--default-index", default="main")
parser.add_argument("--busy", type=int, default=0)
parser.add_argument("--throttle", type=int, default=0)
parser.add_argument("--invalid", action="append", default=[])
parser.add_argument("--not-hec", type=int, default=0,
                    help="answer the first N posts with 200 and a proxy's HTML page, indexing nothing")
args = parser.parse_args()

INDEXES = set(args.indexes.split(","))
STATE = {"busy": 0, "throttle": 0}
LOCK = threading.Lock()
LOG = testserver.RequestLog(args.log)
EVENT_PATHS = {"/services/collector", "/services/collector/event", "/services/collector/event/1.0"}


class Handler(testserver.Handler):
    def reply(self, status, text, code, headers=(), **extra):
        self.send_json(status, {"text": text, "code": code, **extra}, headers, "application/json; charset=UTF-8")

    def do_GET(self):
        self.read_body()
        path = self.path.split("?", 1)[0]
        if path.startswith("/services/collector/health"):
            return self.reply(200, "HEC is healthy", 17)
        self.reply(404, "The requested URL was not found on this server.", 404)

    def do_POST(self):
        raw = self.read_body()
        path = self.path.split("?", 1)[0].rstrip("/")
        if path not in EVENT_PATHS:
            return self.reply(404, "The requested URL was not found on this server.", 404)
        with LOCK:
            if STATE["throttle"] < args.throttle:
                STATE["throttle"] += 1
                return self.reply(429, "Too Many Requests", 429, [("Retry-After", "1")])
            if STATE["busy"] < args.busy:
                STATE["busy"] += 1
                return self.reply(503, "Server is busy", 9)
            if STATE.setdefault("not_hec", 0) < args.not_hec:
                STATE["not_hec"] += 1
                page = b"<html><body>Please sign in to the proxy</body></html>"
                return self.send(200, page, "text/html")
        auth = self.headers.get("Authorization")
        if not auth:
            return self.reply(401, "Token is required", 2)
        scheme, _, token = auth.partition(" ")
        if scheme != "Splunk" or not token:
            return self.reply(401, "Invalid authorization", 3)
        if token != args.token:
            return self.reply(403, "Invalid token", 4)
        self.collect(raw.decode("utf-8", "replace"))

    def collect(self, text):
        decoder = json.JSONDecoder()
        indexed = []
        pos, number = 0, 0
        error = None
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                break
            try:
                obj, end = decoder.raw_decode(text, pos)
            except ValueError:
                error = (6, "Invalid data format")
                break
            source = text[pos:end]
            pos = end
            if not isinstance(obj, dict) or any(t in source for t in args.invalid):
                error = (6, "Invalid data format")
                break
            if "event" not in obj:
                error = (12, "Event field is required")
                break
            if obj["event"] in ("", {}, None):
                error = (13, "Event field cannot be blank")
                break
            index = obj.get("index", args.default_index)
            if index not in INDEXES:
                error = (7, "Incorrect index")
                break
            indexed.append({"index": index, "sourcetype": obj.get("sourcetype"),
                            "time": obj.get("time"), "event": obj["event"]})
            number += 1
        LOG.append(*indexed)
        if error:
            code, message = error
            return self.reply(400, message, code, **{"invalid-event-number": number})
        if number == 0:
            return self.reply(400, "No data", 5)
        self.reply(200, "Success", 0)


testserver.serve(Handler, args)
