"""Observable (DESIGN.md): JSON logs with a request id, Prometheus metrics, /healthz and /readyz.

`register(app)` is create_app's step: logging configured, the request hooks, the two blueprints.
"""

from __future__ import annotations

from flask import Flask

from . import health, logs, metrics, requests


def register(app: Flask) -> None:
    logs.configure(app.config["LOG_LEVEL"])
    requests.register(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
