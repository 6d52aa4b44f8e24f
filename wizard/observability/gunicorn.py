"""gunicorn's configuration for the Guance side: `gunicorn -c python:wizard.observability.gunicorn wsgi:app`.

Metrics in multiprocess mode (prometheus_client): each worker writes its values to files in
PROMETHEUS_MULTIPROC_DIR, which must exist and be emptied before the service's processes start (the
values of an earlier run are not this one's; `make run` does it, as a systemd ExecStartPre would): not
here, since the queue's worker, started beside gunicorn, writes its own files there too. A worker
that exits is marked dead, so its live gauges stop counting.
gunicorn's own log lines are JSON like the application's; its access log is off, since the
application logs every request itself, without the query string (where SPI and 免登 tokens travel).
"""

from __future__ import annotations

import os
from pathlib import Path

from wizard.observability.logs import gunicorn_logconfig

logconfig_dict = gunicorn_logconfig(os.environ.get("LOG_LEVEL", "INFO"))
accesslog = None


def on_starting(_server) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)


def child_exit(_server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
