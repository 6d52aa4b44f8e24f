"""Response headers every page carries, and the Flask-Login account loader."""
from __future__ import annotations

from flask import Response, current_app, request

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


def add_security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    # Wizard pages hold personal data and one-time state: never serve them from a cache.
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def load_guance_account(account_id: str):
    from .models import GuanceAccount

    return db.session.get(GuanceAccount, int(account_id)) if account_id.isdigit() else None
