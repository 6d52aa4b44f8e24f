"""Guance Commercial Edition activation through the Alibaba Cloud Marketplace."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as settings
from .extensions import UnitOfWorkFlask, babel, csrf, db, limiter, login_manager, mail, migrate, select_locale
from .i18n import lazy_gettext as _l
from .pages import PAGES


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    # Each view is one unit of work (README, Architecture); tasks and commands: tasks.py, cli.py.
    app = UnitOfWorkFlask(__name__, instance_path=str(settings.INSTANCE_DIR))
    app.config.from_mapping(settings.load(config))
    register_extensions(app)
    register_database(app)
    register_queue(app)
    register_sessions(app)
    register_blueprints(app)
    register_security(app)
    register_observability(app)
    register_operations(app)
    register_errors(app)
    register_templates(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from .db_types import render_migration_type

    db.init_app(app)
    migrations = Path(__file__).resolve().parent.parent / "migrations"
    migrate.init_app(app, db, directory=str(migrations), render_item=render_migration_type, compare_type=True)
    mail.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = PAGES["L1"].endpoint
    login_manager.login_message = _l("请先登录观测云。")
    login_manager.login_message_category = "info"
    login_manager.localize_callback = str  # flash the message in the page's language, as plain text
    babel.init_app(app, locale_selector=select_locale)
    from . import rate_limits  # noqa: F401  (registers the database:// storage of the per-IP limits)

    limiter.init_app(app)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers and one writer work at once; busy_timeout makes workers wait instead of failing.
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def register_database(app: Flask) -> None:
    from . import models  # noqa: F401  (registers the tables)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            Path(app.instance_path).mkdir(parents=True, exist_ok=True)
            event.listen(db.engine, "connect", _sqlite_pragmas)


def register_queue(app: Flask) -> None:
    from .tasks import build_queue

    app.extensions["queue"] = build_queue(app)


def register_sessions(app: Flask) -> None:
    from .sessions import register_sessions as register

    register(app)


def register_blueprints(app: Flask) -> None:
    """One blueprint per part of the URL space; the pages' routes come from the page map (pages.py)."""
    from .blueprints import (
        activate,
        bind,
        codes,
        console,
        devmail,
        home,
        lifecycle,
        login,
        password,
        register,
        spi,
        workspace,
    )  # fmt: skip

    for blueprint in (home, spi, activate, register, bind, workspace, login, console, lifecycle, codes, password):
        app.register_blueprint(blueprint.bp)
    if app.config["DEV_MAILBOX"]:
        app.register_blueprint(devmail.bp)


def register_security(app: Flask) -> None:
    from .security import add_security_headers, load_guance_account, refuse_unusable_input

    # First of all, before CSRFProtect's check (registered with the extensions), which it protects too.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unusable_input)
    app.after_request(add_security_headers)
    if app.config["PROXY_COUNT"]:
        # Trust X-Forwarded-* only from that many proxies, so clients cannot spoof their address.
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]  # Flask's documented way to wrap the WSGI app
    login_manager.user_loader(load_guance_account)


def register_observability(app: Flask) -> None:
    from .observability import register

    register(app)


def register_operations(app: Flask) -> None:
    from .blueprints.ops import register

    register(app)


def register_errors(app: Flask) -> None:
    from .errors import register_error_pages

    register_error_pages(app)


def register_templates(app: Flask) -> None:
    from . import html_attributes
    from .templating import register_template_helpers

    register_template_helpers(app)
    html_attributes.install()


def register_commands(app: Flask) -> None:
    from .cli import register_cli

    register_cli(app)
