"""A local server that speaks the Slack Web API methods slackalert uses.

Faithful to the documented behaviour: bearer-token check (invalid_auth),
`ok: false` errors, HTTP 429 with Retry-After, the three-step file upload
(files.getUploadURLExternal only takes form data; the upload must match the
declared length; files.completeUploadExternal needs uploaded files and a known
channel), and incoming webhooks. Everything delivered is appended to --log
as JSON lines. Prints READY; stops when its standard input closes.
"""

import argparse
import itertools
import json
import threading
import urllib.parse

import testserver

parser = argparse.ArgumentParser()
testserver.add_common_args(parser, log=True, tls=False)
parser.add_argument("--token", default="xoxb-test-token")
parser.add_argument("--user", action="append", default=[], help="email=USERID")
parser.add_argument("--rate-limit", type=int, default=0, help="answer the first N API calls with 429")
parser.add_argument("--fail", action="append", default=[], help="METHOD=ERROR: answer ok:false")
parser.add_argument("--webhook-path", default="/services/T000/B000/XXXX")
args = parser.parse_args()

USERS = dict(u.split("=", 1) for u in args.user)
FAIL = dict(f.split("=", 1) for f in args.fail)
STATE = {"uploads": {}, "channels": {}, "rate_limited": 0}
LOCK = threading.Lock()
FILE_IDS = itertools.count(1)
LOG = testserver.RequestLog(args.log)


class Handler(testserver.Handler):
    protocol_version = "HTTP/1.0"

    def reply(self, status, body, headers=()):
        if isinstance(body, str):
            return self.send(status, body.encode(), "text/plain", headers)
        self.send_json(status, body, headers)

    def route(self):
        verb = self.command
        url = urllib.parse.urlparse(self.path)
        raw = self.read_body() if verb == "POST" else b""
        if url.path == args.webhook_path:
            return self.webhook(raw)
        if url.path.startswith("/upload/"):
            return self.upload(url.path.rsplit("/", 1)[1], raw)
        if not url.path.startswith("/api/"):
            return self.reply(404, "not found")
        method = url.path[len("/api/"):]
        with LOCK:
            limited = STATE["rate_limited"] < args.rate_limit
            if limited:
                STATE["rate_limited"] += 1
        if limited:
            return self.reply(429, {"ok": False, "error": "ratelimited"}, [("Retry-After", "1")])
        if self.headers.get("Authorization") != f"Bearer {args.token}":
            return self.reply(200, {"ok": False, "error": "invalid_auth"})
        if method in FAIL:
            return self.reply(200, {"ok": False, "error": FAIL[method]})
        handler = {
            "auth.test": self.auth_test,
            "users.lookupByEmail": self.lookup,
            "conversations.open": self.open_dm,
            "files.getUploadURLExternal": self.upload_url,
            "files.completeUploadExternal": self.complete,
        }.get(method)
        if handler is None:
            return self.reply(200, {"ok": False, "error": "unknown_method"})
        handler(urllib.parse.parse_qs(url.query), raw)

    do_GET = do_POST = route

    def auth_test(self, query, raw):
        self.reply(200, {"ok": True, "url": "https://example.slack.com/", "team": "Example",
                         "user": "cloudmarker", "team_id": "T0001", "user_id": "U0BOT"})

    def lookup(self, query, raw):
        email = (query.get("email") or [""])[0]
        if email not in USERS:
            return self.reply(200, {"ok": False, "error": "users_not_found"})
        self.reply(200, {"ok": True, "user": {"id": USERS[email], "profile": {"email": email}}})

    def open_dm(self, query, raw):
        try:
            users = json.loads(raw)["users"]
        except (ValueError, KeyError):
            return self.reply(200, {"ok": False, "error": "invalid_arguments"})
        if users not in USERS.values():
            return self.reply(200, {"ok": False, "error": "user_not_found"})
        channel = "D" + users
        STATE["channels"][channel] = users
        self.reply(200, {"ok": True, "channel": {"id": channel}})

    def upload_url(self, query, raw):
        if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            return self.reply(200, {"ok": False, "error": "invalid_arguments"})
        form = urllib.parse.parse_qs(raw.decode())
        if "filename" not in form or "length" not in form:
            return self.reply(200, {"ok": False, "error": "invalid_arguments"})
        file_id = f"F{next(FILE_IDS):04}"
        STATE["uploads"][file_id] = {"filename": form["filename"][0], "length": int(form["length"][0]), "data": None}
        self.reply(200, {"ok": True, "file_id": file_id,
                         "upload_url": f"http://127.0.0.1:{args.port}/upload/{file_id}"})

    def upload(self, file_id, raw):
        upload = STATE["uploads"].get(file_id)
        if upload is None or len(raw) != upload["length"]:
            return self.reply(400, "invalid upload")
        upload["data"] = raw.decode()
        self.reply(200, f"OK - {len(raw)}")

    def complete(self, query, raw):
        try:
            payload = json.loads(raw)
        except ValueError:
            return self.reply(200, {"ok": False, "error": "invalid_json"})
        files = payload.get("files") or []
        uploads = [STATE["uploads"].get(f.get("id")) for f in files]
        if not files or any(u is None or u["data"] is None for u in uploads):
            return self.reply(200, {"ok": False, "error": "file_not_found"})
        if payload.get("channel_id") not in STATE["channels"]:
            return self.reply(200, {"ok": False, "error": "channel_not_found"})
        LOG.append({"channel": payload["channel_id"], "user": STATE["channels"][payload["channel_id"]],
                    "comment": payload.get("initial_comment"),
                    "files": [{"title": f.get("title"), "content": u["data"]} for f, u in zip(files, uploads)]})
        self.reply(200, {"ok": True, "files": [{"id": f["id"]} for f in files]})

    def webhook(self, raw):
        try:
            text = json.loads(raw)["text"]
        except (ValueError, KeyError):
            return self.reply(400, "invalid_payload")
        LOG.append({"webhook": text})
        self.reply(200, "ok")


testserver.serve(Handler, args)
