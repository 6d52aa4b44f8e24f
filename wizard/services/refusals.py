"""The one refusal: a request the rules turn down for a reason the user can act on.

`message` says why in the page's language (a lazy string); `field` names the form field to blame,
None for the page as a whole. Views show every refusal the same way (wizard/forms.py, show_refusal).
Subclasses exist only where a caller must tell them apart or needs more than the message: a code's
refusals (services/codes.py: sending vs checking, and how long to wait), a taken username or email
(AccountConflict), 免登 (sso.LoginFreeRefused: the status and the instance), a password login held
back (login_throttle.LoginThrottled), an unlock link (unlock_links.LinkRefused: why, for the logs).
"""

from __future__ import annotations


class Refused(Exception):
    def __init__(self, message: object, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message, self.field = message, field
