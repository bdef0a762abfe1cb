"""What the wallboard page hands its script: words in the user's language, queue and
skill names from the configuration, the service time zone, the stream's address.

Queue codes (`network_en`) never reach the screen: a queue is shown as its
skill's configured name in the user's language plus the caller language it serves.
"""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _

from cti_panel import labels
from servicedesk.config import CentralitaConfig


def language_names() -> dict[str, str]:
    return {"es": _("Spanish"), "en": _("English")}


def strings() -> dict[str, str]:
    """Every word the board's script shows (the shared console strings included)."""
    out = labels.js_strings()
    out.update(
        {
            "wb.all_queues": _("All queues"),
            "wb.sl": _("Service level"),
            "wb.target": _("target {pct} in {sec} s"),  # pct carries its own % sign
            "wb.waiting": _("Waiting"),
            "wb.longest": _("Longest wait"),
            "wb.available": _("Available"),
            "wb.logged_in": _("{n} logged in"),
            "wb.abandon": _("Abandon rate"),
            "wb.asa": _("ASA"),
            "wb.short.sl": _("SL"),
            "wb.short.waiting": _("Wait."),
            "wb.short.longest": _("Max."),
            "wb.short.available": _("Free"),
            "wb.short.abandon": _("Aband."),
            "wb.short.asa": _("ASA"),
            "wb.short.offered": _("Off."),
            "wb.short.answered": _("Ans."),
            "wb.offered": _("Offered"),
            "wb.answered": _("Answered"),
            "wb.callbacks": _("Callbacks today"),
            "wb.short.callbacks": _("Callb."),
            "wb.callbacks_detail": _("{pending} pending, {done} done, {failed} failed"),
            "wb.level.ok": _("within target"),
            "wb.level.warn": _("warning"),
            "wb.level.crit": _("critical level"),
            "wb.chart_title": _("Today, per 15 minutes"),
            "wb.chart_offered": _("Offered calls"),
            "wb.chart_target": _("Target"),
            "wb.chart_data": _("Chart data"),
            "wb.chart_empty": _("No calls yet today."),
            "wb.chart_summary": _(
                "{n} intervals; last {start}: {offered} offered, service level {sl}"
            ),
            "wb.interval": _("Interval"),
            "wb.priority": _("Priority"),
            "wb.at_risk": _("At risk"),
            "wb.breached": _("Breached"),
            "wb.agents": _("Agents by state"),
            "wb.no_agents": _("No agent connected."),
            "wb.stale": _("No recent data: reconnecting…"),
            "wb.live": _("Live"),
        }
    )
    return out


def queue_labels(cfg: CentralitaConfig, lang: str) -> dict[str, dict[str, str]]:
    """queue -> {"name": skill name (language), "language": language name, "skill": skill name}."""
    langs = language_names()
    out = {}
    for name, q in cfg.queue_definitions().items():
        skill = cfg.skills[q.skill]
        skill_name = skill.name_en if lang == "en" else skill.name_es
        out[name] = {
            "name": f"{skill_name} ({langs.get(q.language, q.language)})",
            "language": langs.get(q.language, q.language),
            "skill": skill_name,
        }
    return out


def skill_labels(cfg: CentralitaConfig, lang: str) -> dict[str, str]:
    return {k: (s.name_en if lang == "en" else s.name_es) for k, s in cfg.skills.items()}


def page_config(cfg: CentralitaConfig, stream_url: str) -> dict[str, Any]:
    lang = str(get_locale() or "es")
    return {
        "lang": lang,
        "timezone": cfg.service.timezone,
        "stream": stream_url,
        "strings": strings(),
        "queues": queue_labels(cfg, lang),
        "skills": skill_labels(cfg, lang),
        "priorities": list(cfg.sla.priorities),
    }
