"""The agent console: queue membership, pause, live screen-pop and quick incident work."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import Blueprint, abort, redirect, render_template, stream_with_context, url_for
from flask_babel import get_locale
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
    if agent is None and current_user.role == "admin":
        return redirect(url_for("admin.index"))
    ctx().bus.r.ping()  # a live view: with Redis down, say so (503) instead of a dead console
    return render_template(
        "agent.html",
        agent=agent,
        pause_reasons=cfg.panel.pause_reasons,
        wrapup_codes=cfg.panel.wrapup_codes,
        skills=cfg.skills,
        queue_names=_queue_names(),
        transfer_queues=sorted(cfg.queue_definitions()),
    )


def _queue_names() -> dict[str, str]:
    from cti_panel.labels import Names

    names = Names(ctx().cfg, str(get_locale() or "es"))
    return {q: names.queue(q) for q in ctx().cfg.queue_definitions()}


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
        stream_with_context(
            stream_entries(
                c.bus,
                stream,
                start,
                event="pop",
                max_seconds=c.sse_max_seconds,
                block_ms=c.sse_block_ms,
                transform=pop_in_words(),
            )
        )
    )


def pop_in_words() -> Callable[[str, dict[str, str]], dict[str, object]]:
    """Adds the words an agent reads to each pop (queue, category, IVR path, local time);
    the raw codes stay for the script's logic, the words are what it shows."""
    from cti_panel import localtime
    from cti_panel.labels import LANGUAGE, PRIORITY, Names, label

    cfg = ctx().cfg
    lang = str(get_locale() or "es")
    names = Names(cfg, lang)

    def transform(_eid: str, pop: dict[str, str]) -> dict[str, object]:
        try:
            choices = json.loads(pop.get("ivr") or "{}")
        except ValueError:
            choices = {}
        if not isinstance(choices, dict):
            choices = {}
        at_text = ""
        if pop.get("at"):
            try:
                from datetime import datetime

                at_text = localtime.local_text(
                    datetime.fromisoformat(pop["at"]), cfg.service.timezone, lang, seconds=True
                )
            except ValueError:
                at_text = ""
        words = {
            "queue": names.queue(pop.get("queue")),
            "category": names.skill(pop.get("category")) or "—",
            "language": label(LANGUAGE, pop.get("language")) if pop.get("language") else "—",
            "priority": label(PRIORITY, pop.get("priority")) if pop.get("priority") else "—",
            "ivr": names.ivr_sentence({str(k): str(v) for k, v in choices.items()}),
            "at": at_text,
            "caller_num": _readable_number(pop.get("caller_num") or "", cfg.service.default_region),
        }
        return {**pop, "words": words}

    return transform


def _readable_number(raw: str, region: str) -> str:
    """'+525512340001' -> '+52 55 1234 0001'; anything unparseable is shown as it came."""
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return raw
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
