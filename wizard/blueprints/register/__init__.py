"""R1-R3: registration for a marketplace customer with no billing-center account yet."""

from flask import Blueprint

bp = Blueprint("register", __name__)

from . import views  # noqa: F401
