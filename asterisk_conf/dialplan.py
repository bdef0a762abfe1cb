"""extensions.conf: the lines, the IVR hand-off, the queue and every way out of it.

Shape per line DID (the cross-part contract): Set(CENTRALITA_LINE) → Answer →
AGI(agi://host:port/ivr) → branch on CENTRALITA_ACTION. Before the AGI the
dialplan sets safe defaults (the line's language, its general queue and rule),
so if the IVR is down or returns garbage the caller still reaches a person.

Asterisk 22 note: app_macro is gone and Queue() lost its `macro` argument in
Asterisk 21, so the penalty rule is Queue()'s 8th argument:
Queue(queuename,options,URL,announceoverride,timeout,AGI,gosub,rule,position)
(asterisk/asterisk#1534 and PR #1543). Writing the 20-era nine-argument form
would hand the rule name to `position`.

FastAGI scripts the dialplan runs (all at connections.fastagi host:port):
``ivr`` (the main flow), ``voicemail`` (turns CENTRALITA_RECORDING, the full .wav
path, into an incident; runs from the voicemail path or from the h extension if the
caller hung up while recording), ``callback`` (stores a callback request unless the
IVR already did and set CENTRALITA_CALLBACK_ID), ``survey`` (post-call survey, only
when CENTRALITA_SURVEY = 1). A script that fails (AGISTATUS != SUCCESS) or stores
nothing never strands the caller: callback falls back to a message, voicemail
still says goodbye. Queue exits set CENTRALITA_EXIT to the QUEUESTATUS that sent
the call to overflow.

The survey needs a live caller. Without Queue()'s `c` option Asterisk hangs the
caller up with the agent, and a survey run from the h extension meets a dead
channel (GET DATA answers "511 Command Not Permitted on a dead channel"). So
Queue() runs with `tc`: when the agent hangs up, Queue() returns with
QUEUESTATUS = CONTINUE and the caller, still connected, goes to the survey
context, which runs it once (CENTRALITA_SURVEY_DONE) and only after a talk with
an agent; callback, message and IVR-only calls are not surveyed. A caller who
hangs up first never reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from servicedesk.config import CentralitaConfig
from servicedesk.routing import line_defaults

from . import names
from .prompt_catalogue import AFTER_HOURS_DIGITS, CALLBACK_DIGITS
from .render import Section, comment_text, render_file
from .site import SiteOptions

QUEUE_OPTIONS = "tc"  # t: the agent may transfer; c: the caller continues when the agent hangs up
QUEUE_APP = (
    f"Queue(${{CENTRALITA_QUEUE}},{QUEUE_OPTIONS},,,${{CENTRALITA_MAXWAIT}},,,${{CENTRALITA_RULE}})"
)


@dataclass
class Exten:
    """One extension's priorities; the first is 1, then `same => n`."""

    name: str
    steps: list[tuple[str | None, str]] = field(default_factory=list)

    def add(self, app: str, label: str | None = None) -> Exten:
        self.steps.append((label, app))
        return self

    def lines(self) -> list[str]:
        out: list[str] = []
        for i, (label, app) in enumerate(self.steps):
            prio = "1" if i == 0 else "n"
            if label:
                prio += f"({label})"
            if i == 0:
                out.append(f"exten => {self.name},{prio},{app}")
            else:
                out.append(f" same => {prio},{app}")
        return out


@dataclass
class Context:
    name: str
    comments: list[str] = field(default_factory=list)
    extens: list[Exten] = field(default_factory=list)

    def exten(self, name: str) -> Exten:
        ext = Exten(name)
        self.extens.append(ext)
        return ext

    def render(self) -> str:
        lines = [f"; {comment_text(c)}" for c in self.comments]
        lines.append(f"[{self.name}]")
        for i, ext in enumerate(self.extens):
            if i:
                lines.append("")
            lines.extend(ext.lines())
        return "\n".join(lines) + "\n"


