"""The web platform's settings, from the environment (or `.env`). The web chat is always on;
these say where it is reachable and whether it may send email.

    COCREATE_PUBLIC_URL   the address people open, e.g. https://cocreate.fjordby.dk
                          (default: where `cocreate serve` listens); https turns on Secure cookies
    SMTP_URL, SMTP_FROM   email for sign-in links and messages while a member is away:
                          smtp://user:password@host:587 (STARTTLS when offered), smtps://… (TLS)
    COCREATE_JOINS_PER_HOUR          joins through one invite link per address per hour (10)
    COCREATE_JOINS_PER_INVITE_HOUR   joins through one invite link per hour, from anywhere (200)
    COCREATE_BEHIND_PROXY  true: the server is only reachable through your HTTPS proxy, so the
                           visitor's address for those limits is the proxy's X-Forwarded-For
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit


class WebSettingsError(ValueError):
    """A setting is wrong; the message names the variable and what to do."""


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    tls: bool  # TLS from the first byte (smtps); otherwise STARTTLS when the server offers it
    user: str | None
    password: str | None
    sender: str


@dataclass(frozen=True)
class WebSettings:
    public_url: str | None  # None: where the server listens (known once it is bound)
    smtp: Smtp | None = None
    joins_per_address: int = 10
    joins_per_invite: int = 200
    behind_proxy: bool = False

    @property
    def secure(self) -> bool:
        return bool(self.public_url and self.public_url.startswith("https://"))


def public_url(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise WebSettingsError(
            f"COCREATE_PUBLIC_URL must be an http(s) address such as https://cocreate.example.org, got {value!r}")
    return value


def smtp(url: str | None, sender: str | None) -> Smtp | None:
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise WebSettingsError(f"SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465, got {parts.scheme}://…")
    if not sender or "@" not in sender:
        raise WebSettingsError("SMTP_FROM must be the address emails come from, e.g. cocreate@fjordby.dk (SMTP_URL is set)")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 587)
    except ValueError:
        raise WebSettingsError("SMTP_URL has a port that is not a number") from None
    from urllib.parse import unquote

    return Smtp(parts.hostname, port, parts.scheme == "smtps", unquote(parts.username) if parts.username else None,
                unquote(parts.password) if parts.password else None, sender.strip())


def _count(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise WebSettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise WebSettingsError(f"{name} must be at least 1, got {value}")
    return value


def from_env() -> WebSettings:
    return WebSettings(
        public_url=public_url(os.environ.get("COCREATE_PUBLIC_URL")),
        smtp=smtp(os.environ.get("SMTP_URL"), os.environ.get("SMTP_FROM")),
        joins_per_address=_count("COCREATE_JOINS_PER_HOUR", 10),
        joins_per_invite=_count("COCREATE_JOINS_PER_INVITE_HOUR", 200),
        behind_proxy=_flag("COCREATE_BEHIND_PROXY"),
    )


def _flag(name: str) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise WebSettingsError(f"{name} must be true or false, got {raw!r}")
