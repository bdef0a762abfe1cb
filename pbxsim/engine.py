"""The simulated Asterisk: channels, the dialplan, app_queue and the AMI actions.

Implements the `PbxEngine` seam of `pbxsim.types`. Every event is built with the
same header order and quirks as the Asterisk 22.10.1 recordings in
`asterisk-traces/` (see the README there); all timing runs on `kernel.Kernel`.
"""

from __future__ import annotations

import contextlib
import random
import time as _time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pbxsim import attended_transfer, interpbx, outbound, queue_model
from pbxsim.behaviour import AgentAction, AgentPhone, CallerScript
from pbxsim.channels import CAUSE_TXT, Channel, sip_display
from pbxsim.dialplan import (
    Dialplan,
    Step,
    eval_condition,
    expand,
    expand_expressions,
    steps_for,
)
from pbxsim.kernel import Event, Interrupt, Kernel, Process
from pbxsim.queues import PenaltyChange, QueueConf, QueueState
from pbxsim.types import AmiEvent, EventSink, Headers

PROMPT_SECONDS = {
    "hello-world": 1.40425,
    "beep": 0.424,
    "vm-nobodyavail": 2.787,
    "vm-goodbye": 0.864,
}
DIGIT_SECONDS = 0.773


class CallerGone(Exception):  # noqa: N818
    """The caller hung up; the dialplan jumps to the `h` extension."""


class KeyPressed(Exception):  # noqa: N818
    """The caller keyed a digit that leaves Queue() (the queue's `context`)."""

    def __init__(self, digit: str, legs: list[Any] | None = None) -> None:
        super().__init__(digit)
        self.digit = digit
        self.legs = legs or []


@dataclass(eq=False)
class Call:
    """One inbound caller channel and its scripted behaviour."""

    chan: Channel
    script: CallerScript
    proc: Process | None = None
    bridged_with: Channel | None = None
    prompts: list[str] = field(default_factory=list)
    dtmf_idx: int = 0
    dtmf_buffer: list[tuple[float, str]] = field(default_factory=list)
    done: Event | None = None
    outcome: str = ""
    in_queue: bool = False
    agi_dead: bool = False
    redirect: tuple[str, str] | None = None
    pending_digits: str = ""  # keyed ahead (type-ahead) and not yet read by the IVR
    in_h: bool = False  # running the h extension
    cdr_legs: list[dict[str, Any]] = field(default_factory=list)
    cdr_final_start: float | None = None  # Queue() returned unanswered and the dialplan went on
    peer: Call | None = None  # the other half of a Local pair
    on_answer: Callable[[], None] | None = None
    agent_plan: AgentAction | None = None  # an originated phone's plan (pbxsim.outbound)
    on_dial: Callable[[], None] | None = None  # an originated channel's Dial() starts
    transfer_to: tuple[str, str] | None = None  # BlindTransfer target (context, exten)
    bridge: Bridge | None = None  # the bridge Queue() put the caller and the agent in
    on_queue: Callable[[str], None] | None = None  # Local ;2 of a consultation: join/connect
    patience_timer: int = 0  # the kernel entry that hangs up at `script.hangup_after`


@dataclass(eq=False)
class Leg:
    """One member being rung for one caller."""

    member: queue_model.Member
    chan: Channel
    start: float
    outcome: Event
    action: AgentAction
    active: bool = True


@dataclass(frozen=True)
class Bridge:
    uid: str

    def headers(self, count: int) -> Headers:
        return [
            ("BridgeUniqueid", self.uid),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
            ("BridgeNumChannels", str(count)),
            ("BridgeVideoSourceMode", "none"),
        ]


