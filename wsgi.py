"""Entry point for gunicorn and `flask`: `gunicorn wsgi:app`."""

import sys

from wizard import create_app
from wizard.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    sys.exit(f"Configuration error: {error}")
