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


CHANNEL = {
    "phone": _l("phone"),
    "email": _l("email"),
    "web": _l("web"),
    "monitoring": _l("monitoring"),
}
OUTCOME = {
    "answered": _l("answered"),
    "abandoned": _l("caller hung up while waiting"),
    "timeout": _l("waited too long"),
    "exit_empty": _l("left: nobody in the queue"),
    "join_empty": _l("not queued: nobody in the queue"),
    "exit_key": _l("left the queue with a key"),
    "withdraw": _l("withdrawn"),
    "transferred": _l("transferred"),
    "callback_requested": _l("asked for a call back"),
    "ivr_only": _l("ended in the IVR"),
    "outbound_answered": _l("call placed by the desk, answered"),
    "outbound_no_answer": _l("call placed by the desk, not answered"),
}
ACTOR = {
    "system": _l("the system"),
    "ivr": _l("the IVR"),
    "monitoring": _l("monitoring"),
    "email": _l("email"),
    "web": _l("the web form"),
    "contact": _l("the caller"),
}
HANGUP = {"caller": _l("the caller"), "agent": _l("the agent"), "system": _l("the system")}
LANGUAGE = {"es": _l("Spanish"), "en": _l("English")}
IDENT = {
    "ani": _l("identified by their phone number"),
    "customer_number": _l("identified by customer number"),
    "found": _l("identified"),
    "ambiguous": _l("number shared by several contacts"),
    "unknown": _l("not identified"),
    "withheld": _l("number withheld"),
    "failed": _l("identification failed"),
}
MENU = {
    "new_incident": _l("new incident"),
    "status": _l("status of an incident"),
    "critical": _l("critical incident"),
    "agent": _l("talk to an agent"),
}
AFTER_HOURS = {
    "oncall": _l("on-call engineer"),
    "message": _l("left a message"),
    "callback": _l("asked for a call back"),
}
HOURS = {"holiday": _l("holiday"), "closed": _l("outside business hours")}
COMMAND = {
    "QueueAdd": _l("Join queue"),
    "QueueRemove": _l("Leave queue"),
    "QueuePause": _l("Pause"),
}
# What Asterisk or the listener answers, in words (the raw text is never shown).
AMI_MESSAGE = {
    "Added interface to queue": _l("you are now in this queue"),
    "Removed interface from queue": _l("you left this queue"),
    "Interface paused successfully": _l("paused"),
    "Interface unpaused successfully": _l("back from pause"),
    "Unable to add interface: Already there": _l("you were already in this queue"),
    "Unable to remove interface: Not there": _l("you were not in this queue"),
    "Unable to remove interface from queue: No such queue": _l("this queue does not exist"),
    "Unable to add interface to queue: No such queue": _l("this queue does not exist"),
    "Interface not found": _l("your phone is not known to the PBX"),
    "expired before execution": _l("the request waited too long and was dropped"),
    "listener stopping": _l("the PBX link is restarting; try again"),
    "no answer from Asterisk": _l("the PBX did not answer"),
    "AMI link lost; state unknown": _l("the PBX link dropped; check your state"),
}


ADMIN_ACTION = {
    "create": _l("account created"),
    "edit": _l("account changed"),
    "enable": _l("account enabled"),
    "disable": _l("account disabled"),
    "reset_password": _l("password reset"),
    "delete": _l("account deleted"),
}
ADMIN_FIELD = {"role": _l("role"), "agent_login": _l("agent"), "language": _l("language")}


def label(table: dict[str, object], code: str | None) -> str:
    """The words for `code`: the built-in table, else `[panel.labels]` from the config
    (for a site's own pause reasons or wrap-up codes), else the code itself."""
    if code is None:
        return ""
    if code in table:
        return str(table[code])
    return configured_label(code) or code


def configured_label(code: str) -> str:
    from flask import current_app, has_app_context
    from flask_babel import get_locale

    if not has_app_context() or "centralita" not in current_app.extensions:
        return ""
    words = current_app.extensions["centralita"].cfg.panel.labels.get(code)
    if words is None:
        return ""
    return words.en if str(get_locale() or "es") == "en" else words.es


