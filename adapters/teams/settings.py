"""Teams settings from the environment.

Teams is on when MICROSOFT_APP_ID is set (every inbound token is then checked by the
SDK), or for local testing with the Agents Playground / Bot Framework Emulator when
TEAMS_LOCAL_TESTING=true: then authentication is off, which is only safe on a machine
nobody else can reach (anyone could post activities and make the bot call any URL).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Mapping

APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# BOTFRAMEWORK_<KEY> passes <KEY> to the SDK's configuration (e.g. CHANNEL_SERVICE for
# government clouds, TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL for tests).
PASSTHROUGH = "BOTFRAMEWORK_"


class TeamsSettingsError(ValueError):
    """A missing or malformed environment variable; the message names it."""


@dataclass(frozen=True)
class TeamsSettings:
    app_id: str = ""
    app_password: str = ""
    app_type: str = "MultiTenant"
    tenant_id: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def authenticated(self) -> bool:
        return bool(self.app_id)

    def sdk_config(self) -> object:
        """The attribute-style object botbuilder's ConfigurationBotFrameworkAuthentication reads."""
        values = {
            "APP_ID": self.app_id, "APP_PASSWORD": self.app_password, "APP_TYPE": self.app_type,
            "APP_TENANTID": self.tenant_id, **self.extra,
        }
        return type("TeamsConfig", (), values)()


def from_env(env: Mapping[str, str] = os.environ) -> TeamsSettings | None:
    get = lambda name: (env.get(name) or "").strip()  # noqa: E731
    app_id, local = get("MICROSOFT_APP_ID"), get("TEAMS_LOCAL_TESTING").lower() in ("1", "true", "yes")
    if not app_id and not local:
        return None
    extra = {k[len(PASSTHROUGH):]: v for k, v in env.items() if k.startswith(PASSTHROUGH) and v}
    if not app_id:
        return TeamsSettings(extra=extra)
    if not GUID.fullmatch(app_id):
        raise TeamsSettingsError("MICROSOFT_APP_ID must be the bot's app id, a GUID like 00000000-0000-0000-0000-000000000000")
    app_type = get("MICROSOFT_APP_TYPE") or "MultiTenant"
    if app_type not in APP_TYPES:
        raise TeamsSettingsError(f"MICROSOFT_APP_TYPE must be one of {', '.join(APP_TYPES)}, not '{app_type}'")
    settings = TeamsSettings(app_id, get("MICROSOFT_APP_PASSWORD"), app_type, get("MICROSOFT_APP_TENANT_ID"), extra)
    if app_type == "SingleTenant" and not settings.tenant_id:
        raise TeamsSettingsError("MICROSOFT_APP_TENANT_ID is required when MICROSOFT_APP_TYPE=SingleTenant")
    if app_type != "UserAssignedMSI" and not settings.app_password:
        raise TeamsSettingsError("MICROSOFT_APP_PASSWORD is required with MICROSOFT_APP_ID")
    return settings
