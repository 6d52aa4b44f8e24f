"""Entry point of the marketplace simulator for gunicorn and `flask`: `gunicorn marketplace.wsgi:app`."""

import sys

from marketplace import create_app
from marketplace.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    sys.exit(f"Configuration error: {error}")
