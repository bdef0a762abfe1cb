"""The main IVR: language, caller identification, business hours, menus, routing.

Every menu has at most `cfg.routing.menu_retries` attempts; running out sends
the caller to the general queue (or, after hours, to the message path), so the
flow never loops and never drops a call. Whatever happens, the flow finishes by
setting the contract's channel variables for the dialplan, with
CENTRALITA_ACTION last: until then the dialplan's own defaults (the line's
general queue) stay in force, so a crash half-way still reaches a person.

Every AGI command is a round trip while the caller waits, so the flow sends no
command whose effect is already in place: the dialplan set the line's defaults
before the AGI (`servicedesk.routing.line_defaults`, the same function the
generated dialplan and pbxsim use), and only values that differ are SET; empty
values are never SET (the listener reads a missing variable as empty). The
greeting and the bilingual language offer are one recording.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime

from ivr.agi_protocol import ChannelHungUp
from ivr.calllog import CallRecord
from ivr.channel import AgiChannel
from ivr.prompts import (
    AFTER_HOURS_DIGITS,
    CALLBACK_DIGITS,
    LANGUAGE_DIGITS,
    MAIN_MENU_DIGITS,
    STATUS_MENU_DIGITS,
    greeting_sound,
    sound,
    sound_in,
    welcome_sound,
)
from ivr.services import CallerIdentity, IvrServices, encode_ivr_var, estimated_wait_s
from servicedesk.calendar import BusinessCalendar
from servicedesk.config import CentralitaConfig, LineConfig
from servicedesk.routing import RouteDecision, line_defaults, route
from servicedesk.values import DIGITS

IDENTIFY_WAIT_S = 3.0  # longest we wait for the ANI lookup once the caller is ready
WITHHELD = frozenset({"", "unknown", "anonymous", "restricted", "private", "withheld"})
_LANG_BY_DIGIT = {d: lang for lang, d in LANGUAGE_DIGITS.items()}
_LANGUAGE_KEYS = "".join(LANGUAGE_DIGITS.values())
_MENU_BY_DIGIT = {d: name for name, d in MAIN_MENU_DIGITS.items()}


@dataclass
class CallState:
    line_name: str
    line: LineConfig
    lang: str
    ani: str
    identity: CallerIdentity = field(default_factory=lambda: CallerIdentity(status="unknown"))
    choices: dict[str, str] = field(default_factory=dict)
    skill: str | None = None
    priority: str | None = None
    incident: str = ""
    action: str = "queue"
    extra: dict[str, str] = field(default_factory=dict)
    decision: RouteDecision | None = None
    # what the dialplan set before the AGI; empty when the line is not known for sure
    defaults: dict[str, str] = field(default_factory=dict)


class IvrFlow:
    """Built once per server; per-call work is only what the caller's choices need."""

    def __init__(self, cfg: CentralitaConfig, services: IvrServices) -> None:
        self.cfg = cfg
        self.svc = services
        self.calendars = {n: BusinessCalendar.from_config(c) for n, c in cfg.calendars.items()}
        self.categories = sorted(
            (sk.dtmf, name) for name, sk in cfg.skills.items() if sk.dtmf is not None
        )
        self.category_by_digit = dict(self.categories)
        self.category_digits = "".join(d for d, _ in self.categories)
        self.category_sounds = [sound(f"category_{name}") for _, name in self.categories]
        self.lines = sorted(cfg.lines.items())
        self.retries = cfg.routing.menu_retries
        self.timeout_ms = cfg.routing.digit_timeout_ms
        self.welcome = {name: welcome_sound(name) for name in cfg.lines}
        self.greeting = {name: greeting_sound(name) for name in cfg.lines}
        self.defaults = {name: line_defaults(cfg, name) for name in cfg.lines}
        # agi_extension → line: the same few DIDs on every call, so remembered (bounded)
        self._line_by_extension: dict[str, tuple[str, LineConfig]] = {}
        # calendar → (minute, open?): shifts start and end on whole minutes
        self._open_at: dict[str, tuple[int, bool]] = {}

    async def __call__(self, ch: AgiChannel) -> None:
        await IvrCall(self, ch).run()

    def find_line(self, env: dict[str, str]) -> tuple[str, LineConfig] | None:
        ext = env.get("agi_extension", "")
        hit = self._line_by_extension.get(ext)
        if hit is not None:
            return hit
        for key in ("agi_extension", "agi_dnid"):
            value = "".join(c for c in env.get(key, "") if c in DIGITS)
            if len(value) >= 3:
                found = self.cfg.line_by_did(value)
                if found is not None:
                    if key == "agi_extension" and len(self._line_by_extension) < 256:
                        self._line_by_extension[ext] = found
                    return found
        return None

    def is_open(self, calendar: str, now: datetime) -> bool:
        """The calendar's answer for this minute, computed once per minute."""
        minute = int(now.timestamp()) // 60
        hit = self._open_at.get(calendar)
        if hit is not None and hit[0] == minute:
            return hit[1]
        is_open = self.calendars[calendar].is_open(now)
        self._open_at[calendar] = (minute, is_open)
        return is_open


