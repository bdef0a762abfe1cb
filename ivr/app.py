"""Wiring: the script table of the FastAGI server for one configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.flows.followups import busy_script, callback_script, survey_script, voicemail_script
from ivr.flows.main_ivr import IvrFlow
from ivr.services import IvrServices
from servicedesk.config import CentralitaConfig

if TYPE_CHECKING:  # the classic AGI process builds handlers only: no server code
    from ivr.fastagi_server import FastAgiServer, Handler
    from ivr.reply_deadlines import ReplyDeadlines


def build_handlers(cfg: CentralitaConfig, services: IvrServices) -> dict[str, Handler]:
    """`agi_network_script` → flow; the names match the generated dialplan's AGI() URLs."""
    return {
        "ivr": IvrFlow(cfg, services),  # type: ignore[dict-item]
        "voicemail": voicemail_script(services),
        "callback": callback_script(services),
        "survey": survey_script(services, cfg.routing.digit_timeout_ms),
    }


def reply_deadlines(cfg: CentralitaConfig, time_scale: float = 1.0) -> ReplyDeadlines:
    """Deadlines that cover this config's prompts (their rendered lengths or estimates)."""
    from asterisk_conf.prompt_lengths import longest_by_sound, prompt_lengths
    from ivr.reply_deadlines import ReplyDeadlines

    fa = cfg.connections.fastagi
    return ReplyDeadlines(
        fa.command_timeout,
        media_margin=fa.media_margin,
        lengths=longest_by_sound(prompt_lengths(cfg, exact_hours=False)),
        time_scale=time_scale,
    )


def build_server(
    cfg: CentralitaConfig,
    services: IvrServices,
    *,
    host: str | None = None,
    port: int | None = None,
    time_scale: float = 1.0,
) -> FastAgiServer:
    """`time_scale`: N for tests against pbxsim paced at ×N (every deadline N times shorter)."""
    from ivr.fastagi_server import FastAgiServer

    fa = cfg.connections.fastagi
    return FastAgiServer(
        build_handlers(cfg, services),
        host=host if host is not None else fa.host,
        port=port if port is not None else fa.port,
        command_timeout=fa.command_timeout,
        session_limit=fa.session_limit,
        max_sessions=fa.max_sessions,
        busy_handler=busy_script,  # type: ignore[arg-type]
        deadlines=reply_deadlines(cfg, time_scale),
        time_scale=time_scale,
    )
