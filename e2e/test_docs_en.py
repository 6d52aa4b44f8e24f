"""The documented walkthrough in English (see e2e/walkthrough.py)."""
from .walkthrough import *  # noqa: F401,F403  (the walkthrough's fixtures and tests)

LANGUAGE = "en"