@dataclass
class DialplanBuilder:
    cfg: CentralitaConfig
    site: SiteOptions
    prompts_used: set[str] = field(default_factory=set)

    def prompt(self, key: str) -> str:
        """A catalogue prompt as a sound name; remembered so `conf check` can verify it."""
        self.prompts_used.add(key)
        return f"{names.PROMPT_DIR}/{key}"

    def agi(self, script: str) -> str:
        fa = self.cfg.connections.fastagi
        return f"AGI({names.agi_url(fa.host, fa.port, script)})"

    # --- per line -------------------------------------------------------------

    def line_defaults(self, name: str) -> dict[str, str]:
        """What the call does if the IVR never answers: the line's general queue.

        The values come from `servicedesk.routing.line_defaults`, which the IVR also
        uses to skip SET VARIABLEs that would repeat them; only the survey flag is ours.
        """
        values = line_defaults(self.cfg, name)
        action = values.pop("CENTRALITA_ACTION")
        values["CENTRALITA_SURVEY"] = "1" if self.site.survey else "0"
        values["CENTRALITA_ACTION"] = action
        return values

    def did_aliases(self, did: str) -> list[str]:
        """`+<did>`, and the last 10 digits when no other line shares them."""
        aliases = [f"+{did}"]
        national = did[-10:]
        others = [ln.did.lstrip("+") for ln in self.cfg.lines.values()]
        if national != did and sum(o[-10:] == national for o in others) == 1:
            aliases.append(national)
        return aliases

    def inbound(self) -> Context:
        ctx = Context(
            names.INBOUND_CONTEXT,
            comments=[
                "Inbound calls from the trunk: one extension per line DID.",
                "The IVR (FastAGI) sets CENTRALITA_ACTION and the routing variables;",
                "the defaults set before it make an unreachable IVR end in the general queue.",
            ],
        )
        for name, line in sorted(self.cfg.lines.items(), key=lambda kv: kv[1].did.lstrip("+")):
            did = line.did.lstrip("+")
            ext = ctx.exten(did)
            ext.add(f"NoOp(Centralita line {name})")
            ext.add(f"Set(CENTRALITA_LINE={name})")
            ext.add(f"Set(CDR(userfield)={name})")
            for var, value in self.line_defaults(name).items():
                ext.add(f"Set({var}={value})")
            ext.add(f"Set(CHANNEL(language)={line.language})")
            ext.add("Answer()")
            ext.add(self.agi("ivr"))
            for action, target in (
                ("voicemail", names.VOICEMAIL_CONTEXT),
                ("callback", names.CALLBACK_CONTEXT),
                ("oncall", names.ONCALL_CONTEXT),
                ("hangup", names.HANGUP_CONTEXT),
            ):
                ext.add(f'GotoIf($["${{CENTRALITA_ACTION}}" = "{action}"]?{target},s,1)')
            ext.add("Set(CHANNEL(language)=${IVR_LANG})", label="queue")
            ext.add(QUEUE_APP)
            ext.add(f"Goto({names.AFTER_QUEUE_CONTEXT},s,1)")
            # Providers that keep the '+' of an E.164 DID, or send only the national
            # 10 digits, reach the same extension (the IVR then sees the full DID).
            for alias in self.did_aliases(did):
                ctx.exten(alias).add(f"Goto({names.INBOUND_CONTEXT},{did},1)")
        self._hangup_hook(ctx)
        return ctx

    # --- shared paths ---------------------------------------------------------

    def _hangup_hook(self, ctx: Context) -> None:
        ctx.exten("h").add(f"Gosub({names.END_CONTEXT},s,1)")

    def after_queue(self) -> Context:
        ctx = Context(
            names.AFTER_QUEUE_CONTEXT,
            comments=["Queue() returned: nobody answered (QUEUESTATUS) or the call is over."],
        )
        ext = ctx.exten("s").add("NoOp(QUEUESTATUS=${QUEUESTATUS})")
        ext.add(f'GotoIf($["${{QUEUESTATUS}}" = "CONTINUE"]?{names.SURVEY_CONTEXT},s,1)')
        for status in names.OVERFLOW_STATUSES:
            ext.add(f'GotoIf($["${{QUEUESTATUS}}" = "{status}"]?{names.OVERFLOW_CONTEXT},s,1)')
        ext.add("Hangup()")
        self._hangup_hook(ctx)
        return ctx

    def overflow(self) -> Context:
        ctx = Context(
            names.OVERFLOW_CONTEXT,
            comments=[
                "No agent took the call: offer a message (becomes an incident) or a callback.",
                "Any answer other than the callback digit, or none, records a message.",
            ],
        )
        ext = ctx.exten("s")
        ext.add("Set(CHANNEL(language)=${IVR_LANG})")
        ext.add("Set(CENTRALITA_EXIT=${QUEUESTATUS})")
        ext.add(f"Playback({self.prompt('no_agents')})")
        offer = f"{self.prompt('message_offer')}&{self.prompt('callback_offer')}"
        ext.add(f"Read(CENTRALITA_CHOICE,{offer},1,,2,5)")
        digit = AFTER_HOURS_DIGITS["callback"]
        ext.add(f'GotoIf($["${{CENTRALITA_CHOICE}}" != "{digit}"]?{names.VOICEMAIL_CONTEXT},s,1)')
        # the same confirmation as the IVR's own callback offer (IvrCall.callback)
        ext.add(f"Read(CENTRALITA_CONFIRM,{self.prompt('callback_confirm')},1,,1,5)")
        confirm = CALLBACK_DIGITS["confirm"]
        ext.add(f'GotoIf($["${{CENTRALITA_CONFIRM}}" = "{confirm}"]?{names.CALLBACK_CONTEXT},s,1)')
        ext.add(f"Goto({names.VOICEMAIL_CONTEXT},s,1)")
        self._hangup_hook(ctx)
        return ctx

    def voicemail(self) -> Context:
        ctx = Context(
            names.VOICEMAIL_CONTEXT,
            comments=[
                "Record a message; the `voicemail` FastAGI script turns it into an incident",
                "(channel `phone`, recording path in CENTRALITA_RECORDING). If the caller hangs",
                "up while recording, the h extension runs the same script.",
            ],
        )
        recording = (
            f"{self.site.recordings_dir.rstrip('/')}/"
            "${CUT(UNIQUEID,.,1)}-${CUT(UNIQUEID,.,2)}.wav"
        )
        ext = ctx.exten("s")
        ext.add("Set(CHANNEL(language)=${IVR_LANG})")
        ext.add(f"Playback({self.prompt('record_after_tone')})")
        ext.add(f"Set(CENTRALITA_RECORDING={recording})")
        ext.add("Record(${CENTRALITA_RECORDING},5,300,k)")
        ext.add(self.agi("voicemail"))
        ext.add("Set(CENTRALITA_VM_DONE=1)")
        ext.add('GotoIf($["${AGISTATUS}" != "SUCCESS"]?bye)')
        ext.add(f"Playback({self.prompt('message_saved')})")
        ext.add(f"Playback({self.prompt('goodbye')})", label="bye")
        ext.add("Hangup()")
        self._hangup_hook(ctx)
        return ctx

    def callback(self) -> Context:
        ctx = Context(
            names.CALLBACK_CONTEXT,
            comments=[
                "Callback request: the IVR may already have stored it (CENTRALITA_CALLBACK_ID);",
                "otherwise the `callback` FastAGI script stores it. Failure falls back to a message.",
            ],
        )
        ext = ctx.exten("s")
        ext.add("Set(CHANNEL(language)=${IVR_LANG})")
        ext.add('GotoIf($["${CENTRALITA_CALLBACK_ID}" != ""]?done)')
        ext.add(self.agi("callback"))
        # failed, or nothing stored (no caller number): never say "registered"
        ext.add(f'GotoIf($["${{CENTRALITA_CALLBACK_ID}}" = ""]?{names.VOICEMAIL_CONTEXT},s,1)')
        ext.add(f"Playback({self.prompt('callback_registered')})", label="done")
        ext.add(f"Playback({self.prompt('goodbye')})")
        ext.add("Hangup()")
        self._hangup_hook(ctx)
        return ctx

    def oncall(self) -> Context:
        ctx = Context(
            names.ONCALL_CONTEXT,
            comments=[
                "24x7 critical cover: dial the on-call engineer through the trunk.",
                "Only digits and '+' reach Dial(); no answer falls back to a message.",
            ],
        )
        default = self.cfg.escalation.on_call_number
        ext = ctx.exten("s")
        ext.add("Set(CHANNEL(language)=${IVR_LANG})")
        ext.add(f'ExecIf($["${{CENTRALITA_ONCALL}}" = ""]?Set(CENTRALITA_ONCALL={default}))')
        ext.add("Set(CENTRALITA_ONCALL=${FILTER(0-9+,${CENTRALITA_ONCALL})})")
        ext.add(f"Playback({self.prompt('oncall_connecting')})")
        ext.add(f"Dial(PJSIP/${{CENTRALITA_ONCALL}}@{names.TRUNK_ENDPOINT},45)")
        ext.add('GotoIf($["${DIALSTATUS}" = "ANSWER"]?done)')
        ext.add(f"Playback({self.prompt('oncall_unavailable')})")
        ext.add(f"Goto({names.VOICEMAIL_CONTEXT},s,1)")
        ext.add("Hangup()", label="done")
        self._hangup_hook(ctx)
        return ctx

    def hangup(self) -> Context:
        ctx = Context(names.HANGUP_CONTEXT, comments=["The IVR finished the call."])
        ext = ctx.exten("s")
        ext.add("Set(CHANNEL(language)=${IVR_LANG})")
        ext.add(f"Playback({self.prompt('goodbye')})")
        ext.add("Hangup()")
        self._hangup_hook(ctx)
        return ctx

    def survey(self) -> Context:
        ctx = Context(
            names.SURVEY_CONTEXT,
            comments=[
                "The agent hung up (Queue() option c, QUEUESTATUS = CONTINUE): the caller is",
                "still on the line. Run the survey once when CENTRALITA_SURVEY = 1, then hang up.",
            ],
        )
        ext = ctx.exten("s")
        ext.add('GotoIf($["${CENTRALITA_SURVEY}" != "1"]?done)')
        ext.add('GotoIf($["${CENTRALITA_SURVEY_DONE}" = "1"]?done)')
        ext.add("Set(CENTRALITA_SURVEY_DONE=1)")
        ext.add("Set(CHANNEL(language)=${IVR_LANG})")
        ext.add(self.agi("survey"))
        ext.add("Hangup()", label="done")
        self._hangup_hook(ctx)
        return ctx

    def end(self) -> Context:
        ctx = Context(
            names.END_CONTEXT,
            comments=[
                "Gosub from every h extension: log the call and finish a message the caller",
                "hung up on. Nothing here talks to the caller: the channel is already gone.",
            ],
        )
        ext = ctx.exten("s")
        ext.add(
            "NoOp(Centralita end ${UNIQUEID} line=${CENTRALITA_LINE} action=${CENTRALITA_ACTION}"
            " queue=${CENTRALITA_QUEUE} status=${QUEUESTATUS} cause=${HANGUPCAUSE})"
        )
        ext.add('GotoIf($["${CENTRALITA_RECORDING}" = ""]?done)')
        ext.add('GotoIf($["${CENTRALITA_VM_DONE}" = "1"]?done)')
        ext.add(self.agi("voicemail"))
        ext.add("Set(CENTRALITA_VM_DONE=1)")
        ext.add("Return()", label="done")
        return ctx

    def agents(self) -> Context:
        ctx = Context(
            names.AGENTS_CONTEXT,
            comments=[
                "Calls placed by agent phones: agent-to-agent by login; the queues' transfer",
                "codes (keyed after #1 or *2).",
            ],
        )
        for agent in sorted(self.cfg.agents, key=lambda a: a.login):
            endpoint = names.endpoint_of(agent.interface)
            if endpoint is None:
                continue
            ext = ctx.exten(endpoint)
            ext.add(f"Dial(PJSIP/{endpoint},30)")
            ext.add("Hangup()")
        from .calling import add_transfer_codes  # calling builds on this module

        add_transfer_codes(ctx, self.cfg)
        return ctx

    def render(self) -> str:
        general = (
            Section("general")
            .add("static", "yes")
            .add("writeprotect", "no")
            .add("clearglobalvars", "no")
        )
        globals_ = Section("globals").add("CENTRALITA_PBX", self.cfg.connections.pbx_id)
        contexts = [
            self.inbound(),
            self.after_queue(),
            self.survey(),
            self.overflow(),
            self.voicemail(),
            self.callback(),
            self.oncall(),
            self.hangup(),
            self.end(),
            self.agents(),
        ]
        return render_file([general.render(), globals_.render()] + [c.render() for c in contexts])


def build_extensions(cfg: CentralitaConfig, site: SiteOptions) -> tuple[str, set[str]]:
    """The extensions.conf text and the prompt keys it plays."""
    builder = DialplanBuilder(cfg, site)
    text = builder.render()
    return text, set(builder.prompts_used)
