"""What the IVR flows need from the rest of the system, behind one async interface.

The flows only see `IvrServices`, so they run unchanged on either transport and
in tests. `StoreServices` is the production implementation: database work runs
in a worker thread (`asyncio.to_thread`) with one short session per request, so
the event loop never blocks on SQL; live Redis state (agent availability, queue
statistics) is read at most once per `live_ttl` seconds per server and shared by
all sessions, which keeps the per-call CPU cost flat as call volume grows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from servicedesk.config import CentralitaConfig
from servicedesk.routing import AgentAvailability, AvailabilityView
from servicedesk.values import DIGITS

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    status: str  # found | ambiguous | unknown | withheld | failed
    via: str = "ani"  # ani | customer_number
    contact_id: int | None = None
    organisation_id: int | None = None
    contract_id: int | None = None
    language: str | None = None
    vip: bool = False
    critical_24x7: bool = False

    @property
    def known(self) -> bool:
        return self.status == "found"


@dataclass(frozen=True, slots=True)
class IncidentInfo:
    number: int
    status: str
    priority: str
    level: int


@dataclass(frozen=True, slots=True)
class QueueStats:
    waiting: int
    logged_in: int
    available: int
    asa_s: float | None  # today's average speed of answer, None before the first answer
    aht_s: float | None = None  # today's mean talk time plus the queue's wrap-up; None before one
    handled: int = 0  # calls today whose talk time is in aht_s


MIN_HANDLED_FOR_ESTIMATE = 10


def estimated_wait_s(stats: QueueStats, max_wait_s: int | None = None) -> int | None:
    """When this caller can expect an agent, from free agents and handle time.

    A free agent for every caller ahead and this one means no wait. Otherwise the
    callers that no free agent takes must wait for busy agents to finish: every busy
    agent frees up once per handle time (the whole AHT is used, not half: a call's
    remaining time is unknown and a promise broken is worse than a long one). ASA
    is not used: it describes callers who were answered quickly, and says nothing
    when the only agent is on a long call. None (no estimate) when nothing honest
    can be said: no handle time yet, nobody serving, or a wait past `max_wait_s`,
    when the caller will be offered a message or a callback first. A handle time
    from fewer than MIN_HANDLED_FOR_ESTIMATE calls is no basis either: on the real
    PBX one 6 s test call made a 10-minute wait sound like "less than a minute".
    """
    need = stats.waiting + 1 - stats.available
    if need <= 0:
        return 0
    serving = stats.logged_in - stats.available
    if stats.aht_s is None or stats.aht_s <= 0 or serving <= 0:
        return None
    if stats.handled < MIN_HANDLED_FOR_ESTIMATE:
        return None
    est = int(math.ceil(math.ceil(need / serving) * stats.aht_s))
    if max_wait_s is not None and est > max_wait_s:
        return None
    return est


class IvrServices(Protocol):
    async def identify(self, ani: str) -> CallerIdentity: ...
    async def identify_by_number(self, digits: str) -> CallerIdentity: ...
    async def availability(self) -> AvailabilityView | None: ...
    async def queue_stats(self, queue: str) -> QueueStats | None: ...
    async def incident_status(self, digits: str) -> IncidentInfo | None: ...
    async def create_message_incident(
        self,
        *,
        identity: CallerIdentity | None,
        recording_path: str,
        language: str,
        ani: str,
        uniqueid: str,
        category: str | None = None,
        reason: str = "",
    ) -> int: ...
    async def request_callback(
        self, *, uniqueid: str, number: str, identity: CallerIdentity | None, language: str
    ) -> int: ...
    async def record_survey(self, *, uniqueid: str, score: int) -> bool: ...
    def now(self) -> datetime: ...


class _TtlCache:
    """One value per key, refreshed at most every `ttl` s; concurrent misses share one fetch."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._values: dict[str, tuple[float, Any]] = {}
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    async def get(self, key: str, fetch: Callable[[], Awaitable[T]]) -> T:
        now = time.monotonic()
        hit = self._values.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]  # type: ignore[no-any-return]
        fut = self._inflight.get(key)
        if fut is not None:
            return await asyncio.shield(fut)  # type: ignore[no-any-return]
        fut = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            value = await fetch()
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved
            raise
        else:
            fut.set_result(value)
            self._values[key] = (time.monotonic(), value)
            return value
        finally:
            self._inflight.pop(key, None)


