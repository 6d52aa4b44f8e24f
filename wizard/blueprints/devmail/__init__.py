"""Development mailbox: what the local SMTP sink received, so QA can read verification codes."""

from flask import Blueprint

bp = Blueprint("devmail", __name__, url_prefix="/dev/mail")

from . import views  # noqa: F401
