"""Wiring: the script table of the FastAGI server for one configuration."""

from __future__ import annotations

from ivr.fastagi_server import FastAgiServer, Handler
from ivr.flows.followups import busy_script, callback_script, survey_script, voicemail_script
from ivr.flows.main_ivr import IvrFlow
from ivr.services import IvrServices
from servicedesk.config import CentralitaConfig


def build_handlers(cfg: CentralitaConfig, services: IvrServices) -> dict[str, Handler]:
    """`agi_network_script` → flow; the names match the generated dialplan's AGI() URLs."""
    return {
        "ivr": IvrFlow(cfg, services),  # type: ignore[dict-item]
        "voicemail": voicemail_script(services),
        "callback": callback_script(services),
        "survey": survey_script(services, cfg.routing.digit_timeout_ms),
    }


def build_server(
    cfg: CentralitaConfig,
    services: IvrServices,
    *,
    host: str | None = None,
    port: int | None = None,
) -> FastAgiServer:
    fa = cfg.connections.fastagi
    return FastAgiServer(
        build_handlers(cfg, services),
        host=host if host is not None else fa.host,
        port=port if port is not None else fa.port,
        command_timeout=fa.command_timeout,
        session_limit=fa.session_limit,
        max_sessions=fa.max_sessions,
        busy_handler=busy_script,  # type: ignore[arg-type]
    )
