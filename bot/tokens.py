"""Secret tokens for links (invites, sign-in links, web sessions, unsubscribe links).

A token is shown once, to the person it is for; the database keeps only its SHA-256, so a
leaked database or backup opens nobody's session. 32 random bytes: 256 bits from `secrets`.
"""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What is stored for `token` (hex SHA-256): a fast hash is enough for 256 random bits."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
