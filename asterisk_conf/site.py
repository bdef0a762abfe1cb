"""Deployment facts the TOML does not hold (trunk address, SIP bind, paths, secrets).

They come from command-line flags or the environment, so the one config file
stays the same across boxes and no secret ever lands in it or in the repo.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# RFC 5737 documentation address: loads cleanly, routes nowhere; `conf check` warns.
TRUNK_HOST_PLACEHOLDER = "192.0.2.1"
SIP_SECRET_PREFIX = "CENTRALITA_SIP_SECRET_"


@dataclass(frozen=True)
class SiteOptions:
    trunk_host: str = TRUNK_HOST_PLACEHOLDER
    trunk_port: int = 5060
    sip_bind: str = "0.0.0.0:5060"
    codecs: tuple[str, ...] = ("ulaw", "alaw")
    recordings_dir: str = "/var/spool/asterisk/centralita/messages"
    moh_directory: str = "/usr/share/asterisk/moh"  # as in the traces' musiconhold.conf
    survey: bool = False
    env: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> SiteOptions:
        """Defaults, then CENTRALITA_TRUNK_HOST / CENTRALITA_SIP_BIND, then explicit flags."""
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        if env.get("CENTRALITA_TRUNK_HOST"):
            values["trunk_host"] = env["CENTRALITA_TRUNK_HOST"]
        if env.get("CENTRALITA_SIP_BIND"):
            values["sip_bind"] = env["CENTRALITA_SIP_BIND"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(env=env, **values)  # type: ignore[arg-type]

    @property
    def trunk_is_placeholder(self) -> bool:
        return self.trunk_host == TRUNK_HOST_PLACEHOLDER


def sip_secret_env(endpoint: str) -> str:
    """Environment variable holding an agent endpoint's SIP password."""
    return SIP_SECRET_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", endpoint).upper()
