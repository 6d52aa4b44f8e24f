"""/activate/: G1 choose the path (register a billing-center account, or bind one), and S1 开通成功."""

from flask import Blueprint

bp = Blueprint("activate", __name__)

from . import views  # noqa: F401
