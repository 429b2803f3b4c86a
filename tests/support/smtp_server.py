"""A real SMTP server (aiosmtpd) for cloudmarker's tests.

Saves every message it accepts as <maildir>/<n>.eml. Prints READY when it
listens, and stops when its standard input closes (when the test ends).

  python smtp_server.py --port P --maildir DIR [--mode plain|starttls|ssl]
                        [--cert PEM --key PEM] [--user U --password P]
"""

import argparse
import itertools
import pathlib

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import testserver


class Saver:
    """Writes each message to its own file."""

    def __init__(self, maildir):
        self.maildir = pathlib.Path(maildir)
        self.maildir.mkdir(parents=True, exist_ok=True)
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        path = self.maildir / f"{next(self.counter):04}.eml"
        tmp = path.with_suffix(".part")
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(path)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    testserver.add_common_args(parser)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--mode", choices=["plain", "starttls", "ssl"], default="plain")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()

    context = testserver.tls_context(args.cert, args.key) if args.mode != "plain" else None

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == args.user.encode()
            and auth_data.password == args.password.encode()
        )
        return AuthResult(success=ok, handled=False)

    kwargs = {}
    if args.user:
        # With implicit TLS the whole session is encrypted, but aiosmtpd only
        # counts STARTTLS as TLS, so it requires TLS for AUTH only there.
        kwargs.update(authenticator=authenticate, auth_required=True,
                      auth_require_tls=args.mode == "starttls")
    if args.mode == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    if args.mode == "ssl":
        kwargs.update(ssl_context=context)

    controller = Controller(Saver(args.maildir), hostname="127.0.0.1", port=args.port, **kwargs)
    controller.start()
    testserver.ready_then_wait(stop=[controller.stop])


if __name__ == "__main__":
    main()
