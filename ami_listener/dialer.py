"""The dialer: the one place that sends Originate, on an AMI login of its own.

The panel writes a checked request (an `outbound_call` row in `requested`) and an
entry on the `<prefix>:calling:requests` stream. The dialer claims the row (never
twice: `servicedesk.outbound.claim`), checks the number against the dial rules
again, and sends Originate: the agent's phone first (Channel=PJSIP/<agent>), then,
once answered, the `centralita-outbound` context dials the customer with the
desk's caller ID. It follows its calls from the AMI events its user may read
(OriginateResponse by ActionID = request id, then DialEnd and Hangup by the agent
channel's Uniqueid) and records each step on the row.

Why a separate AMI user: the listener's user only reads and manages queue members;
only this user may originate (manager.conf `write = originate,call`). Without its
secret (`calling.dialer_secret_env`) the dialer does not start and says so once.
ChanSpyStart/ChanSpyStop are audited here too (`servicedesk.supervision`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.callback_scheduler import CallbackScheduler, LiveState
from ami_listener.db_thread import DatabaseThread
from ami_listener.link import AmiLink, Backoff
from ami_listener.parser import AmiMessage, AmiParser, header
from servicedesk import callback_figures, callbacks, outbound, supervision
from servicedesk.bus import Bus
from servicedesk.config import AgentConfig, CentralitaConfig, Connections
from servicedesk.crosspbx_config import transfer_context, transfer_peers
from servicedesk.db import session_scope
from servicedesk.dialrules import DialRefused, check
from servicedesk.models import Incident

log = logging.getLogger(__name__)

OUTBOUND_CONTEXT = "centralita-outbound"
SUPERVISE_CONTEXT = "centralita-supervise"
TRANSFER_CONTEXT = "centralita-transfer"
EVENTS = (
    "OriginateResponse",
    "DialEnd",
    "Hangup",
    "ChanSpyStart",
    "ChanSpyStop",
    "BlindTransfer",
    "AttendedTransfer",
    "AgentConnect",
    "AgentComplete",
)
ATXFER_STEPS = ("start", "complete", "cancel")
# Asterisk's default atxfercomplete, which the generated features.conf keeps
ATXFER_COMPLETE_CODE = "*2"
REQUEST_MAX_AGE_S = 120.0  # a click older than this is not dialled any more


def requests_key(bus: Bus) -> str:
    return outbound.requests_stream(bus.keys.prefix)


def _at(msg: AmiMessage) -> datetime:
    raw = header(msg, "Timestamp")
    try:
        value = float(raw)
    except ValueError:
        value = time.time()
    if not 0.0 < value < 1e11:
        value = time.time()
    return datetime.fromtimestamp(value, UTC)


def _cid_name(text: str) -> str:
    """A display name safe inside `"..." <...>`: no quotes, angle brackets or controls."""
    clean = "".join(ch for ch in text if ch.isprintable() and ch not in '"<>\\;')
    return clean.strip()[:40]


class Dialer:
    def __init__(
        self,
        cfg: CentralitaConfig,
        session_factory: sessionmaker[Session],
        bus: Bus,
        secret: str,
        *,
        backoff: Backoff | None = None,
        block_ms: int = 1000,
        action_timeout: float = 10.0,
        on_event: Callable[[AmiMessage], None] | None = None,
        live: LiveState | None = None,
        db: DatabaseThread | None = None,
    ) -> None:
        self.cfg = cfg
        self._own_db = db is None
        self.db = db or DatabaseThread("dialer-db")  # the listener's, shared, when it runs one
        self.factory = session_factory
        self.bus = bus
        self.block_ms = block_ms
        self.action_timeout = action_timeout
        self.extra_handler = on_event
        self.agents: dict[str, AgentConfig] = {a.login: a for a in cfg.agents}
        ami = cfg.connections.ami
        self.link = AmiLink(
            ami.host,
            ami.port,
            cfg.calling.dialer_username,
            secret,
            parser=AmiParser(wanted_events=EVENTS, wanted_variables=()),
            on_event=self._on_event,
            events="call,agent",
            ping_interval=ami.ping_interval,
            ping_timeout=ami.ping_timeout,
            backoff=backoff,
        )
        self.by_action: dict[str, str] = {}  # ActionID (= request id) -> request id
        self.by_uid: dict[str, str] = {}  # agent channel Uniqueid -> request id
        self.busy: dict[str, str] = {}  # request id -> agent login, until the call is over
        self.spies: dict[str, tuple[str, str]] = {}  # supervisor endpoint -> (request, actor)
        self.spy_channels: dict[str, tuple[str, str]] = {}  # spyer channel -> (request, actor)
        self.agent_channels: dict[str, str] = {}  # agent login -> channel of their queue call
        self.logins = {a.interface: a.login for a in cfg.agents}
        self.sent = 0
        self._tasks: list[asyncio.Task[Any]] = []
        self._writes: asyncio.Queue[Callable[[Session], None]] = asyncio.Queue()
        self.scheduler = CallbackScheduler(self, live) if live is not None else None

    # --- lifecycle --------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.link.run(), name="dialer-link"),
            asyncio.create_task(self._requests(), name="dialer-requests"),
            asyncio.create_task(self._writer(), name="dialer-writer"),
        ]
        if self.scheduler is not None:
            self._tasks.append(asyncio.create_task(self.scheduler.run(), name="callbacks"))
        for task in self._tasks:
            task.add_done_callback(_log_death)

    async def stop(self) -> None:
        self.link.stop()
        await self._drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._own_db:
            self.db.close()

    async def _drain(self) -> None:
        while not self._writes.empty():
            await asyncio.sleep(0.01)

    # --- database ----------------------------------------------------------------
    def _db(self, work: Callable[[Session], None]) -> None:
        """Queue a write; they run in order on one thread, so steps never overtake."""
        self._writes.put_nowait(work)

    async def _writer(self) -> None:
        while True:
            work = await self._writes.get()
            try:
                await self.db.run(self._run, work)
            except Exception:
                log.exception("dialer database write failed")
            finally:
                self._writes.task_done()

    def _run(self, work: Callable[[Session], Any]) -> Any:
        with session_scope(self.factory) as session:
            return work(session)

    # --- requests from the panel ---------------------------------------------------
    async def _requests(self) -> None:
        key = requests_key(self.bus)
        cursor_key = key + ":last_id"
        last = await asyncio.to_thread(self.bus.r.get, cursor_key) or "0-0"
        while True:
            try:
                entries = await asyncio.to_thread(self.bus.read, key, last, self.block_ms, 50)
            except redis.RedisError as exc:
                log.warning("calling requests stream unavailable: %s", exc)
                await asyncio.sleep(1.0)
                continue
            for entry_id, fields in entries:
                last = entry_id
                try:
                    await self.dial(entry_id, fields)
                except Exception:
                    log.exception("dial request %s failed", fields.get("request_id"))
                try:
                    await asyncio.to_thread(self.bus.r.set, cursor_key, entry_id)
                except redis.RedisError as exc:
                    log.warning("could not store the calling cursor: %s", exc)

    async def dial(self, entry_id: str, fields: dict[str, str]) -> None:
        """Claim the request and send its Originate (or record why not)."""
        rid = str(fields.get("request_id", ""))[:32]
        if not rid:
            return
        if fields.get("kind") == "spy":
            await self.spy(rid, fields)
            return
        if fields.get("kind") == "transfer":
            await self.transfer(rid, fields)
            return
        if fields.get("kind") == "atxfer":
            await self.attended_transfer(rid, fields)
            return
        age = time.time() - int(entry_id.split("-")[0]) / 1000 if "-" in entry_id else 0.0
        row = await self.db.run(self._run, lambda s: _claimed(s, rid))
        if row is None:
            log.info("dial request %s already claimed or unknown: not dialled again", rid)
            return
        if age > REQUEST_MAX_AGE_S:
            now = datetime.now(UTC)
            self._db(lambda s: self._progress(s, rid, "failed", now, reason="request expired"))
            return
        await self.originate(rid, row)

    async def originate(self, rid: str, row: dict[str, Any]) -> None:
        """Send the Originate of a claimed request."""
        now = datetime.now(UTC)
        self.busy[rid] = row["agent_login"]
        agent = self.agents.get(row["agent_login"])
        try:
            target = check(row["number"], self.cfg.calling, self.cfg.service.default_region)
        except DialRefused as exc:
            refused = str(exc)  # `exc` is unbound after the except clause; the lambda runs later
            self._db(lambda s: self._progress(s, rid, "failed", now, reason=refused))
            return
        if agent is None:
            self._db(lambda s: self._progress(s, rid, "failed", now, reason="unknown agent"))
            return
        variables = [f"CENTRALITA_OUTBOUND={rid}", f"CENTRALITA_PURPOSE={row['purpose']}"]
        if row["incident_number"] is not None:
            variables.append(f"CENTRALITA_INCIDENT={row['incident_number']}")
        action = {
            "Action": "Originate",
            "Channel": agent.interface,
            "Context": OUTBOUND_CONTEXT,
            "Exten": target.exten,
            "Priority": "1",
            "CallerID": f'"{_cid_name(row["label"])}" <{target.e164}>',
            "Timeout": str(self.cfg.calling.agent_ring_s * 1000),
            "Variable": ",".join(variables),
            "Async": "true",
            "ActionID": rid,
        }
        self.by_action[rid] = rid
        try:
            await self.link.wait_up(5.0)
            resp = await self.link.send(action, timeout=self.action_timeout)
        except (TimeoutError, ConnectionError) as exc:
            self.by_action.pop(rid, None)
            reason = f"AMI: {type(exc).__name__}"
            self._db(lambda s: self._progress(s, rid, "failed", now, reason=reason))
            return
        self.sent += 1
        if resp.get("Response") != "Success":
            self.by_action.pop(rid, None)
            reason = str(resp.get("Message") or "Originate refused")
            self._db(lambda s: self._progress(s, rid, "failed", now, reason=reason))

    async def spy(self, rid: str, fields: dict[str, str]) -> None:
        """The wallboard's listen/whisper/barge: ring the supervisor's phone into the
        supervision context, at the feature code for the agent (checked against config)."""
        endpoint = str(fields.get("endpoint", ""))
        agent = self.agents.get(str(fields.get("agent", "")))
        mode = str(fields.get("mode", ""))
        code = supervision.MODE_CODES.get(mode)
        spied = names_endpoint(agent.interface) if agent is not None else None
        if endpoint not in self.cfg.calling.supervisor_endpoints or code is None or spied is None:
            log.warning("supervision request %s refused: %r", rid, fields)
            return
        self.spies[endpoint] = (rid, str(fields.get("actor", ""))[:64])
        action = {
            "Action": "Originate",
            "Channel": f"PJSIP/{endpoint}",
            "Context": SUPERVISE_CONTEXT,
            "Exten": f"{code}{spied}",
            "Priority": "1",
            "CallerID": f'"{mode}" <{code}{spied}>',
            "Timeout": str(self.cfg.calling.agent_ring_s * 1000),
            "Async": "true",
            "ActionID": rid,
        }
        try:
            await self.link.wait_up(5.0)
            resp = await self.link.send(action, timeout=self.action_timeout)
        except (TimeoutError, ConnectionError) as exc:
            log.warning("supervision request %s not sent: %s", rid, exc)
            return
        if resp.get("Response") == "Success":
            self.sent += 1

    async def transfer(self, rid: str, fields: dict[str, str]) -> None:
        """Blind transfer of the agent's current queue caller to another queue."""
        login = str(fields.get("agent", ""))
        queue = str(fields.get("queue", ""))
        channel = self.agent_channels.get(login)
        if channel is None or queue not in self.cfg.queue_definitions():
            log.warning("transfer %s refused: no queue call for %r or unknown queue", rid, login)
            return
        context = transfer_target(self.cfg.connections, str(fields.get("pbx", "")))
        if context is None:
            log.warning("transfer %s refused: no trunk to PBX %r", rid, fields.get("pbx"))
            return
        action = {
            "Action": "BlindTransfer",
            "Channel": channel,
            "Exten": queue,
            "Context": context,
            "ActionID": rid,
        }
        try:
            await self.link.wait_up(5.0)
            resp = await self.link.send(action, timeout=self.action_timeout)
        except (TimeoutError, ConnectionError) as exc:
            log.warning("transfer %s not sent: %s", rid, exc)
            return
        if resp.get("Response") == "Success":
            self.sent += 1
        else:
            log.warning("transfer %s refused by Asterisk: %s", rid, resp.get("Message"))

    async def attended_transfer(self, rid: str, fields: dict[str, str]) -> None:
        """Attended transfer of the agent's current queue caller, one step per request:
        `start` consults another queue (Atxfer: the caller is held, the agent's phone
        rings the queue), `complete` hands the caller over (the atxfercomplete code as
        digits keyed on the agent's phone: PlayDTMF Receive), `cancel` goes back to the
        caller (CancelAtxfer). As recorded in calling_atxfer_complete / _abort."""
        login = str(fields.get("agent", ""))
        step = str(fields.get("step", ""))
        queue = str(fields.get("queue", ""))
        channel = self.agent_channels.get(login)
        if channel is None or step not in ATXFER_STEPS:
            log.warning(
                "attended transfer %s refused: no queue call for %r or bad step", rid, login
            )
            return
        actions: list[dict[str, str]]
        if step == "start":
            if queue not in self.cfg.queue_definitions():
                log.warning("attended transfer %s refused: unknown queue %r", rid, queue)
                return
            actions = [
                {
                    "Action": "Atxfer",
                    "Channel": channel,
                    "Exten": queue,
                    "Context": TRANSFER_CONTEXT,
                }
            ]
        elif step == "complete":
            actions = [
                {
                    "Action": "PlayDTMF",
                    "Channel": channel,
                    "Digit": digit,
                    "Duration": "100",
                    "Receive": "yes",
                }
                for digit in ATXFER_COMPLETE_CODE
            ]
        else:
            actions = [{"Action": "CancelAtxfer", "Channel": channel}]
        for n, action in enumerate(actions):
            action["ActionID"] = rid if n == 0 else f"{rid}-{n}"
            try:
                await self.link.wait_up(5.0)
                resp = await self.link.send(action, timeout=self.action_timeout)
            except (TimeoutError, ConnectionError) as exc:
                log.warning("attended transfer %s (%s) not sent: %s", rid, step, exc)
                return
            if resp.get("Response") != "Success":
                log.warning("attended transfer %s (%s) refused: %s", rid, step, resp.get("Message"))
                return
        self.sent += 1

    def _spy_event(self, msg: AmiMessage, kind: str) -> None:
        spyer = header(msg, "SpyerChannel")
        spyee = header(msg, "SpyeeChannel")
        mode = supervision.mode_of_exten(header(msg, "SpyerExten")) or "listen"
        endpoint = supervision.endpoint_of_channel(spyer)
        if kind == "started":
            # the wallboard's request binds to the first spy its supervisor phone starts
            pending = self.spies.pop(endpoint, None)
            if pending is not None:
                self.spy_channels[spyer] = pending
        else:
            pending = self.spy_channels.pop(spyer, None)
        rid, actor = pending if pending is not None else (None, endpoint)
        spied_ep = supervision.endpoint_of_channel(spyee)
        login = next(
            (a.login for a in self.agents.values() if names_endpoint(a.interface) == spied_ep),
            None,
        )
        at = _at(msg)
        self._db(
            lambda s: supervision.record(
                s,
                kind=kind,
                mode=mode,
                actor=actor,
                source="panel" if rid is not None else "phone",
                at=at,
                agent_login=login,
                spyer_channel=spyer,
                spyee_channel=spyee,
                request_id=rid,
            )
        )

    def _progress(self, session: Session, rid: str, status: str, at: datetime, **kw: Any) -> None:
        """Record a step; a finished call frees its agent and settles its callback."""
        row = outbound.progress(session, rid, status, at, **kw)
        if row is None:
            return
        if row.status in outbound.FINAL_STATUSES:
            self.busy.pop(rid, None)
        if row.callback_id is not None and (
            row.status in outbound.FINAL_STATUSES or row.status == "answered"
        ):
            callbacks.settle(session, row.callback_id, row.status, self.cfg.calling.callback, at)
            self.callback_figures(session, row.callback_id)

    def callback_figures(self, session: Session, callback_id: int | None = None) -> None:
        """Republish the wallboard's callback figures (one request's queue and day, or
        today's for every queue); a Redis fault only delays them to the next change."""
        tz = ZoneInfo(self.cfg.service.timezone)
        try:
            if callback_id is not None:
                callback_figures.refresh_request(self.bus, session, callback_id, tz)
            else:
                day = callback_figures.day_of(datetime.now(UTC), tz)
                callback_figures.refresh(self.bus, session, day, tz, self.cfg.queue_definitions())
        except redis.RedisError as exc:
            log.warning("callback figures not published: %s", exc)

    def busy_logins(self) -> set[str]:
        return set(self.busy.values())

    # --- events ---------------------------------------------------------------------
    def _on_event(self, msg: AmiMessage) -> None:
        event = header(msg, "Event")
        if event == "OriginateResponse":
            rid = self.by_action.pop(header(msg, "ActionID"), None)
            if rid is None:
                return
            at = _at(msg)
            if header(msg, "Response") == "Success":
                uid = header(msg, "Uniqueid")
                self.by_uid[uid] = rid
                self._db(lambda s: self._progress(s, rid, "dialling", at, uniqueid=uid))
            else:
                reason = f"agent phone: reason {header(msg, 'Reason')}"
                self._db(lambda s: self._progress(s, rid, "agent_unreachable", at, reason=reason))
        elif event == "DialEnd":
            rid = self.by_uid.get(header(msg, "Uniqueid"))
            status = outbound.DIAL_STATUS.get(header(msg, "DialStatus"))
            if rid is not None and status is not None:
                at = _at(msg)
                self._db(lambda s: self._progress(s, rid, status, at))
        elif event == "AgentConnect":
            login = self.logins.get(header(msg, "Interface"))
            if login is not None:
                self.agent_channels[login] = header(msg, "DestChannel")
        elif event == "AgentComplete":
            login = self.logins.get(header(msg, "Interface"))
            if login is not None and self.agent_channels.get(login) == header(msg, "DestChannel"):
                del self.agent_channels[login]
        elif event == "ChanSpyStart":
            self._spy_event(msg, "started")
        elif event == "ChanSpyStop":
            self._spy_event(msg, "stopped")
        elif event == "Hangup":
            rid = self.by_uid.pop(header(msg, "Uniqueid"), None)
            if rid is not None:
                at = _at(msg)
                self._db(lambda s: self._progress(s, rid, "ended", at))
        if self.extra_handler is not None:
            self.extra_handler(msg)