LIVE_TIMEOUT_S = 0.2  # a live (Redis) read never holds a caller longer than this
log = logging.getLogger("centralita.ivr.services")


def _fail_fast(client: Any, timeout: float) -> Any:
    """Live reads through a client with a short socket timeout and no retries."""
    import redis

    if isinstance(client, redis.Redis) and isinstance(client.connection_pool, redis.ConnectionPool):
        from servicedesk.bus import fail_fast_client

        return fail_fast_client(client, timeout)
    return client


SURVEY_MATCH_WAIT_S = 3.0


# Why a voice message was left, from the IVR's choices (CENTRALITA_IVR).
MESSAGE_REASONS = ("after_hours", "holiday", "no_agents", "open")
_MESSAGE_TEXTS: dict[str, dict[str, str]] = {
    "es": {
        "title": "Mensaje de voz de {caller}",
        "anonymous": "número oculto",
        "after_hours": "Mensaje de voz dejado fuera del horario de atención.",
        "holiday": "Mensaje de voz dejado en día festivo.",
        "no_agents": "Mensaje de voz dejado cuando no había agentes disponibles.",
        "open": "Mensaje de voz dejado en horario de atención.",
        "details": "Llamada {uniqueid}; idioma del llamante: {language}.",
    },
    "en": {
        "title": "Voice message from {caller}",
        "anonymous": "a withheld number",
        "after_hours": "Voice message left outside business hours.",
        "holiday": "Voice message left on a public holiday.",
        "no_agents": "Voice message left while no agent was available.",
        "open": "Voice message left during business hours.",
        "details": "Call {uniqueid}; caller's language: {language}.",
    },
}
_LANGUAGE_NAMES = {
    "es": {"es": "español", "en": "inglés"},
    "en": {"es": "Spanish", "en": "English"},
}


def desk_language(cfg: CentralitaConfig) -> str:
    """The language the desk works in: the one most of its lines answer in ('es' on a tie)."""
    langs = [ln.language for ln in cfg.lines.values()]
    return max(("es", "en"), key=lambda lang: (langs.count(lang), lang == "es"))


def message_reason(choices: dict[str, str]) -> str:
    """after_hours | holiday | no_agents | open, from the decoded CENTRALITA_IVR."""
    hours = choices.get("hours", "")
    if hours == "holiday":
        return "holiday"
    if hours == "closed":
        return "after_hours"
    if "no_agents" in choices:  # the caller chose a way out when no agent was free
        return "no_agents"
    return "open"


def message_texts(
    desk_lang: str, ani: str, reason: str, *, uniqueid: str, language: str
) -> tuple[str, str]:
    """(title, description) of a voice-message incident; the caller's number keeps its +."""
    t = _MESSAGE_TEXTS[desk_lang if desk_lang in _MESSAGE_TEXTS else "es"]
    digits = _digits(ani)
    caller = ("+" if ani.strip().startswith("+") else "") + digits if digits else t["anonymous"]
    lang_name = _LANGUAGE_NAMES[desk_lang if desk_lang in _LANGUAGE_NAMES else "es"]
    details = t["details"].format(uniqueid=uniqueid, language=lang_name.get(language, language))
    why = t[reason if reason in MESSAGE_REASONS else "open"]
    return t["title"].format(caller=caller), f"{why} {details}"


def _digits(text: str, limit: int = 32) -> str:
    return "".join(c for c in text if c in DIGITS)[:limit]


