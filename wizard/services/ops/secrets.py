"""Secrets the server must read back (a TOTP secret to check codes, a webhook secret to sign), kept
encrypted at rest.

Hashing would make them useless, and kept as they are, anyone reading the database (a backup, a
replica, an injection) could sign webhooks or make TOTP codes. So they are encrypted with Fernet
(AES-128-CBC with HMAC-SHA256, from `cryptography`) under a key derived with HKDF-SHA256 from
OPS_SECRETS_KEY, or SECRET_KEY when that is unset: a key that lives in the environment, never in the
database. Changing the key makes the stored secrets unreadable: operators enrol their TOTP again
(`flask ops reset-totp`) and webhooks get new secrets; set OPS_SECRETS_KEY to rotate SECRET_KEY alone.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


class SecretUnreadable(Exception):
    """The stored secret was encrypted under another key (or altered)."""


def _fernet() -> Fernet:
    config = current_app.config
    material = config["OPS_SECRETS_KEY"] or config["SECRET_KEY"]
    material = material if isinstance(material, bytes) else material.encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"guance.ops.secrets.v1").derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str:
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable() from None
