"""Alibaba Cloud Marketplace simulator (M1-M4).

It is another party: it never imports the Guance side's models or services and reaches the
Guance side only as Alibaba Cloud does, by signed SPI calls over HTTP and a browser redirect.
"""

from flask import Blueprint

bp = Blueprint("market", __name__, url_prefix="/market")

from . import views  # noqa: F401
