"""`[reports]` in centralita.toml: the client service report, its delivery and staffing.

Kept apart from `config.py` (which holds one line pointing here) so the report
settings read as one block. Secrets (the SMTP password) come from the
environment variable named by `password_env`, never from the file.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportTargets(_Strict):
    """The targets the executive summary compares the month against."""

    service_level_percent: float = Field(default=80.0, ge=0, le=100)
    abandon_percent: float = Field(default=5.0, ge=0, le=100, description="at most")
    asa_seconds: float = Field(default=30.0, ge=0, description="at most")
    csat_percent: float = Field(default=85.0, ge=0, le=100)
    response_compliance_percent: float = Field(default=95.0, ge=0, le=100)
    resolution_compliance_percent: float = Field(default=90.0, ge=0, le=100)


class StaffingSettings(_Strict):
    """Erlang C from history: how much history, and what an agent-hour really gives."""

    history_months: int = Field(default=3, ge=1, le=12)
    shrinkage_percent: float = Field(default=30.0, ge=0, lt=100)
    max_occupancy_percent: float = Field(default=85.0, gt=0, le=100)
    # an interval is flagged when logged-in agents differ from the need by more than this
    tolerance_agents: float = Field(default=0.5, ge=0)


class SmtpSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str = "CENTRALITA_SMTP_PASSWORD"
    from_address: str = "mesa-de-servicio@example.com"
    timeout: float = Field(default=30.0, gt=0)

    def password(self) -> str | None:
        return os.environ.get(self.password_env) or None


class ReportsConfig(_Strict):
    desk_name: str | None = Field(default=None, description="default: service.name")
    logo: str | None = Field(default=None, description="PNG/SVG path, relative to the config file")
    language: Literal["es", "en"] = "es"
    attach_xlsx: bool = True
    breaches_listed: int = Field(default=40, ge=0, description="rows listed in HTML/PDF")
    targets: ReportTargets = Field(default_factory=ReportTargets)
    staffing: StaffingSettings = Field(default_factory=StaffingSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
