"""The Guance side's SPI endpoint (server-to-server, JSON) and its login-free browser entry."""

from flask import Blueprint

bp = Blueprint("spi", __name__)

from . import views  # noqa: F401
