"""The simulator's Flask extensions, created once here and bound to its application in create_app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from flask import Flask, current_app, request
from flask.cli import AppGroup
from flask_babel import Babel
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import CursorResult, Executable, MetaData
from sqlalchemy.orm import DeclarativeBase, SessionTransaction


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def select_locale() -> str:
    """The simulator's own language switch first, then the browser's Accept-Language."""
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(current_app.config["LANGUAGE_COOKIE"])
    if chosen is not None and chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


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
csrf = CSRFProtect()
babel = Babel()


# The simulator's unit of work, on its own database: the same rule as the Guance side's (wizard/extensions.py,
# README "Architecture"), written again because the two applications share nothing but protocol/.


@contextmanager
def one_transaction() -> Iterator[None]:
    """The unit of work of an entry point (a view, the queue's job, a command): commit what the block did,
    or roll all of it back. The simulator's own code never commits or rolls back otherwise, except through
    `commit_now(reason)`; tests/test_transactions.py holds it to that."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def commit_now(reason: str) -> None:
    """Commit the unit of work so far, before its entry point would, where part of the work must stay
    even if a later step fails (an order kept 开通中 when the ISV's answer is lost); `reason` says why."""
    if not reason.strip():
        raise ValueError("commit_now needs the reason the work cannot wait for its entry point")
    db.session.commit()


def savepoint() -> SessionTransaction:
    """A SAVEPOINT in the current unit of work (`with savepoint():`): what the block wrote is undone if it
    raises, and the unit goes on. On SQLite the unit's transaction is opened first (BEGIN IMMEDIATE):
    pysqlite opens none before a SAVEPOINT, whose RELEASE would then commit on the spot."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        driver = cast(Any, connection.connection).dbapi_connection
        if not driver.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    return db.session.begin_nested()


class UnitOfWorkFlask(Flask):
    """A Flask application whose every view runs in one unit of work: committed when the view returns,
    rolled back when it raises (a view added after create_app too; a static file needs none). The
    before-request hooks run in one of their own, before the view's (the simulator signs a buyer in there)."""

    def preprocess_request(self) -> Any:
        with one_transaction():
            return super().preprocess_request()

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
