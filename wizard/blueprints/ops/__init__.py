"""O1, the operators' console at /ops/: sign-in with a TOTP, instances and their timelines, the SPI
audit log, stuck activations, the activation funnel, failures to retry, webhooks, the audit trail."""

from flask import Blueprint, Flask

bp = Blueprint("ops", __name__, url_prefix="/ops")


def register(app: Flask) -> None:
    from ...services.ops import webhooks  # noqa: F401  (registers its task and periodic job)
    from . import auth, failures, funnel, pages, webhooks_views  # noqa: F401

    app.register_blueprint(bp)
    from .commands import ops

    app.cli.add_command(ops)
