"""/console/: the Guance console a login lands on (its workspaces, DataKit, this month's usage), and a
member's view of a workspace counting down or locked (X1) with 解散 (X2)."""

from flask import Blueprint

bp = Blueprint("console", __name__)

from . import views  # noqa: F401
