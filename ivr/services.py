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
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from servicedesk.config import CentralitaConfig
from servicedesk.routing import AgentAvailability, AvailabilityView

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


def estimated_wait_s(stats: QueueStats) -> int | None:
    """ASA-based estimate: a free agent means no wait; otherwise each caller ahead costs
    one ASA spread over the staffed agents. None when there is nothing to base it on."""
    if stats.available > 0 and stats.waiting == 0:
        return 0
    if stats.asa_s is None or stats.logged_in <= 0:
        return None
    return int(math.ceil(stats.asa_s * (stats.waiting + 1) / stats.logged_in))


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


def _digits(text: str, limit: int = 32) -> str:
    return "".join(c for c in text if c.isdigit())[:limit]


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
    ) -> None:
        from servicedesk.bus import Keys

        self.cfg = cfg
        self.sessions = session_factory
        self.redis = redis_client
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
    ) -> int:
        from servicedesk.incidents import create_incident

        caller = _digits(ani) or "anonymous"
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
                # stored words, read on the desk: in the caller's language, no codes
                title=(
                    f"Mensaje de voz de {caller}"
                    if language == "es"
                    else f"Voice message from {caller}"
                ),
                actor="ivr",
                description=(
                    f"Mensaje de voz dejado fuera de horario, en español (llamada {uniqueid})."
                    if language == "es"
                    else f"Voice message left after hours, in English (call {uniqueid})."
                ),
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
        """Store 1..5 on the call the listener recorded (by the caller's uniqueid/linkedid)."""
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

        return await self._db(work)

    # --- Redis live state (cached, shared by all sessions) -------------------
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
            except Exception:
                return None  # no live state: route without overflow rather than fail
            return None if states is None else AgentAvailability.from_states(states)

        return await self._cache.get("availability", fetch)

    async def queue_stats(self, queue: str) -> QueueStats | None:
        if self.redis is None:
            return None
        # the listener keys today's counters by the service's local date
        day = self.now().astimezone(self._tz).date().isoformat()

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
            return QueueStats(
                waiting=int(num(state, "waiting")),
                logged_in=int(num(state, "logged_in")),
                available=int(num(state, "available_agents")),
                asa_s=asa,
            )

        async def fetch() -> QueueStats | None:
            try:
                return await asyncio.to_thread(fetch_stats)
            except Exception:
                return None

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
