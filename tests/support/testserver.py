"""What the test servers here share: their common options, TLS, the HTTP
server and its handler, the request log, and the life cycle the Rust tests
expect (tests/common/python.rs).

- Life cycle: a server prints `READY` (or `READY <text>`) once it listens,
  then runs until its standard input closes (the test dropped it), then
  stops (`ready_then_wait`).
- HTTP: `serve(Handler, args)` listens on 127.0.0.1:--port, over TLS with
  --cert/--key, or, for a server with a --tls-port option, plain on --port
  and over TLS on --tls-port.
- Answers go out when the handler is done (`Handler`), after it wrote its
  log line: a client that has its answer finds the request in the log.
- The request log (`RequestLog`) is JSON Lines that tests read while the
  server writes it: each `append` is one write of whole lines.
"""

import http.client
import io
import json
import os
import re
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def add_common_args(parser, log=False, tls=True, tls_required=False):
    """--port, and --log (with `log`), --cert and --key (with `tls`)."""
    parser.add_argument("--port", type=int, required=True)
    if log:
        parser.add_argument("--log", required=True)
    if tls:
        parser.add_argument("--cert", required=tls_required, help="PEM certificate: serve TLS")
        parser.add_argument("--key", required=tls_required, help="PEM key of --cert")


def tls_context(cert, key):
    """A server-side TLS context with `cert` and `key` (PEM files)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def ready_then_wait(announce="", stop=()):
    """Prints the READY line the tests wait for (with `announce`), waits
    until standard input closes, then calls each of `stop`."""
    print(f"READY {announce}".rstrip(), flush=True)
    try:
        sys.stdin.read()
    finally:
        for step in stop:
            step()


def stopper(process):
    """A `stop` step that ends a child `process`: SIGTERM, then SIGKILL if
    it has not exited within 5 s."""

    def stop():
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()

    return stop


class RequestLog:
    """A JSON Lines file, appended to from any thread. Each `append` writes
    its entries, whole lines, with one write to a file opened for appending,
    so that a test reading the file meanwhile never finds half a line."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def append(self, *entries):
        data = "".join(json.dumps(entry) + "\n" for entry in entries).encode()
        if not data:
            return
        with self.lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)


class Faults:
    """The faults a server injects on demand: rules `KEY=ANSWER[xCOUNT]`
    (--fail), each answering the requests its KEY matches with ANSWER, COUNT
    times (always without a count)."""

    def __init__(self, specs):
        self.lock = threading.Lock()
        self.rules = []
        for spec in specs:
            key, _, rest = spec.partition("=")
            answer, count = re.fullmatch(r"(.*?)(?:x(\d+))?", rest).groups()
            self.rules.append({"key": key, "answer": answer, "left": int(count) if count else None})

    def take(self, matches):
        """The ANSWER of the first rule with uses left whose KEY `matches`
        (a function of the KEY), using one up; None when none is."""
        with self.lock:
            for rule in self.rules:
                if matches(rule["key"]) and rule["left"] != 0:
                    if rule["left"] is not None:
                        rule["left"] -= 1
                    return rule["answer"]
        return None


class HeldAnswer(io.BytesIO):
    """A handler's answer, held until the request is handled: `flush` (which
    the server calls then) sends it. A client that went away meanwhile is
    no error of the server's: the answer is dropped, and `broken` set."""

    def __init__(self, connection):
        super().__init__()
        self.connection = connection
        self.broken = False

    def flush(self):
        data = self.getvalue()
        self.seek(0)
        self.truncate()
        if data:
            try:
                self.connection.sendall(data)
            except OSError:
                self.broken = True


class Handler(BaseHTTPRequestHandler):
    """The base of the servers' handlers: HTTP/1.1, quiet, answers held
    until the request is handled, and the helpers every server needs."""

    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.wfile = HeldAnswer(self.connection)

    def log_message(self, *a):
        pass

    def handle_one_request(self):
        super().handle_one_request()
        if self.wfile.broken:
            self.close_connection = True

    def handle_expect_100(self):
        # The client waits for this before it sends the body.
        answer = super().handle_expect_100()
        self.wfile.flush()
        return answer

    def read_body(self):
        """The request's body (empty without one)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status, data, content_type=None, headers=()):
        """Answers `status` with the bytes `data` (not for HEAD), `headers`
        and their Content-Length."""
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, status, body, headers=(), content_type="application/json"):
        """Answers `status` with `body` as JSON."""
        self.send(status, json.dumps(body).encode(), content_type, headers)

    def upstream(self, host, port, body, drop, timeout=60):
        """Sends this request to host:port without the headers `drop` (lower
        case); its answer, and the answer's body."""
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in drop}
        connection.request(self.command, self.path, body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        connection.close()
        return answer, data

    def relay(self, answer, data, drop):
        """Answers with an upstream `answer` and its body `data`, without
        its headers `drop` (lower case)."""
        headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in drop]
        self.send(answer.status, data, headers=headers)


def listen(handler, port, context=None):
    """An HTTP server for `handler` on 127.0.0.1:`port` (TLS with
    `context`), serving in a thread of its own."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve(handler, args, announce="", stop=()):
    """Serves `handler` as the options `args` say (see the module) until
    standard input closes; then stops, and calls each of `stop`."""
    if hasattr(args, "tls_port"):
        servers = [listen(handler, args.port)]
        if args.tls_port:
            servers.append(listen(handler, args.tls_port, tls_context(args.cert, args.key)))
    else:
        context = tls_context(args.cert, args.key) if getattr(args, "cert", None) else None
        servers = [listen(handler, args.port, context)]
    ready_then_wait(announce, [server.shutdown for server in servers] + list(stop))