class IvrCall:
    def __init__(self, flow: IvrFlow, ch: AgiChannel) -> None:
        self.flow = flow
        self.ch = ch
        rec = getattr(ch, "record", None)
        if rec is None:
            rec = CallRecord(uniqueid=ch.env.get("agi_uniqueid", ""), script="ivr")
            with contextlib.suppress(AttributeError):
                ch.record = rec  # type: ignore[attr-defined]
        self.rec: CallRecord = rec

    # --- small helpers --------------------------------------------------------
    async def play(self, key: str, digits: str = "") -> str:
        return await self.ch.stream_file(sound(key), digits)

    async def retry_notice(self, key: str) -> None:
        await self.play("invalid_option" if key else "no_input")

    async def menu(self, sounds: list[str], digits: str) -> str:
        """Play prompts (barge-in on `digits`), then wait; '' when nothing valid came."""
        key = ""
        for s in sounds:
            key = await self.ch.stream_file(s, digits)
            if key:
                break
        if not key:
            key = await self.ch.wait_for_digit(self.flow.timeout_ms)
        return key

    async def set_language(self, st: CallState, lang: str) -> None:
        if lang != st.lang:
            st.lang = lang
            await self.ch.set_variable("CHANNEL(language)", lang)

    # --- the call -------------------------------------------------------------
    async def run(self) -> None:
        flow, ch, rec = self.flow, self.ch, self.rec
        env = ch.env
        found = flow.find_line(env)
        line_known = True
        if found is None:
            name = await ch.get_variable("CENTRALITA_LINE")
            if name and name in flow.cfg.lines:
                found = (name, flow.cfg.lines[name])
            else:
                rec.error(f"no line for extension {env.get('agi_extension', '')!r}")
                found = flow.lines[0]
                line_known = False  # not our dialplan's defaults: SET everything
        line_name, line = found
        callerid = env.get("agi_callerid", "")
        if callerid.isascii() and callerid.isdigit():  # the usual case: plain digits
            ani = callerid[:32]
        else:
            ani = "".join(c for c in callerid if c in DIGITS or c == "+")[:32]
        st = CallState(line_name, line, env.get("agi_language", "") or line.language, ani)
        if line_known:
            st.defaults = flow.defaults[line_name]
        rec.line = line_name
        identify = None
        if ani and callerid.strip().lower() not in WITHHELD:
            identify = asyncio.ensure_future(flow.svc.identify(ani))
        try:
            await self.set_language(st, line.language)
            await self.language_offer(st)
            st.identity = await self.identification(st, identify)
            now = flow.svc.now()
            if not flow.is_open(line.calendar, now):
                await self.after_hours(st, flow.calendars[line.calendar], now)
            else:
                await self.main_menu(st)
                if st.action == "queue":
                    await self.queue(st)
        except ChannelHungUp:
            st.action = "hangup"
            rec.step("hangup")
            await self.finish(st, hung_up=True)
            raise
        finally:
            if identify is not None and not identify.done():
                identify.cancel()
        await self.finish(st)

    async def language_offer(self, st: CallState) -> None:
        digits = _LANGUAGE_KEYS
        greeting = self.flow.greeting[st.line_name]
        if greeting is not None:  # welcome + both halves of the offer: one command
            key = await self.ch.stream_file(greeting, digits)
        else:
            key = await self.ch.stream_file(self.flow.welcome[st.line_name], digits)
            for lang in ("es", "en"):
                if key:
                    break
                key = await self.ch.stream_file(sound_in(lang, "language_choice"), digits)
        chosen = _LANG_BY_DIGIT.get(key)
        if chosen:
            st.choices["lang_key"] = key
            self.rec.step(f"language:{chosen}")
            await self.set_language(st, chosen)
        st.choices["lang"] = st.lang
        self.rec.language = st.lang

    async def identification(
        self, st: CallState, pending: asyncio.Future[CallerIdentity] | None
    ) -> CallerIdentity:
        ident = CallerIdentity(status="withheld")
        if pending is not None:
            try:
                if pending.done():  # the usual case: the lookup ran during the greeting
                    ident = pending.result()
                else:
                    ident = await asyncio.wait_for(asyncio.shield(pending), IDENTIFY_WAIT_S)
            except Exception as exc:  # slow or failed lookup: ask the caller instead
                self.rec.error(f"identify: {exc!r}")
                ident = CallerIdentity(status="failed")
        if not ident.known:
            first = ident.status
            ident = await self.ask_customer_number()
            if not ident.known:
                ident = CallerIdentity(status=first)
        st.choices["ident"] = ident.via if ident.known else ident.status
        self.rec.ident = st.choices["ident"]
        return ident

    async def ask_customer_number(self) -> CallerIdentity:
        for _ in range(self.flow.retries):
            digits = await self.ch.get_data(sound("identify"), self.flow.timeout_ms, 12)
            digits = digits.rstrip("#")
            if digits:
                try:
                    ident = await self.flow.svc.identify_by_number(digits)
                except Exception as exc:
                    self.rec.error(f"identify_by_number: {exc!r}")
                    break
                if ident.known:
                    self.rec.step("customer_number")
                    return ident
                await self.play("not_found")
            else:
                await self.play("no_input")
        self.rec.step("customer_number_failed")
        return CallerIdentity(status="unknown", via="customer_number")

    # --- after hours --------------------------------------------------------------
    async def after_hours(self, st: CallState, cal: BusinessCalendar, now: datetime) -> None:
        rec = self.rec
        local_day = now.astimezone(cal.tz).date()
        reason = cal.closed_reason(local_day)
        holiday = reason is not None and reason != "no hours"
        st.choices["hours"] = "holiday" if holiday else "closed"
        rec.step("holiday" if holiday else "closed")
        await self.play("holiday_closed" if holiday else "closed")
        await self.ch.stream_file(sound(f"closed_hours_{st.line.calendar}"), "")
        offers = []
        if st.identity.critical_24x7:
            offers.append(("oncall_offer", AFTER_HOURS_DIGITS["oncall"]))
        offers.append(("message_offer", AFTER_HOURS_DIGITS["message"]))
        offers.append(("callback_offer", AFTER_HOURS_DIGITS["callback"]))
        await self.message_or_callback(st, offers, "after_hours")

    async def message_or_callback(
        self, st: CallState, offers: list[tuple[str, str]], step: str
    ) -> None:
        """The ways out when nobody can take the call now: on-call, message, callback;
        the choice is logged under `step` (after_hours or no_agents)."""
        digits = "".join(d for _, d in offers)
        by_digit = {d: k for k, d in offers}
        choice = ""
        for _ in range(self.flow.retries):
            key = await self.menu([sound(k) for k, _ in offers], digits)
            if key in by_digit:
                choice = by_digit[key].removesuffix("_offer")
                break
            await self.retry_notice(key)
        if not choice:
            choice = "message"  # a caller who chose nothing can still leave a message
            self.rec.step("after_hours_default")
        # logged under what led here: closed hours, or no agent during hours
        st.choices[step] = choice
        self.rec.step(f"{step}:{choice}")
        if choice == "oncall":
            st.action = "oncall"
            st.extra["CENTRALITA_ONCALL"] = self.flow.cfg.escalation.on_call_number
            st.priority = "critical"
        elif choice == "callback":
            await self.callback(st)
        else:
            st.action = "voicemail"

    async def callback(self, st: CallState) -> None:
        key = await self.menu([sound("callback_confirm")], CALLBACK_DIGITS["confirm"])
        if key != CALLBACK_DIGITS["confirm"] or not st.ani:
            self.rec.step("callback_declined")
            st.action = "voicemail"
            return
        try:
            cb_id = await self.flow.svc.request_callback(
                uniqueid=self.ch.env.get("agi_uniqueid", ""),
                number=st.ani,
                identity=st.identity,
                language=st.lang,
            )
        except Exception as exc:  # not stored: the dialplan's callback script retries
            self.rec.error(f"request_callback: {exc!r}")
            st.action = "callback"
            return
        st.extra["CENTRALITA_CALLBACK_ID"] = str(cb_id)
        st.action = "callback"

    # --- business hours -------------------------------------------------------------
    async def main_menu(self, st: CallState) -> None:
        rec = self.rec
        choice = ""
        for _ in range(self.flow.retries):
            key = await self.ch.get_data(sound("main_menu"), self.flow.timeout_ms, 1)
            choice = _MENU_BY_DIGIT.get(key, "")
            if choice:
                break
            rec.step("main_menu_retry")
            await self.retry_notice(key)
        if not choice:
            choice = "agent"
            rec.step("main_menu_fallback")
        st.choices["menu"] = choice
        rec.step(f"main_menu:{choice}")
        if choice == "new_incident":
            await self.category_menu(st)
        elif choice == "status":
            await self.status(st)
        elif choice == "critical":
            st.priority = "critical"
            await self.play("critical_registered")

    async def category_menu(self, st: CallState) -> None:
        flow = self.flow
        sounds = [sound("category_intro"), *flow.category_sounds]
        for _ in range(flow.retries):
            key = await self.menu(sounds, flow.category_digits)
            skill = flow.category_by_digit.get(key)
            if skill is not None:
                st.skill = skill
                st.choices["category"] = skill
                self.rec.step(f"category:{skill}")
                return
            self.rec.step("category_retry")
            await self.retry_notice(key)
        self.rec.step("category_fallback")

    async def status(self, st: CallState) -> None:
        ch, flow = self.ch, self.flow
        info = None
        for _ in range(flow.retries):
            digits = (await ch.get_data(sound("enter_incident"), flow.timeout_ms, 10)).rstrip("#")
            if digits:
                try:
                    info = await flow.svc.incident_status(digits)
                except Exception as exc:  # the database is down: an agent can still help
                    self.rec.error(f"incident_status: {exc!r}")
                    return
                if info is not None:
                    break
                await self.play("incident_not_found")
            else:
                await self.play("no_input")
        if info is None:
            self.rec.step("status_fallback")
            return
        st.choices["incident"] = str(info.number)
        self.rec.step(f"status:{info.number}")
        await self.play("status_incident")
        await ch.say_digits(str(info.number))
        await self.play("status_is")
        await self.play(f"status_{info.status}")
        await self.play("priority_is")
        await self.play(f"priority_{info.priority}")
        await self.play("support_level")
        await ch.say_number(info.level)
        key = await self.menu([sound("status_agent_offer")], STATUS_MENU_DIGITS["agent"])
        if key == STATUS_MENU_DIGITS["agent"]:
            st.incident = str(info.number)
            st.priority = info.priority
            st.choices["status_agent"] = "1"
            self.rec.step("status_menu:agent")
        else:
            st.action = "hangup"

    # --- queueing -------------------------------------------------------------------
    async def queue(self, st: CallState) -> None:
        flow = self.flow
        try:
            avail = await flow.svc.availability()
        except Exception as exc:  # no live state: route without overflow
            self.rec.error(f"availability: {exc!r}")
            avail = None
        d = route(flow.cfg, st.skill, st.lang, st.priority, self.vip(st), avail)
        if d.overflow_from:
            st.choices["overflow"] = d.overflow_from
            self.rec.step("overflow")
        if d.action == "no_agents":
            self.rec.step("no_agents")
            await self.play("no_agents")
            await self.message_or_callback(
                st,
                [
                    ("message_offer", AFTER_HOURS_DIGITS["message"]),
                    ("callback_offer", AFTER_HOURS_DIGITS["callback"]),
                ],
                "no_agents",
            )
            return
        st.decision = d
        await self.announce_wait(d.queue, d.max_wait)

    async def announce_wait(self, queue: str, max_wait_s: int | None = None) -> None:
        try:
            stats = await self.flow.svc.queue_stats(queue)
        except Exception as exc:
            self.rec.error(f"queue_stats: {exc!r}")
            stats = None
        est = estimated_wait_s(stats, max_wait_s) if stats is not None else None
        if est is None:
            await self.play("please_hold")
            return
        if est < 60:
            await self.play("wait_less_than_minute")
            return
        minutes = (est + 59) // 60
        await self.play("wait_estimate")
        await self.ch.say_number(minutes)
        await self.play("minute" if minutes == 1 else "minutes")

    def vip(self, st: CallState) -> bool:
        return st.line.vip or st.identity.vip

    # --- the hand-off to the dialplan ---------------------------------------------------
    async def finish(self, st: CallState, hung_up: bool = False) -> None:
        """Set the contract's variables that differ from the dialplan's defaults (on a
        dead channel SET VARIABLE still works); CENTRALITA_ACTION last."""
        ch, rec = self.ch, self.rec
        vip = self.vip(st)
        values: list[tuple[str, str]] = [("IVR_LANG", st.lang)]
        if st.identity.contact_id is not None:
            values.append(("CENTRALITA_CONTACT", str(st.identity.contact_id)))
        values.append(("CENTRALITA_VIP", "1" if vip else "0"))
        if st.skill:
            values.append(("CENTRALITA_CATEGORY", st.skill))
        if st.priority:
            values.append(("CENTRALITA_PRIORITY", st.priority))
        if st.incident:
            values.append(("CENTRALITA_INCIDENT", st.incident))
        d = st.decision
        if d is not None and st.action == "queue" and not hung_up:
            values += [
                ("CENTRALITA_QUEUE", d.queue),
                ("QUEUE_PRIO", str(d.queue_prio)),
                ("QUEUE_MAX_PENALTY", str(d.max_penalty)),
                ("CENTRALITA_RULE", d.rule),
                ("CENTRALITA_MAXWAIT", str(d.max_wait)),
            ]
            rec.queue = d.queue
        values += sorted(st.extra.items())
        values.append(("CENTRALITA_IVR", encode_ivr_var(st.choices)))
        values.append(("CENTRALITA_ACTION", st.action))
        rec.action = st.action
        defaults = st.defaults
        for name, value in values:
            if defaults.get(name, "") != value:  # unset reads as empty
                await ch.set_variable(name, value)