async def start_dialer(
    cfg: CentralitaConfig,
    session_factory: sessionmaker[Session] | None,
    bus: Bus | None,
    **options: Any,
) -> Dialer | None:
    """The dialer, started, when its secret, a database and Redis are all there; else None."""
    secret = cfg.calling.dialer_secret()
    if not secret or session_factory is None or bus is None:
        log.info(
            "calling features off: set %s (manager user %s) to enable the dialer",
            cfg.calling.dialer_secret_env,
            cfg.calling.dialer_username,
        )
        return None
    dialer = Dialer(cfg, session_factory, bus, secret, **options)
    await dialer.start()
    return dialer


def _claimed(session: Session, rid: str) -> dict[str, Any] | None:
    row = outbound.claim(session, rid)
    if row is None:
        return None
    incident = session.get(Incident, row.incident_id) if row.incident_id is not None else None
    label = incident.display_number if incident is not None else row.number
    return {
        "agent_login": row.agent_login,
        "number": row.number,
        "purpose": row.purpose,
        "incident_number": incident.number if incident is not None else None,
        "label": label,
    }


def transfer_target(conns: Connections, pbx: str) -> str | None:
    """The context a transfer to a queue of PBX `pbx` goes to ("" or ours: this box's
    own queues), None when this box has no inter-PBX trunk to it."""
    if pbx in ("", conns.pbx_id):
        return TRANSFER_CONTEXT
    if pbx in transfer_peers(conns.pbxs, conns.pbx_id):
        return transfer_context(pbx)
    return None


def names_endpoint(interface: str) -> str | None:
    """`PJSIP/1001` → `1001`; None for other technologies."""
    tech, _, rest = interface.partition("/")
    return rest if tech == "PJSIP" and rest else None


def _log_death(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("dialer task %s died: %r", task.get_name(), exc)
