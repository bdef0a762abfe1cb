"""The agent console: queue membership, pause, live screen-pop and quick incident work."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from cti_panel.context import ctx
from cti_panel.membership import agent_config
from cti_panel.security import roles_required
from cti_panel.sse import resume_id, sse_response, stream_entries

bp = Blueprint("agent", __name__, url_prefix="/agent")
AGENT_ROLES = ("agent", "admin")


@bp.route("/")
@roles_required(*AGENT_ROLES)
def console():  # type: ignore[no-untyped-def]
    cfg = ctx().cfg
    agent = agent_config(cfg, current_user.agent_login)
    return render_template(
        "agent.html",
        agent=agent,
        pause_reasons=cfg.panel.pause_reasons,
        wrapup_codes=cfg.panel.wrapup_codes,
        skills=cfg.skills,
        transfer_queues=sorted(cfg.queue_definitions()),
    )


def _initial_pop_id(stream: str) -> str:
    """On a fresh page, replay the latest pop if its call may still be live, else start now."""
    r = ctx().bus.r
    last = r.xrevrange(stream, count=2)
    if not last:
        return "0-0"
    newest_id, newest = last[0]
    if newest.get("type") == "end":
        return str(newest_id)
    return str(last[1][0]) if len(last) > 1 else "0-0"


@bp.route("/pops")
@roles_required(*AGENT_ROLES)
def pops():  # type: ignore[no-untyped-def]
    login = current_user.agent_login
    if not login:
        abort(404)
    c = ctx()
    stream = c.bus.keys.agent_pops(login)
    start = resume_id(default=_initial_pop_id(stream))
    return sse_response(
        stream_entries(
            c.bus,
            stream,
            start,
            event="pop",
            max_seconds=c.sse_max_seconds,
            block_ms=c.sse_block_ms,
        )
    )
