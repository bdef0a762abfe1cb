"""Settings for outbound calling: dial rules, caller ID, rate limit, dialer AMI user, supervision.

Kept apart from `servicedesk.config` (one line there points here) so the calling
features can grow without touching the shared model. Every field has a default,
so existing TOML files load unchanged.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NUMBER_KINDS = (
    "national",
    "mobile",
    "toll_free",
    "premium",
    "shared_cost",
    "international",
    "other",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallbackPlan(_Strict):
    """How a callback nobody answers is retried before it closes as failed."""

    tries: int = Field(default=3, ge=1, le=10)
    retry_minutes: float = Field(default=10.0, gt=0)


class CallingConfig(_Strict):
    """`[calling]`: click-to-call, callbacks and supervision.

    `caller_id_num` is the desk's number shown to customers (E.164); empty means the
    first line's DID. `allow` lists the number kinds agents may dial; premium, shared
    cost and international are refused unless listed.
    """

    caller_id_num: str = Field(default="", pattern=r"^(\+[0-9]{6,15})?$")
    caller_id_name: str = Field(
        default="Mesa de servicio", pattern=r"^[^\r\n\"<>;,()$\[\]{}\\]{0,40}$"
    )
    allow: list[str] = Field(default_factory=lambda: ["national", "mobile", "toll_free"])
    calls_per_agent: int = Field(default=6, ge=1, description="originates per agent per window")
    rate_window_s: int = Field(default=60, ge=1)
    agent_ring_s: int = Field(default=20, ge=5, le=120)
    customer_ring_s: int = Field(default=40, ge=5, le=180)
    dialer_username: str = Field(default="centralita-dialer", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    dialer_secret_env: str = "CENTRALITA_DIALER_SECRET"
    callback: CallbackPlan = Field(default_factory=CallbackPlan)
    supervisor_endpoints: list[str] = Field(
        default_factory=list, description="PJSIP endpoints of supervisor phones (ChanSpy)"
    )

    @field_validator("allow")
    @classmethod
    def _kinds(cls, v: list[str]) -> list[str]:
        for kind in v:
            if kind not in NUMBER_KINDS:
                raise ValueError(f"unknown number kind {kind!r}; known: {', '.join(NUMBER_KINDS)}")
        return v

    supervisor_phones: dict[str, str] = Field(
        default_factory=dict,
        description="panel username -> its supervisor endpoint (one of supervisor_endpoints)",
    )

    @model_validator(mode="after")
    def _phones(self) -> CallingConfig:
        for user, ep in self.supervisor_phones.items():
            if ep not in self.supervisor_endpoints:
                raise ValueError(f"supervisor_phones.{user}: {ep!r} is not in supervisor_endpoints")
        return self

    @field_validator("supervisor_endpoints")
    @classmethod
    def _endpoints(cls, v: list[str]) -> list[str]:
        for ep in v:
            if not ep or not all(c.isascii() and (c.isalnum() or c in "_.-") for c in ep):
                raise ValueError(f"bad endpoint name {ep!r}")
        return v

    def dialer_secret(self) -> str | None:
        return os.environ.get(self.dialer_secret_env)
