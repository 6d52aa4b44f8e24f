"""The front page and the interface-language switch."""

from flask import Blueprint

bp = Blueprint("home", __name__)

from . import views  # noqa: F401
