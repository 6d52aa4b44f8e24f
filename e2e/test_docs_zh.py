"""The documented walkthrough in Chinese (see e2e/walkthrough.py)."""

from .walkthrough import *  # noqa: F403  (the walkthrough's fixtures and tests)

LANGUAGE = "zh"
