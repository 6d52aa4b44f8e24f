"""All WTForms forms of the flow, with messages in the page's language."""
from __future__ import annotations