class Engine:
    """A PbxEngine; construct, `subscribe`, then drive `kernel` with a `runner.Runner`."""

    def __init__(
        self,
        *,
        queues: dict[str, QueueConf],
        dialplan: Dialplan,
        rules: dict[str, list[PenaltyChange]] | None = None,
        start_epoch: float | None = None,
        seed: int = 0,
        channelvars: tuple[str, ...] = ("IVR_LANG", "QUEUE_PRIO"),
        queue_log_path: str | None = None,
        prompt_seconds: dict[str, float] | None = None,
        default_prompt_s: float = 1.5,
        agi_client: Any = None,
        trunk: str = "trunk",
        sip_latency: float = 0.005,
        cdr: bool = True,
    ) -> None:
        self.kernel = Kernel(start_epoch if start_epoch is not None else _time.time())
        self.rng = random.Random(seed)
        self.channelvars = channelvars
        self.dialplan = dialplan
        self.rules = rules or {}
        # sound name → seconds; a centralita prompt is keyed with its language in front
        # (`es/centralita/main_menu`), as Asterisk finds `sounds/es/centralita/main_menu.wav`
        self.prompt_seconds = dict(PROMPT_SECONDS, **(prompt_seconds or {}))
        self.default_prompt_s = default_prompt_s
        self.agi_client = agi_client
        self.trunk = trunk
        # a SIP answer/BYE reaches app_queue a few ms after the phone acts
        self.sip_latency = sip_latency
        self.cdr = cdr  # cdr_manager: one Cdr event per CDR record once the caller hangs up
        self._sinks: list[EventSink] = []
        self._seq = 0
        self._tech_seq: dict[str, int] = {}
        self.poke: Callable[[], None] = lambda: None  # set by the Runner: new work is ready
        self.channels: dict[str, Channel] = {}
        self.calls: list[Call] = []
        self.phones: dict[str, AgentPhone] = {}
        self.remotes: dict[str, AgentAction] = {}  # far ends reached through the trunk
        self.peer_pbxs: dict[str, Any] = {}  # pbx-<id> endpoint -> the other box (interpbx)
        self.spy_stops: dict[str, list[Callable[[], None]]] = {}  # spied channel -> ChanSpy ends
        self.endpoint_use: dict[str, int] = {}
        self.endpoint_chans: dict[
            str, list[Channel]
        ] = {}  # live channels per endpoint (device state)
        self.queue_log_lines: list[str] = []
        self.globals: dict[str, str] = {}
        self.bridged_calls: dict[str, Call] = {}  # agent channel name -> the caller bridged to it
        self.consults: dict[str, Any] = {}  # agent channel -> attended_transfer.Consult
        self.agent_context = "from-agents"  # the agents' endpoints' context (the rig's name)
        self._qlog = open(queue_log_path, "a", encoding="utf-8") if queue_log_path else None  # noqa: SIM115
        self.queues: dict[str, QueueState] = {}
        for name, conf in queues.items():
            q = QueueState(conf)
            for iface, pen, mname, state in conf.static_members:
                m = queue_model.Member(
                    iface, mname, state, pen, dynamic=False, logintime=int(self.kernel.now)
                )
                m.ringinuse = conf.ringinuse
                m.wrapuptime = conf.wrapuptime
                q.add_member(m)
            self.queues[name] = q
        self.actions = queue_model.QueueActions(self)

    # ----------------------------------------------------------------- seam
    def subscribe(self, sink: EventSink) -> Callable[[], None]:
        self._sinks.append(sink)

        def unsubscribe() -> None:
            if sink in self._sinks:
                self._sinks.remove(sink)

        return unsubscribe

    async def handle_action(self, name: str, headers: Headers) -> list[Headers] | None:
        return self.actions.handle(name, headers)

    # ------------------------------------------------------------ emitting
    def emit(self, category: str, event: str, headers: Headers, timestamp: bool = True) -> None:
        if not self._sinks:
            return
        h: Headers = [("Event", event), ("Privilege", f"{category},all")]
        if timestamp:
            h.append(("Timestamp", f"{self.kernel.now:.6f}"))
        h.extend(headers)
        ev = AmiEvent(category, h)
        for sink in list(self._sinks):
            sink(ev)

    def chan_event(
        self, event: str, chan: Channel, extra: Headers = (), category: str = "call"
    ) -> None:  # type: ignore[assignment]
        if self._sinks:
            self.emit(category, event, chan.headers(self.channelvars) + list(extra))

    def pair_event(
        self, event: str, chan: Channel, dest: Channel, extra: Headers = (), category: str = "call"
    ) -> None:  # type: ignore[assignment]
        if self._sinks:
            self.emit(
                category,
                event,
                chan.headers(self.channelvars)
                + dest.headers(self.channelvars, "Dest")
                + list(extra),
            )

    def setvar(self, chan: Channel, name: str, value: str) -> None:
        chan.vars[name] = value
        self.chan_event("VarSet", chan, [("Variable", name), ("Value", value)], "dialplan")

    def qlog(self, callid: str, queue: str, agent: str, event: str, *data: str) -> None:
        line = "|".join([str(int(self.kernel.now)), callid, queue, agent, event, *data])
        self.queue_log_lines.append(line)
        if self._qlog:
            self._qlog.write(line + "\n")
            self._qlog.flush()

    def forget_finished(self) -> int:
        """Drop finished calls and the in-memory queue_log copy; returns the calls still up.

        Both are kept for tests that inspect a run afterwards; a long run (the soak)
        calls this so the simulator's own memory stays flat (the queue_log file keeps
        every line).
        """
        self.calls = [c for c in self.calls if c.done is None or not c.done.triggered]
        if self._qlog:
            self.queue_log_lines.clear()
        return len(self.calls)

    def close(self) -> None:
        if self._qlog:
            self._qlog.close()
            self._qlog = None

    def new_bridge(self) -> Bridge:
        a, b, c, d, e = (self.rng.getrandbits(n) for n in (32, 16, 16, 16, 48))
        return Bridge(f"{a:08x}-{b:04x}-{c:04x}-{d:04x}-{e:012x}")

    # ------------------------------------------------------------ channels
    def new_channel(
        self,
        endpoint: str,
        caller_num: str,
        caller_name: str,
        context: str,
        exten: str,
        state: int,
        linkedid: str | None = None,
        tech: str = "PJSIP",
        name: str | None = None,
    ) -> Channel:
        seq = self._seq
        self._seq += 1
        uid = f"{int(self.kernel.now)}.{seq}"
        num = self._tech_seq.get(tech, 0)
        self._tech_seq[tech] = num + 1
        chan = Channel(
            name=name or f"{tech}/{endpoint}-{num:08x}",
            uniqueid=uid,
            linkedid=linkedid or uid,
            endpoint=endpoint,
            caller_num=caller_num,
            caller_name=caller_name,
            context=context,
            exten=exten,
            state=state,
            created=self.kernel.now,
        )
        self.channels[chan.name] = chan
        self.endpoint_use[endpoint] = self.endpoint_use.get(endpoint, 0) + 1
        self.endpoint_chans.setdefault(endpoint, []).append(chan)
        self.chan_event("Newchannel", chan)
        return chan

    def set_state(self, chan: Channel, state: int) -> None:
        chan.state = state
        self.chan_event("Newstate", chan)

    def destroy(self, chan: Channel, cause: int) -> None:
        if chan.gone:
            return
        chan.gone = True
        chan.cause = cause
        for stop in self.spy_stops.pop(chan.name, []):
            stop()  # ChanSpy with E stops before the spied-on channel's Hangup (recorded)
        if chan.cdr is not None and chan.cdr["end"] is None:
            chan.cdr["end"] = self.kernel.now
            chan.cdr["disposition"] = "ANSWERED" if chan.answered_at is not None else "NO ANSWER"
        self.chan_event(
            "Hangup", chan, [("Cause", str(cause)), ("Cause-txt", CAUSE_TXT.get(cause, "Unknown"))]
        )
        self.channels.pop(chan.name, None)
        self.endpoint_use[chan.endpoint] = self.endpoint_use.get(chan.endpoint, 1) - 1
        live = self.endpoint_chans.get(chan.endpoint)
        if live is not None:
            live.remove(chan)
            if not live:
                del self.endpoint_chans[chan.endpoint]
        queue_model.device_changed(self, chan.endpoint)

    # --------------------------------------------------------------- calls
    def set_phone(
        self, endpoint: str, plan: list[AgentAction], num: str = "", name: str = ""
    ) -> None:
        """Script the phone of `endpoint`; its caller ID number defaults to the endpoint (1001)."""
        self.phones[endpoint] = AgentPhone(list(plan), 0, num or endpoint, name)

    def place_call(
        self,
        exten: str,
        caller_num: str,
        caller_name: str,
        script: CallerScript | None = None,
        context: str = "from-trunk",
        at: float | None = None,
    ) -> Call:
        """An inbound SIP call from the trunk; starts now (or at epoch `at`)."""
        call = Call(chan=None, script=script or CallerScript())  # type: ignore[arg-type]
        call.done = self.kernel.event()

        def start() -> None:
            call.chan = self.new_channel(
                self.trunk, caller_num, sip_display(caller_name), context, exten, 4
            )
            call.chan.dnid = exten
            self.setvar(call.chan, "SIPDOMAIN", "127.0.0.1")
            call.proc = self.kernel.process(self._run(call), call.chan.name)

        self.calls.append(call)
        if at is None:
            self.kernel.call_soon(start)
        else:
            self.kernel.call_at(at, start)
        return call

    def caller_hangup(self, call: Call, cause: str | None = None) -> None:
        """The caller sends BYE (or, for a Local half, its peer hung up with `cause`)."""
        chan = call.chan
        if chan is None or chan.gone or chan.hangup_requested:
            return
        chan.hangup_requested = True
        chan.cause = 16 if call.bridged_with is not None or cause else 0
        self.chan_event("HangupRequest", chan, [("Cause", cause)] if cause else [])
        if call.proc is not None:
            call.proc.interrupt("caller")

    def _run(self, call: Call) -> Generator[Event, Any, None]:
        chan = call.chan
        context, exten = chan.context, chan.exten
        cdr_dest = (exten, context)
        while True:
            try:
                yield from self._dialplan(call, context, exten)
                # fell off the end, or Hangup(): soft hangup then the h extension
                if not chan.hangup_requested:
                    chan.cause = 16
            except CallerGone:
                target = call.redirect
                if target is not None and not chan.hangup_requested:
                    call.redirect = None
                    context, exten = target
                    continue
            break
        self.chan_event("SoftHangupRequest", chan, [("Cause", "16")])
        chan.vars["HANGUPCAUSE"] = str(chan.cause)
        last_app = (chan.app, chan.appdata)
        if (chan.context, "h") in self.dialplan:
            call.in_h = True
            yield from self._dialplan(call, chan.context, "h")
        peer = call.peer
        if peer is not None:
            self.caller_hangup(peer, str(chan.cause))
        if call.bridged_with is not None and not call.bridged_with.gone:
            self.destroy(call.bridged_with, 16)
        self.destroy(chan, chan.cause)
        if self.cdr and call.on_answer is None and self._sinks:
            self._emit_cdrs(call, cdr_dest, last_app)
        assert call.done is not None
        if call.patience_timer:  # the caller's patience outlived the call: let it go
            self.kernel.cancel(call.patience_timer)
            call.patience_timer = 0
        call.done.succeed(call.outcome)

    # ----------------------------------------------------------------- CDR
    def cdr_leg(self, call: Call, agent: Channel) -> None:
        """A dialled member opens a CDR segment: the first from the call's start, others from the dial."""
        now = self.kernel.now
        first = not call.cdr_legs
        start = call.chan.created if first else now
        answer = (call.chan.answered_at or start) if first else now
        seg = {
            "dst": agent.name,
            "start": start,
            "answer": answer,
            "end": None,
            "lastapp": call.chan.app,
            "lastdata": call.chan.appdata,
            "disposition": None,
        }
        call.cdr_legs.append(seg)
        agent.cdr = seg

    def _emit_cdrs(self, call: Call, dest: tuple[str, str], last_app: tuple[str, str]) -> None:
        chan = call.chan
        now = self.kernel.now
        segs = list(call.cdr_legs)
        if not segs or call.cdr_final_start is not None:
            start = (
                call.cdr_final_start if segs and call.cdr_final_start is not None else chan.created
            )
            answer = start if segs else chan.answered_at
            segs.append(
                {
                    "dst": "",
                    "start": start,
                    "answer": answer,
                    "end": now,
                    "lastapp": last_app[0],
                    "lastdata": last_app[1],
                    "disposition": "ANSWERED" if chan.answered_at is not None else "NO ANSWER",
                }
            )

        def ts(t: float | None) -> str:
            if t is None:
                return ""
            return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")

        for seg in segs:
            end = seg["end"] if seg["end"] is not None else now
            answer = seg["answer"]
            self.emit(
                "cdr",
                "Cdr",
                [
                    ("AccountCode", chan.accountcode),
                    ("Source", chan.caller_num),
                    ("Destination", dest[0]),
                    ("DestinationContext", dest[1]),
                    ("CallerID", f'"{chan.caller_name}" <{chan.caller_num}>'),
                    ("Channel", chan.name),
                    ("DestinationChannel", seg["dst"]),
                    ("LastApplication", seg["lastapp"]),
                    ("LastData", seg["lastdata"]),
                    ("StartTime", ts(seg["start"])),
                    ("AnswerTime", ts(answer)),
                    ("EndTime", ts(end)),
                    ("Duration", str(int(end - seg["start"]))),
                    ("BillableSeconds", str(int(end - answer)) if answer is not None else "0"),
                    (
                        "Disposition",
                        seg["disposition"] or ("ANSWERED" if answer is not None else "NO ANSWER"),
                    ),
                    ("AMAFlags", "DOCUMENTATION"),
                    ("UniqueID", chan.uniqueid),
                    ("UserField", chan.userfield),
                ],
            )

    def lookup(self, chan: Channel, name: str) -> str:
        if name == "CALLERID(all)":
            return f'"{chan.caller_name}" <{chan.caller_num}>'
        if name == "CALLERID(num)":
            return chan.caller_num
        if name == "CALLERID(name)":
            return chan.caller_name
        if name == "CHANNEL":
            return chan.name
        if name == "UNIQUEID":
            return chan.uniqueid
        if name == "EXTEN":
            return chan.exten
        if name == "CHANNEL(language)":
            return chan.language
        special = interpbx.lookup(chan, name)
        if special is not None:
            return special
        if name.startswith("CUT(") and name.endswith(")"):
            var, _, rest = name[4:-1].partition(",")
            delim, _, field_no = rest.partition(",")
            parts = self.lookup(chan, var).split(delim or "-")
            idx = int(field_no or 1) - 1
            return parts[idx] if 0 <= idx < len(parts) else ""
        if name.startswith("FILTER(") and name.endswith(")"):
            allowed, _, value = name[7:-1].partition(",")
            ok = set()
            i = 0
            while i < len(allowed):
                if i + 2 < len(allowed) and allowed[i + 1] == "-":
                    ok.update(chr(c) for c in range(ord(allowed[i]), ord(allowed[i + 2]) + 1))
                    i += 3
                else:
                    ok.add(allowed[i])
                    i += 1
            return "".join(c for c in value if c in ok)
        if name in chan.vars:
            return chan.vars[name]
        return self.globals.get(name, "")

    def _resolve(self, target: str, context: str, exten: str) -> tuple[str, str, int] | None:
        """A Goto target `label`, `exten,label` or `context,exten,label` -> (context, exten, index)."""
        parts = [p.strip() for p in target.split(",")]
        if len(parts) == 3:
            context, exten, label = parts
        elif len(parts) == 2:
            exten, label = parts
        else:
            label = parts[0]
        steps = steps_for(self.dialplan, context, exten)
        if steps is None:
            return None
        if label.isdigit():
            return context, exten, int(label) - 1
        for i, step in enumerate(steps):
            if step.label == label:
                return context, exten, i
        return None

    def _dialplan(self, call: Call, context: str, exten: str) -> Generator[Event, Any, None]:
        """Run from `context,exten,1`: Goto/GotoIf/Gosub/Return across contexts, until the end."""
        chan = call.chan
        stack: list[tuple[str, str, int]] = []
        pos: tuple[str, str, int] | None = (context, exten, 0)
        while pos is not None:
            ctx, ext, i = pos
            steps = self.dialplan.get((ctx, ext)) or steps_for(self.dialplan, ctx, ext)
            if steps is None or i >= len(steps):
                chan.priority = i + 1
                return
            step = steps[i]
            chan.context, chan.exten, chan.priority = ctx, ext, i + 1
            data = expand_expressions(expand(step.data, lambda n: self.lookup(chan, n)))
            chan.app, chan.appdata = step.app, data
            self.chan_event(
                "Newexten",
                chan,
                [("Extension", ext), ("Application", step.app), ("AppData", data)],
                "dialplan",
            )
            jump = yield from self._app(call, step, data)
            if jump is None:
                pos = (ctx, ext, i + 1)
            elif jump == "hangup":
                return
            elif jump == "return":
                pos = stack.pop() if stack else None
                if pos is not None:
                    # Asterisk's snapshot after Return: back on the Gosub's own priority
                    self._newexten_artefact(chan, pos[0], pos[1], pos[2], "Return", "")
            elif isinstance(jump, tuple):
                stack.append((ctx, ext, i + 1))
                pos = self._resolve(jump[1], ctx, ext)
                if pos is not None:
                    # ...and on entry, the target at priority 0 still running Gosub
                    self._newexten_artefact(chan, pos[0], pos[1], 0, "Gosub", data)
            else:
                pos = self._resolve(jump, ctx, ext)
                if pos is None:
                    return

    def _newexten_artefact(
        self, chan: Channel, context: str, exten: str, priority: int, app: str, data: str
    ) -> None:
        """The Newexten Asterisk emits when Gosub/Return move the channel (recorded in
        tests/data/asterisk-traces/*: `centralita-end,s,0 Gosub` and `<caller>,h,1 Return`)."""
        chan.context, chan.exten, chan.priority = context, exten, priority
        chan.app, chan.appdata = app, data
        self.chan_event(
            "Newexten",
            chan,
            [("Extension", exten), ("Application", app), ("AppData", data)],
            "dialplan",
        )

    def _wait(self, call: Call, seconds: float) -> Generator[Event, Any, None]:
        """Sleep on the caller's channel; a BYE (or a Redirect) raises CallerGone."""
        if call.in_h:
            return  # apps on a hung-up channel return at once
        try:
            yield self.kernel.timeout(seconds)
        except Interrupt as exc:
            if isinstance(exc.cause, tuple) and exc.cause[0] == "key":
                raise KeyPressed(exc.cause[1]) from exc
            raise CallerGone() from exc

    def _app(self, call: Call, step: Step, data: str) -> Generator[Event, Any, str | None]:
        chan = call.chan
        app = step.app
        if app == "Answer":
            if chan.state != 6:
                self.set_state(chan, 6)
                chan.answered_at = self.kernel.now
                if call.script.hangup_after is not None:
                    call.patience_timer = self.kernel.call_later(
                        call.script.hangup_after, self.caller_hangup, call
                    )
                for t, digit in call.script.dtmf_at:
                    self.kernel.call_later(t, self._dtmf_arrives, call, digit)
                if call.on_answer is not None:
                    call.on_answer()
                elif chan.tech != "Local":
                    yield from self._wait(call, 0.5)
        elif app == "SendDTMF":
            parts = data.split(",")
            duration = int(parts[1]) / 1000 if len(parts) > 1 and parts[1] else 0.25
            gap = int(parts[2]) / 1000 if len(parts) > 2 and parts[2] else 0.25
            for digit in parts[0]:
                yield from self._wait(call, gap)
                if call.peer is not None and not call.peer.chan.gone:
                    self.chan_event(
                        "DTMFBegin", call.peer.chan, [("Digit", digit), ("Direction", "Received")]
                    )
                yield from self._wait(call, duration)
                if call.peer is not None and not call.peer.chan.gone:
                    self.chan_event(
                        "DTMFEnd",
                        call.peer.chan,
                        [
                            ("Digit", digit),
                            ("DurationMs", str(int(duration * 1000))),
                            ("Direction", "Received"),
                        ],
                    )
                    self._dtmf_arrives(call.peer, digit)
        elif app == "Set":
            name, _, value = data.partition("=")
            if name == "CDR(userfield)":
                chan.userfield = value
            elif name.startswith("CDR("):
                pass
            elif name == "CHANNEL(language)":
                chan.language = value or chan.language
            elif name in ("CALLERID(num)", "CALLERID(name)"):
                if name == "CALLERID(num)":
                    chan.caller_num = value
                else:
                    chan.caller_name = value
                self.chan_event(
                    "NewCallerid",
                    chan,
                    [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")],
                )
            else:
                self.setvar(chan, name, value)
        elif app == "Hangup":
            chan.cause = 16
            return "hangup"
        elif app == "Playback":
            for f in data.split("&"):
                yield from self._wait(call, self.prompt_length(f, chan.language))
            self.setvar(chan, "PLAYBACKSTATUS", "SUCCESS")
        elif app == "Wait":
            yield from self._wait(call, float(data or 0))
        elif app == "GotoIf":
            cond, _, dest = data.partition("?")
            yes, _, no = dest.partition(":")
            target = yes if eval_condition(cond) else no
            return target or None
        elif app == "Goto":
            return data
        elif app == "Gosub":
            return ("gosub", data.split("(", 1)[0])
        elif app == "Return":
            return "return"
        elif app == "ExecIf":
            cond, _, rest = data.partition("?")
            if eval_condition(cond) and rest.startswith("Set("):
                name, _, value = rest[4:].rstrip(")").partition("=")
                self.setvar(chan, name, value)
        elif app == "Read":
            yield from self._read_app(call, data)
        elif app == "Record":
            yield from self._wait(call, 8.0)
            self.setvar(chan, "RECORD_STATUS", "SILENCE")
        elif app == "Dial" and (peer := interpbx.peer_target(self, data)) is not None:
            yield from interpbx.dial_peer(self, call, *peer)
        elif app == "Dial" and (target := outbound.trunk_target(self, data)) is not None:
            yield from outbound.dial_trunk(self, call, *target)
        elif app == "ChanSpy":
            yield from outbound.chanspy(self, call, data)
        elif app == "Dial":
            parts = data.split(",")
            yield from self._wait(
                call, min(float(parts[1]) if len(parts) > 1 and parts[1] else 20.0, 20.0)
            )
            self.setvar(chan, "DIALSTATUS", "NOANSWER")
        elif app == "Queue":
            return (yield from queue_model.queue_app(self, call, data))
        elif app == "AGI":
            if self.agi_client is None and call.script.preset:
                yield from self._wait(call, call.script.ivr_seconds)
                for name, value in call.script.preset.items():
                    self.setvar(chan, name, value)
                self.setvar(chan, "AGISTATUS", "SUCCESS")
            elif self.agi_client is None:
                self.setvar(chan, "AGISTATUS", "FAILURE")
            elif call.in_h:
                with contextlib.suppress(CallerGone):  # DeadAGI-style run from the h extension
                    yield from self.agi_client.run(self, call, data)
            else:
                yield from self.agi_client.run(self, call, data)
        return None

    def _read_app(self, call: Call, data: str) -> Generator[Event, Any, None]:
        """Read(var,prompt[&prompt],maxdigits,options,attempts,timeout) with the caller's script."""
        parts = data.split(",")
        var = parts[0]
        prompts = [p for p in (parts[1] if len(parts) > 1 else "").split("&") if p]
        maxd = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 1024
        timeout = float(parts[5]) if len(parts) > 5 and parts[5] else 5.0
        for p in prompts:
            call.prompts.append(p)
            yield from self._wait(call, self.prompt_length(p, call.chan.language))
        digits = ""
        script = call.script
        if script.dtmf_fn is not None:
            digits = str(script.dtmf_fn(list(call.prompts)) or "")  # type: ignore[operator]
        elif script.dtmf:
            digits = script.dtmf[call.dtmf_idx] if call.dtmf_idx < len(script.dtmf) else ""
            call.dtmf_idx += 1
        digits = "".join(c for c in digits if c in "0123456789*")[:maxd]
        yield from self._wait(call, script.dtmf_delay if digits else timeout)
        self.setvar(call.chan, var, digits)
        self.setvar(call.chan, "READSTATUS", "OK" if digits else "TIMEOUT")

    def prompt_length(self, name: str, language: str) -> float:
        """How long `name` plays on a channel speaking `language`: the language's own
        copy first (Asterisk's sounds/<lang>/<name>), then a language-neutral entry."""
        table = self.prompt_seconds
        seconds = table.get(f"{language}/{name}")
        if seconds is None:
            seconds = table.get(name)
        return self.default_prompt_s if seconds is None else seconds

    def _dtmf_arrives(self, call: Call, digit: str) -> None:
        call.dtmf_buffer.append((self.kernel.now, digit))
        ev = getattr(call, "_dtmf_waiter", None)
        if ev is not None and not ev.triggered:
            ev.succeed(digit)

    def hangup_agent(self, chan: Channel) -> None:
        """The agent phone sends BYE during a bridged call."""
        if chan.gone or chan.hangup_requested:
            return
        chan.hangup_requested = True
        self.chan_event("HangupRequest", chan)
        consult = self.consults.get(chan.name)
        if consult is not None:  # the agent was consulting: see pbxsim.attended_transfer
            attended_transfer.transferer_hung_up(self, consult)
            return
        call = self.bridged_calls.get(chan.name)
        if call is not None and call.bridged_with is chan and call.proc is not None:
            call.proc.interrupt("agent")
