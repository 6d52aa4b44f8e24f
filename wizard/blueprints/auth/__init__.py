"""L1 the Guance login page (/login/pwd), logout, and the console a login lands on."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import views  # noqa: F401
