"""Response headers every page carries, input no page can use, and the Flask-Login account loader."""

from __future__ import annotations

from flask import Response, abort, current_app, request
from werkzeug.wrappers import Response as BaseResponse  # what redirect() returns

from .extensions import db

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def set_cookie(response: BaseResponse, name: str, value: str, max_age: int | None = None) -> None:
    """Every cookie the application sets besides Flask's own (whose flags are the SESSION_COOKIE_*
    and REMEMBER_COOKIE_* settings): out of scripts' reach, not sent by other sites' forms, and over
    HTTPS only wherever the session cookie is."""
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"]
    )


def add_security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    # Wizard pages hold personal data and one-time state: never serve them from a cache.
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _usable(path: str, *fields) -> bool:
    """No NUL in the path, nor in any name or value (repeated ones included), and every name there:
    a hostile multipart body can leave one None, which Flask-WTF's CSRF check fails on with a 500."""
    return "\x00" not in path and all(
        name is not None and "\x00" not in f"{name}{value}"
        for multidict in fields
        for name, value in multidict.items(multi=True)
    )


def refuse_unusable_input() -> None:
    """No page takes a file, and no input has a use for NUL, which PostgreSQL cannot even store or
    compare: such a request gets the styled 400 before any view, query or CSRF check sees it.
    (Flask-WTF would hand an uploaded file to a text field's validators; a NUL would fail the
    query as a 500.) The SPI answers every input in its own protocol instead (JSON codes, audited;
    services/spi.py)."""
    if request.endpoint == "spi.endpoint":  # (the 免登 switch, a form of the spi blueprint, is checked)
        return
    if request.files or not _usable(request.path, request.args, request.form):
        abort(400)


def load_guance_account(account_id: str):
    from .models import GuanceAccount

    return db.session.get(GuanceAccount, int(account_id)) if account_id.isdigit() else None
