"""After activation: X1 the lock countdown (banner and lock page), X2 解散, X3 立即解锁.

X1 is reached two ways: 免登 on an expired instance (the marketplace login: /lock), and a Guance
login whose workspace counts down or is locked (/console/workspaces/<id>/lock). X3 is reached
only through the signed, single-use link the lock page hands out (services/unlock_links.py).
"""

from flask import Blueprint

bp = Blueprint("lifecycle", __name__)

from . import views  # noqa: F401
