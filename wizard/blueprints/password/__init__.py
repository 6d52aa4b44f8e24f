"""POST /password/strength: the live strength meter of R1 and B2c (app.js); the pages judge again on submit."""

from flask import Blueprint

bp = Blueprint("password", __name__, url_prefix="/password")

from . import views  # noqa: F401
