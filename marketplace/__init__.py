"""Alibaba Cloud Marketplace simulator: another party than the Guance side, in its own application.

It reaches the Guance side only as Alibaba Cloud does: signed SPI calls over HTTP to the URL the
ISV registered, and a browser redirect to the 免登 URL. It shares nothing with `wizard` but the
`protocol` package (the SPI token rule and time format).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, abort, request
from sqlalchemy import event

from . import config as settings
from .extensions import UnitOfWorkFlask, babel, csrf, db, migrate, select_locale

HERE = Path(__file__).resolve().parent

SECURITY_HEADERS = {
    "Content-Security-Policy": "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]  # fmt: skip
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = UnitOfWorkFlask(__name__, instance_path=str(settings.INSTANCE_DIR))  # each view: one unit of work
    app.config.from_mapping(settings.load(config))
    register_extensions(app)
    register_database(app)
    register_views(app)
    register_security(app)
    register_errors(app)
    register_templates(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from .models import render_migration_type

    db.init_app(app)
    migrate.init_app(app, db, directory=str(HERE / "migrations"), render_item=render_migration_type, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(HERE / "translations"))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "busy_timeout=10000", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def register_database(app: Flask) -> None:
    from . import models  # noqa: F401  (registers the tables)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            Path(app.instance_path).mkdir(parents=True, exist_ok=True)
            event.listen(db.engine, "connect", _sqlite_pragmas)


def register_views(app: Flask) -> None:
    from .market_api import bp as market_api
    from .views import bp

    app.register_blueprint(bp)
    app.register_blueprint(market_api)
    csrf.exempt(market_api)  # the SDK signs its requests; it has no session nor CSRF token


def _security_headers(response):
    response.headers.update(SECURITY_HEADERS)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _refuse_unusable_input() -> None:
    """No page takes a file, and no input has a use for NUL (PostgreSQL cannot even compare one)."""
    fields = (request.args, request.form)
    if (
        request.files
        or "\x00" in request.path
        or any(
            name is None or "\x00" in f"{name}{value}"
            for multidict in fields
            for name, value in multidict.items(multi=True)
        )
    ):
        abort(400)


def register_security(app: Flask) -> None:
    app.config.setdefault("MAX_CONTENT_LENGTH", 64 * 1024)
    # First of all, before CSRFProtect's check, which a nameless multipart field would fail with a 500.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_unusable_input)
    app.after_request(_security_headers)


def register_errors(app: Flask) -> None:
    from .errors import register_error_pages

    register_error_pages(app)


def register_templates(app: Flask) -> None:
    from flask_babel import format_date, format_datetime, format_decimal, format_time, get_locale

    def template_globals() -> dict:
        locale = get_locale()
        language = locale.language if locale else "zh"
        return {
            "current_language": language,
            "html_lang": "zh-CN" if language == "zh" else "en",
            "current_path": request.full_path.rstrip("?"),
            "guance_url": app.config["ISV_ORIGIN"] + "/",
        }

    app.context_processor(template_globals)
    app.jinja_env.globals.update(
        format_date=format_date, format_datetime=format_datetime, format_decimal=format_decimal, format_time=format_time
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def register_commands(app: Flask) -> None:
    from .cli import register_cli

    register_cli(app)
