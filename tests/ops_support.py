"""Operators in tests: create one, sign in with password and TOTP as a browser would."""

from __future__ import annotations

import pyotp

from wizard import clock
from wizard.extensions import db as _db
from wizard.extensions import one_transaction
from wizard.services.ops import operators

from .helpers import csrf_token, submit

OPERATOR_PASSWORD = "Night-Shift-Harbour-47"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def add_operator(app, username: str = "alice", enrolled: bool = True, secret: str = SECRET) -> str:
    """An operator with a known TOTP secret; enrolled unless asked otherwise. Returns the secret."""
    with app.app_context():
        with one_transaction():  # the command line's unit of work
            new = operators.create(username, OPERATOR_PASSWORD, secret)
            if enrolled:
                new.operator.totp_confirmed_at = clock.now()
        _db.session.remove()
    return new.totp_secret


def code_now(secret: str = SECRET, steps_ago: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now().timestamp() - 30 * steps_ago)


def enter_password(client, username: str = "alice", password: str = OPERATOR_PASSWORD):
    return submit(client, "/ops/login", {"username": username, "password": password})


def enter_code(client, code: str):
    return submit(client, "/ops/login/totp", {"code": code})


def sign_in(client, username: str = "alice", secret: str = SECRET) -> None:
    """Both factors; the next page is the console's."""
    assert enter_password(client, username).headers["Location"].startswith("/ops/login/totp")
    response = enter_code(client, code_now(secret))
    assert response.status_code == 302 and response.headers["Location"].startswith("/ops/"), response.data[:500]


def post_button(client, page: str, action: str, **kwargs):
    """Press a button (a form with only the CSRF token) found on `page`."""
    token = csrf_token(client.get(page).data)
    return client.post(action, data={"csrf_token": token}, **kwargs)


class Receiver:
    """A webhook receiver on 127.0.0.1: records each POST (headers, body) and answers `status`."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received, receiver = [], self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append((dict(self.headers), body.decode(), self.path))
                self.send_response(receiver.status)
                if receiver.status in (301, 302, 307):
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.status, self.received = 204, received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/guance"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
