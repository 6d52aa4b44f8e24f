"""G1: choose the path — register a billing-center account, or bind an existing one."""

from flask import Blueprint

bp = Blueprint("choose", __name__, url_prefix="/activate")

from . import views  # noqa: F401