class Names:
    """Display names of configured things (skills, queues, lines, plans, agents) in one
    language; an unknown code reads as 'unknown (code)' rather than as a bare code."""

    def __init__(self, cfg: object, lang: str) -> None:
        from servicedesk.config import CentralitaConfig

        assert isinstance(cfg, CentralitaConfig)
        self.cfg = cfg
        self.lang = lang

    def skill(self, code: str | None) -> str:
        if not code:
            return ""
        sk = self.cfg.skills.get(code)
        if sk is None:
            return code
        return sk.name_en if self.lang == "en" else sk.name_es

    def queue(self, name: str | None) -> str:
        if not name:
            return ""
        q = self.cfg.queue_definitions().get(name)
        if q is None:
            return name
        return f"{self.skill(q.skill)} ({self.language(q.language)})"

    def language(self, code: str | None) -> str:
        """'español' inside a Spanish sentence, 'Spanish' in English."""
        words = label(LANGUAGE, code)
        return words.lower() if self.lang == "es" else words

    def calendar(self, code: str | None) -> str:
        cal = self.cfg.calendars.get(code or "")
        if cal is None:
            return code or ""
        return (cal.label_en if self.lang == "en" else cal.label_es) or (code or "")

    def zone(self, tz: str) -> str:
        from cti_panel.localtime import zone_label

        return zone_label(tz, self.lang)

    def line(self, code: str | None) -> str:
        if not code:
            return ""
        line = self.cfg.lines.get(code)
        return (line.description or code) if line is not None else code

    def plan(self, code: str | None) -> str:
        if not code:
            return ""
        plan = self.cfg.contracts.plans.get(code)
        if plan is None:
            return code
        return plan_label(plan, self.lang) or code

    def agent(self, login: str | None) -> str:
        if not login:
            return ""
        a = next((a for a in self.cfg.agents if a.login == login), None)
        return a.name if a is not None else login

    def ivr_sentence(self, choices: dict[str, str]) -> str:
        return ivr_sentence(choices, self)

    def admin_value(self, field: str, value: object) -> str:
        if value is None or value == "":
            return "—"
        if field == "role":
            return label(ROLE, str(value))
        if field == "agent_login":
            return self.agent(str(value))
        if field == "language":
            return label(LANGUAGE, str(value))
        return str(value)

    def actor(self, actor: str | None) -> str:
        """Who did something, for the timeline: a person's name, or the system in words."""
        if not actor:
            return ""
        head, _sep, rest = actor.partition(":")
        if head in ACTOR:
            return label(ACTOR, head)
        if head == "agent" and rest:
            return self.agent(rest)
        return self.agent(actor)

    def calendar_hours(self, code: str | None) -> str:
        """'lun 09:00–13:00, 15:00–18:00; …' or 'todos los días, 24 h'."""
        from babel.dates import get_day_names

        cal = self.cfg.calendars.get(code or "")
        if cal is None:
            return ""
        if cal.always_open:
            return str(_l("every day, 24 h"))
        days = get_day_names("abbreviated", locale=self.lang)
        order = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        groups: list[tuple[list[str], str]] = []
        for i, day in enumerate(order):
            shifts = cal.hours.get(day) or []
            if not shifts:
                continue
            text = ", ".join(
                f"{sh.start:%H:%M}–{'24:00' if sh.end.hour == 23 and sh.end.minute == 59 else f'{sh.end:%H:%M}'}"
                for sh in shifts
            )
            if groups and groups[-1][1] == text:
                groups[-1][0].append(str(days[i]))
            else:
                groups.append(([str(days[i])], text))
        return "; ".join(
            (f"{g[0]}–{g[-1]}" if len(g) > 1 else g[0]) + " " + text for g, text in groups
        )

    def duration(self, seconds: int | float | None) -> str:
        if seconds is None:
            return ""
        s = max(0, int(seconds))
        return f"{s // 60}:{s % 60:02d}" if s >= 60 else f"{s} s"


def plan_label(plan: object, lang: str) -> str:
    """A plan's name for people: label_es/label_en if configured, else its description's
    first clause (the example config says "Intermedio")."""
    explicit = getattr(plan, f"label_{lang}", "") or ""
    if explicit:
        return str(explicit)
    desc = str(getattr(plan, "description", "") or "")
    return desc.split(",")[0].strip()


def ivr_sentence(choices: dict[str, str], names: Names) -> str:
    """The caller's path through the IVR as a sentence:
    'Llamó por: Red e internet · eligió español · identificado por su número'."""
    from flask_babel import gettext as _

    parts: list[str] = []
    menu = choices.get("menu")
    category = choices.get("category")
    if category:
        parts.append(_("Called about: %(what)s", what=names.skill(category)))
    elif menu:
        parts.append(_("Called about: %(what)s", what=label(MENU, menu)))
    if choices.get("incident"):
        try:
            from servicedesk.incidents import display_number

            shown = display_number(int(choices["incident"]))
        except ValueError:
            shown = ""
        if shown:
            parts.append(_("asked about %(number)s", number=shown))
    if choices.get("lang_key") and choices.get("lang"):
        parts.append(_("chose %(language)s", language=names.language(choices["lang"])))
    elif choices.get("lang"):
        parts.append(_("speaks %(language)s", language=names.language(choices["lang"])))
    if choices.get("ident"):
        parts.append(label(IDENT, choices["ident"]))
    if choices.get("hours"):
        parts.append(label(HOURS, choices["hours"]))
    if choices.get("after_hours"):
        parts.append(label(AFTER_HOURS, choices["after_hours"]))
    if choices.get("overflow"):
        parts.append(_("overflowed from %(queue)s", queue=names.queue(choices["overflow"])))
    if choices.get("no_agents"):
        parts.append(_("no agent was free"))
    if choices.get("status_agent"):
        parts.append(_("asked for an agent after hearing the status"))
    return " · ".join(p for p in parts if p)


def js_strings() -> dict[str, str]:
    """Strings the browser scripts need, already in the user's language."""
    from flask_babel import gettext as _

    out = {f"pop.{k}": str(v) for k, v in POP.items()}
    out.update({f"state.{k}": str(v) for k, v in AGENT_STATE.items()})
    out.update({f"prio.{k}": str(v) for k, v in PRIORITY.items()})
    out.update({f"status.{k}": str(v) for k, v in STATUS.items()})
    out.update({f"pause.{k}": str(v) for k, v in PAUSE.items()})
    from flask import current_app

    for reason in current_app.extensions["centralita"].cfg.panel.pause_reasons:
        out.setdefault(f"pause.{reason}", label(PAUSE, reason))
    out.update({f"cmd.{k}": str(v) for k, v in COMMAND.items()})
    out.update({f"lang.{k}": str(v) for k, v in LANGUAGE.items()})
    out.update(
        {
            "unknown_caller": _("Unknown caller"),
            "no_open_incidents": _("No open incidents."),
            "link_call": _("Link this call"),
            "created": _("Incident created:"),
            "plan": _("plan"),
            "picker_found": _("%(n)s found; use the arrow keys and Enter to choose."),
            "picker_none": _("Nobody found."),
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
