"""Translatable labels for codes stored in the database or on the bus."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE = {"agent": _l("agent"), "supervisor": _l("supervisor"), "admin": _l("administrator")}
STATUS = {
    "new": _l("new"),
    "assigned": _l("assigned"),
    "in_progress": _l("in progress"),
    "escalated": _l("escalated"),
    "resolved": _l("resolved"),
    "closed": _l("closed"),
}
PRIORITY = {
    "critical": _l("critical"),
    "high": _l("high"),
    "medium": _l("medium"),
    "low": _l("low"),
    "planned": _l("planned"),
}
LEVEL = {"high": _l("high"), "medium": _l("medium"), "low": _l("low")}
SLA = {
    "on_track": _l("on track"),
    "at_risk": _l("at risk"),
    "breached": _l("breached"),
    "met": _l("met"),
    "none": _l("no clock"),
}
AGENT_STATE = {
    "logged_out": _l("logged out"),
    "available": _l("available"),
    "ringing": _l("ringing"),
    "oncall": _l("on call"),
    "wrapup": _l("wrap-up"),
    "paused": _l("paused"),
}
PAUSE = {
    "lunch": _l("lunch"),
    "break": _l("break"),
    "training": _l("training"),
    "backoffice": _l("back office"),
    "meeting": _l("meeting"),
}
WRAPUP = {
    "resolved_first_call": _l("resolved on first call"),
    "incident_created": _l("incident created"),
    "info_given": _l("information given"),
    "wrong_number": _l("wrong number"),
}
POP = {
    "ring": _l("Incoming call"),
    "answer": _l("In conversation"),
    "end": _l("Call ended"),
}
EVENT_KIND = {
    "created": _l("created"),
    "assigned": _l("assigned"),
    "status": _l("status changed"),
    "escalated": _l("escalated"),
    "resolved": _l("resolved"),
    "verified": _l("verified"),
    "reopened": _l("reopened"),
    "call_linked": _l("call linked"),
    "updated": _l("updated"),
    "started": _l("work started"),
    "comment": _l("comment"),
}


def label(table: dict[str, object], code: str | None) -> str:
    if code is None:
        return ""
    return str(table.get(code, code))


def js_strings() -> dict[str, str]:
    """Strings the browser scripts need, already in the user's language."""
    from flask_babel import gettext as _

    out = {f"pop.{k}": str(v) for k, v in POP.items()}
    out.update({f"state.{k}": str(v) for k, v in AGENT_STATE.items()})
    out.update({f"prio.{k}": str(v) for k, v in PRIORITY.items()})
    out.update({f"status.{k}": str(v) for k, v in STATUS.items()})
    out.update({f"pause.{k}": str(v) for k, v in PAUSE.items()})
    out.update(
        {
            "unknown_caller": _("Unknown caller"),
            "no_open_incidents": _("No open incidents."),
            "link_call": _("Link this call"),
            "created": _("Incident created:"),
            "linked": _("Call linked to"),
            "saved": _("Saved."),
            "error": _("Error:"),
            "pending": _("waiting for the PBX…"),
            "vip": _("VIP"),
            "used": _("used"),
            "of": _("of"),
            "seconds": _("s"),
            "no_contract": _("No active contract."),
            "connected": _("Live"),
            "reconnecting": _("Reconnecting…"),
            "queue": _("Queue"),
            "waiting": _("Waiting"),
            "longest": _("Longest wait"),
            "offered": _("Offered"),
            "answered": _("Answered"),
            "abandoned": _("Abandoned"),
            "short_abandoned": _("Short abandoned"),
            "sl": _("Service level"),
            "asa": _("ASA"),
            "aht": _("AHT"),
            "agent": _("Agent"),
            "state": _("State"),
            "reason": _("Reason"),
            "time_in_state": _("Time in state"),
            "priority": _("Priority"),
            "at_risk": _("At risk"),
            "breached": _("Breached"),
            "agents_logged": _("Logged in / available"),
        }
    )
    return out
