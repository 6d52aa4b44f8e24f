"""The simulator's Flask extensions, created once here and bound to its application in create_app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flask import current_app, request
from flask_babel import Babel
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import CursorResult, Executable, MetaData
from sqlalchemy.orm import DeclarativeBase


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