class StoreServices:
    """Database (SQLAlchemy, in a thread) + Redis (the listener's live state)."""

    def __init__(
        self,
        cfg: CentralitaConfig,
        session_factory: Any,
        redis_client: Any | None,
        *,
        prefix: str | None = None,
        live_ttl: float = 1.0,
        region: str | None = None,
        clock: Callable[[], datetime] | None = None,
        db_timeout: float = 5.0,
        live_timeout: float = LIVE_TIMEOUT_S,
    ) -> None:
        from servicedesk.bus import Keys

        self.cfg = cfg
        self.sessions = session_factory
        self.redis = _fail_fast(redis_client, live_timeout)
        self.live_degraded = False  # the last live read failed: routing without live state
        self.keys = Keys(prefix or cfg.connections.redis.key_prefix)
        self.region = region or cfg.service.default_region
        self._clock = clock
        self.db_timeout = db_timeout
        self._tz = ZoneInfo(cfg.service.timezone)
        self._cache = _TtlCache(live_ttl)

    def now(self) -> datetime:
        return self._clock() if self._clock is not None else datetime.now(UTC)

    # --- database (worker thread) -----------------------------------------
    async def _db(self, fn: Callable[[Any], T]) -> T:
        def work() -> T:
            with self.sessions() as session:
                out = fn(session)
                session.commit()
                return out

        # A stuck database must not hold the caller: the flow falls back to an agent.
        return await asyncio.wait_for(asyncio.to_thread(work), self.db_timeout)

    def _identity_for_contact(self, session: Any, contact: Any, via: str) -> CallerIdentity:
        from sqlalchemy import select

        from servicedesk.models import Contract, Organisation

        org_id = contact.organisation_id
        vip = bool(contact.vip)
        contract = None
        if org_id is not None:
            org = session.get(Organisation, org_id)
            vip = vip or bool(org is not None and org.vip)
            contract = self._active_contract(session, select, Contract, org_id)
        return CallerIdentity(
            status="found",
            via=via,
            contact_id=contact.id,
            organisation_id=org_id,
            contract_id=contract.id if contract is not None else None,
            language=contact.language if contact.language in ("es", "en") else None,
            vip=vip,
            critical_24x7=self._covers_24x7(contract),
        )

    def _active_contract(self, session: Any, select: Any, contract_cls: Any, org_id: int) -> Any:
        now = self.now()
        rows = session.scalars(
            select(contract_cls)
            .where(contract_cls.organisation_id == org_id, contract_cls.starts_on <= now)
            .order_by(contract_cls.critical_24x7.desc(), contract_cls.id)
        ).all()
        for c in rows:
            if c.ends_on is None or c.ends_on > now:
                return c
        return None

    def _covers_24x7(self, contract: Any) -> bool:
        if contract is None:
            return False
        plan = self.cfg.contracts.plans.get(contract.plan)
        return bool(contract.critical_24x7 or (plan is not None and plan.critical_24x7))

    async def identify(self, ani: str) -> CallerIdentity:
        from servicedesk.directory import lookup_caller

        def work(session: Any) -> CallerIdentity:
            result = lookup_caller(session, ani, region=self.region)
            status = str(getattr(result, "status", "unknown"))
            if status == "found" and getattr(result, "contact", None) is not None:
                return self._identity_for_contact(session, result.contact, "ani")
            return CallerIdentity(status=status if status != "found" else "unknown")

        try:
            return await self._db(work)
        except Exception:
            return CallerIdentity(status="failed")

    async def identify_by_number(self, digits: str) -> CallerIdentity:
        from sqlalchemy import select

        from servicedesk.directory import find_by_customer_number
        from servicedesk.models import Contact, Contract, Organisation

        clean = _digits(digits)

        def work(session: Any) -> CallerIdentity:
            found = find_by_customer_number(session, clean) if clean else None
            if found is None:
                return CallerIdentity(status="unknown", via="customer_number")
            contact = getattr(found, "contact", None)
            if contact is None and isinstance(found, Contact):
                contact = found
            if contact is not None:
                return self._identity_for_contact(session, contact, "customer_number")
            org = found if isinstance(found, Organisation) else getattr(found, "organisation", None)
            if isinstance(found, Contract):
                org = found.organisation
            if org is None:
                return CallerIdentity(status="unknown", via="customer_number")
            contract = (
                found
                if isinstance(found, Contract)
                else self._active_contract(session, select, Contract, org.id)
            )
            return CallerIdentity(
                status="found",
                via="customer_number",
                organisation_id=org.id,
                contract_id=contract.id if contract is not None else None,
                vip=bool(org.vip),
                critical_24x7=self._covers_24x7(contract),
            )

        try:
            return await self._db(work)
        except Exception:
            return CallerIdentity(status="failed", via="customer_number")

    async def incident_status(self, digits: str) -> IncidentInfo | None:
        from servicedesk.incidents import IncidentError, find_by_keyed_number

        def work(session: Any) -> IncidentInfo | None:
            try:
                inc = find_by_keyed_number(session, digits)
            except IncidentError:
                return None
            if inc is None:
                return None
            return IncidentInfo(inc.number, inc.status, inc.priority, inc.level)

        return await self._db(work)

    async def create_message_incident(
        self,
        *,
        identity: CallerIdentity | None,
        recording_path: str,
        language: str,
        ani: str,
        uniqueid: str,
        category: str | None = None,
        reason: str = "",
    ) -> int:
        """`reason`: why the caller left a message (see MESSAGE_REASONS); the title and
        description are written in the desk's language, for the agents who read them."""
        from servicedesk.incidents import create_incident

        title, description = message_texts(
            desk_language(self.cfg), ani, reason, uniqueid=uniqueid, language=language
        )
        ident = identity or CallerIdentity(status="unknown")

        def work(session: Any) -> int:
            from sqlalchemy import select

            from servicedesk.models import Contact, Incident

            path = recording_path[:255]
            existing = session.scalars(
                select(Incident).where(Incident.recording_path == path).limit(1)
            ).first()
            if existing is not None:  # the h extension may run the script a second time
                return int(existing.number)
            nonlocal ident
            if ident.contact_id is not None and ident.organisation_id is None:
                contact = session.get(Contact, ident.contact_id)
                if contact is None:
                    ident = CallerIdentity(status="unknown")
                else:
                    ident = self._identity_for_contact(session, contact, ident.via)
            inc = create_incident(
                session,
                self.cfg,
                title=title,
                actor="ivr",
                description=description,
                category=category if category in self.cfg.skills else None,
                channel="phone",
                reporter_id=ident.contact_id,
                organisation_id=ident.organisation_id,
                contract_id=ident.contract_id,
                recording_path=path or None,
                now=self.now(),
            )
            return int(inc.number)

        return await self._db(work)

    async def request_callback(
        self, *, uniqueid: str, number: str, identity: CallerIdentity | None, language: str
    ) -> int:
        from sqlalchemy import select

        from servicedesk.models import CallbackRequest

        def work(session: Any) -> int:
            existing = session.scalars(
                select(CallbackRequest).where(CallbackRequest.call_uniqueid == uniqueid[:64])
            ).one_or_none()
            if existing is not None:
                return int(existing.id)
            row = CallbackRequest(
                call_uniqueid=uniqueid[:64],
                number=_digits(number, 80),
                contact_id=identity.contact_id if identity else None,
                language=language,
                requested_at=self.now(),
            )
            session.add(row)
            session.flush()
            return int(row.id)

        return await self._db(work)

    async def record_survey(self, *, uniqueid: str, score: int) -> bool:
        """Store 1..5 on the call the listener recorded (by the caller's uniqueid/linkedid).

        The survey runs the moment the agent hangs up, while the listener may not
        yet have flushed the call's record (it batches), so a miss is retried for
        up to SURVEY_MATCH_WAIT_S before the score is reported unmatched.
        """
        from sqlalchemy import or_, select

        from servicedesk.models import Call

        if not 1 <= score <= 5:
            raise ValueError(f"survey score {score} outside 1..5")

        def work(session: Any) -> bool:
            call = session.scalars(
                select(Call)
                .where(or_(Call.uniqueid == uniqueid, Call.linkedid == uniqueid))
                .order_by(Call.id.desc())
                .limit(1)
            ).first()
            if call is None:
                return False
            call.satisfaction = score
            return True

        deadline = time.monotonic() + SURVEY_MATCH_WAIT_S
        while True:
            if await self._db(work):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.25)

    # --- Redis live state (cached, shared by all sessions) -------------------
    def _degraded(self, exc: BaseException) -> None:
        """Recorded: counted every time, logged when the degraded path starts."""
        from servicedesk import metrics

        metrics.incr("ivr.redis_degraded")
        if not self.live_degraded:
            self.live_degraded = True
            log.warning(
                "live state unavailable (%s: %s): routing without overflow or wait estimates",
                type(exc).__name__,
                exc,
            )

    def _recovered(self) -> None:
        if self.live_degraded:
            self.live_degraded = False
            log.info("live state available again")

    async def availability(self) -> AvailabilityView | None:
        if self.redis is None:
            return None

        def fetch_states() -> list[dict[str, str]] | None:
            logins = sorted(self.redis.smembers(self.keys.agents))
            if not logins:
                return None  # the listener has written nothing: unknown, not "nobody"
            pipe = self.redis.pipeline(transaction=False)
            for login in logins:
                pipe.hgetall(self.keys.agent_state(login))
            return [dict(h) for h in pipe.execute()]

        async def fetch() -> AvailabilityView | None:
            try:
                states = await asyncio.to_thread(fetch_states)
            except Exception as exc:
                self._degraded(exc)
                return None  # no live state: route without overflow rather than fail
            self._recovered()
            return None if states is None else AgentAvailability.from_states(states)

        return await self._cache.get("availability", fetch)

    async def queue_stats(self, queue: str) -> QueueStats | None:
        if self.redis is None:
            return None
        # the listener keys today's counters by the service's local date
        day = self.now().astimezone(self._tz).date().isoformat()
        qdef = self.cfg.queue_definitions().get(queue)
        wrapup = qdef.settings.wrapuptime if qdef is not None else 0

        def fetch_stats() -> QueueStats | None:
            pipe = self.redis.pipeline(transaction=False)
            pipe.hgetall(self.keys.queue_state(queue))
            pipe.hgetall(self.keys.counters(day, queue))
            state, counters = pipe.execute()
            if not state:
                return None

            def num(d: dict[str, str], k: str) -> float:
                try:
                    return float(d.get(k) or 0)
                except ValueError:
                    return 0.0

            answered = num(counters, "answered")
            asa = num(counters, "hold_total_s") / answered if answered > 0 else None
            talks = num(counters, "talk_count")
            aht = num(counters, "talk_total_s") / talks + wrapup if talks > 0 else None
            return QueueStats(
                waiting=int(num(state, "waiting")),
                logged_in=int(num(state, "logged_in")),
                available=int(num(state, "available_agents")),
                asa_s=asa,
                aht_s=aht,
                handled=int(talks),
            )

        async def fetch() -> QueueStats | None:
            try:
                stats = await asyncio.to_thread(fetch_stats)
            except Exception as exc:
                self._degraded(exc)
                return None  # no estimate rather than a caller in silence
            self._recovered()
            return stats

        return await self._cache.get(f"queue:{queue}", fetch)


def decode_ivr_var(text: str) -> dict[str, str]:
    """Inverse of the CENTRALITA_IVR encoding (for the listener/panel and tests)."""
    from urllib.parse import unquote

    out: dict[str, str] = {}
    for part in text.split(";"):
        if "=" in part:
            k, _, v = part.partition("=")
            out[unquote(k)] = unquote(v)
    return out


_PCT_CACHE: dict[str, str] = {}  # IVR choice keys and values: a small, fixed vocabulary


def _pct(text: str) -> str:
    """urllib.parse.quote(text, safe=""), remembered: the keys and values of the IVR
    choices (menu names, skills, languages, digits) repeat on every call."""
    out = _PCT_CACHE.get(text)
    if out is None:
        from urllib.parse import quote

        out = quote(text, safe="")
        if len(_PCT_CACHE) < 4096 and len(text) <= 64:
            _PCT_CACHE[text] = out
    return out


def encode_ivr_var(choices: dict[str, str]) -> str:
    return ";".join(
        [f"{_pct(k)}={_pct(v if type(v) is str else str(v))}" for k, v in choices.items()]
    )


def dumps_choices(choices: dict[str, str]) -> str:
    return json.dumps(choices, ensure_ascii=False)
