"""Flask extensions, created once here and bound to an application in create_app."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import flask_mail
from babel import Locale
from flask import Flask, current_app, has_request_context, request
from flask.cli import AppGroup
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import CursorResult, Executable, MetaData
from sqlalchemy.orm import DeclarativeBase, SessionTransaction


class Base(DeclarativeBase):
    # Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class _TimedConnection(flask_mail.Connection):
    """Flask-Mail opens SMTP without a timeout, so a hanging server would hang the request."""

    def configure_host(self) -> smtplib.SMTP:
        smtp_class = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp_class(self.mail.server, self.mail.port, timeout=current_app.config["MAIL_TIMEOUT"])
        try:
            if self.mail.use_tls:
                host.starttls()
            if self.mail.username and self.mail.password:
                host.login(self.mail.username, self.mail.password)
        except BaseException:
            host.close()  # the caller never gets the connection, so nobody else would close it
            raise
        return host


class Mail(flask_mail.Mail):
    def connect(self) -> flask_mail.Connection:
        return _TimedConnection(current_app.extensions["mail"])


def select_locale() -> Locale:
    """The language switch (a cookie) first, then the browser's Accept-Language; the default outside a request."""
    if not has_request_context():  # a command or the queue's worker (emails choose theirs with force_locale)
        return parsed_locale(current_app.config["BABEL_DEFAULT_LOCALE"])
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get("lang")
    if chosen not in languages:
        chosen = request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    return parsed_locale(chosen)


@cache
def parsed_locale(name: str) -> Locale:
    """Parsed once per language: Flask-Babel parses a name on every request, and babel's Locale()
    looks for its data file on disk each time (a stat, ~0.3 ms of B1's 4.9 ms in the benchmark)."""
    return Locale.parse(name)


db = SQLAlchemy(model_class=Base)

# Models subclass db.Model (Base plus Flask-SQLAlchemy's bind-key and table-name mixins), but a type
# checker cannot use an instance attribute as a base class (mypy 8603, flask-sqlalchemy 1327), so it sees
# Base, whose typed Mapped[...] columns are all the models declare.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


def execute_dml(statement: Executable) -> CursorResult[Any]:
    """Run an INSERT, UPDATE or DELETE in the session. Its result is a CursorResult, whose rowcount
    says how many rows the statement touched; Session.execute is typed as the general Result."""
    return cast("CursorResult[Any]", db.session.execute(statement))


migrate = Migrate()
mail = Mail()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@contextmanager
def one_transaction() -> Iterator[None]:
    """The unit of work of an entry point: commit what the block did, or roll all of it back, whatever
    went wrong (a Refused included). A context manager, or a decorator (`@one_transaction()`).

    The rule (README, "Who commits"): services never commit or roll back; the entry point owns the unit
    of work. Every view runs in one (`UnitOfWorkFlask`), so does every task and periodic job (tasks.py,
    per item where a job keeps its progress: tasks.one_unit_per_item) and every command (`CommandGroup`).
    What a refusal or a lost race must undo inside a unit sits in a `savepoint()`. A service that must
    keep part of its work even if a later step fails says so with `commit_now(reason)`, the only other
    way out; tests/test_transactions.py holds the code to it.
    """
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def commit_now(reason: str) -> None:
    """Commit the unit of work so far, before its entry point would. Only where part of the work must stay
    even if a later step fails or the process dies (a wrong code's try counted before the refusal, the
    metering hours marked as sent before the request), or where no transaction may stay open (while an
    SMTP server talks, before a worker reads the row, before a write on a connection of its own). `reason`
    says which, at the call site, so `grep -rn commit_now` lists every exception to the rule."""
    if not reason.strip():
        raise ValueError("commit_now needs the reason the work cannot wait for its entry point")
    db.session.commit()


def savepoint() -> SessionTransaction:
    """A SAVEPOINT in the current unit of work (`with savepoint():`): what the block wrote is undone if it
    raises, and the unit goes on. For what a refusal or a lost race must leave behind: nothing.

    Safe on SQLite too: pysqlite opens no transaction before a SAVEPOINT, whose RELEASE would then commit
    on the spot (and a read before the block's first write could fail to upgrade its snapshot). So on
    SQLite the unit's transaction is opened first, BEGIN IMMEDIATE: it takes the write lock, waiting its
    turn, as the block's first write would."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        driver = cast(Any, connection.connection).dbapi_connection
        if not driver.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    return db.session.begin_nested()


class UnitOfWorkFlask(Flask):
    """A Flask application whose every view runs in one unit of work: committed when the view returns,
    rolled back when it raises (a view added after create_app too; a static file needs none). The
    before-request hooks write nothing through db.session (the rate limits and the session store use
    connections of their own), so they need no unit: none is paid for on every request."""

    def dispatch_request(self) -> Any:
        if request.url_rule is not None and request.url_rule.endpoint == "static":
            return super().dispatch_request()
        with one_transaction():
            return super().dispatch_request()


class CommandGroup(AppGroup):
    """A group of `flask ...` commands, each run in the application's context and in one unit of work."""

    def command(self, *args: Any, **kwargs: Any) -> Any:
        register = super().command(*args, **kwargs)
        return lambda function: register(one_transaction()(function))
