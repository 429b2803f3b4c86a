"""A TLS front for a plain TCP server (nx-27017 has no TLS of its own).

Accepts TLS on --port with --cert/--key and pipes each connection to
127.0.0.1:--upstream. Prints READY; stops when its standard input closes.
"""

import argparse
import socket
import ssl
import threading

import testserver

parser = argparse.ArgumentParser()
testserver.add_common_args(parser, tls_required=True)
parser.add_argument("--upstream", type=int, required=True)
args = parser.parse_args()

context = testserver.tls_context(args.cert, args.key)
listener = socket.create_server(("127.0.0.1", args.port))


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(raw):
    try:
        client = context.wrap_socket(raw, server_side=True)
    except (OSError, ssl.SSLError):
        raw.close()
        return
    upstream = socket.create_connection(("127.0.0.1", args.upstream))
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    pipe(upstream, client)


def accept():
    while True:
        try:
            raw, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=serve, args=(raw,), daemon=True).start()


threading.Thread(target=accept, daemon=True).start()
testserver.ready_then_wait(stop=[listener.close])
