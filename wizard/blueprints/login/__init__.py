"""/login/pwd: L1 the Guance login page, and logging out."""

from flask import Blueprint

bp = Blueprint("login", __name__)

from . import views  # noqa: F401
