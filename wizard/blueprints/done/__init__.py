"""S1 开通成功: what is now bound, then on to the Guance login page."""

from flask import Blueprint

bp = Blueprint("done", __name__, url_prefix="/activate")

from . import views  # noqa: F401
