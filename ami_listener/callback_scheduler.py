"""Offers callbacks to free agents in their queue order (runs beside the dialer).

Every `tick_s` it asks the listener's live state which callers still wait in each
queue (and since when) and which agents are free, picks the callbacks at the head
of their queues (`servicedesk.callbacks.pick_offers`), claims each try in the
database (`offer`: never twice), pops the request on the agent's screen, and has
the dialer ring the agent's phone, then the customer. New requests get their
place once a second. The tick runs on the dialer's event loop; database work runs
in a thread, one tick at a time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from servicedesk import callbacks, outbound
from servicedesk.models import CallbackRequest

if TYPE_CHECKING:
    from ami_listener.dialer import Dialer

log = logging.getLogger(__name__)

# () -> (queue -> entry times of callers still waiting, queue -> free agent logins)
LiveState = Callable[[], tuple[Mapping[str, Sequence[float]], Mapping[str, Sequence[str]]]]


class CallbackScheduler:
    def __init__(self, dialer: Dialer, live: LiveState, tick_s: float = 0.2) -> None:
        self.dialer = dialer
        self.live = live
        self.tick_s = tick_s
        self.offers = 0
        self._last_placement = 0.0

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("callback scheduling failed; retrying")
            await asyncio.sleep(self.tick_s)

    async def tick(self) -> None:
        d = self.dialer
        now = datetime.now(UTC)
        if time.monotonic() - self._last_placement >= 1.0:
            self._last_placement = time.monotonic()
            await d.db.run(d._run, lambda s: self._place(s, now))
        pending = await d.db.run(d._run, lambda s: callbacks.ready(s, now))
        if not pending:
            return
        waiting, free = self.live()
        busy = d.busy_logins()
        free = {q: [a for a in agents if a not in busy] for q, agents in free.items()}
        for place, agent in callbacks.pick_offers(pending, waiting, free):
            claimed = await d.db.run(d._run, lambda s, p=place, a=agent: self._offer(s, p, a, now))
            if claimed is None:
                continue
            self.offers += 1
            d.busy[claimed["request_id"]] = agent
            self._pop(agent, place, claimed)
            await d.originate(claimed["request_id"], claimed["row"])

    def _place(self, session: Session, now: datetime) -> None:
        """New requests take their place; the wallboard then counts them as pending."""
        if callbacks.place_new_requests(session, self.dialer.cfg, now):
            self.dialer.callback_figures(session)

    def _offer(
        self, session: Session, place: callbacks.Pending, agent: str, now: datetime
    ) -> dict[str, Any] | None:
        row = callbacks.offer(session, self.dialer.cfg, place.place_id, agent, now)
        if row is None:
            return None
        if outbound.claim(session, row.request_id) is None:
            return None
        req = session.get(CallbackRequest, row.callback_id)
        return {
            "request_id": row.request_id,
            "number": row.number,
            "contact_id": "" if req is None or req.contact_id is None else str(req.contact_id),
            "language": req.language if req is not None else "",
            "callback_id": row.callback_id,
            "row": {
                "agent_login": agent,
                "number": row.number,
                "purpose": "callback",
                "incident_number": None,
                "label": row.number,
            },
        }

    def _pop(self, agent: str, place: callbacks.Pending, claimed: dict[str, Any]) -> None:
        """The callback on the agent's screen before their phone rings."""
        bus = self.dialer.bus
        try:
            bus.publish_pop(
                agent,
                {
                    "type": "callback",
                    "call_id": f"callback-{claimed['callback_id']}",
                    "uniqueid": "",
                    "caller_num": claimed["number"],
                    "caller_name": "",
                    "contact_id": claimed["contact_id"],
                    "contact_name": "",
                    "organisation": "",
                    "queue": place.queue,
                    "language": claimed["language"],
                    "category": "",
                    "incident": "",
                    "priority": "",
                    "vip": "0",
                    "ivr": json.dumps({}),
                    "wait_s": str(max(0, int(time.time() - place.place_at))),
                    "at": datetime.now(UTC).isoformat(),
                    "agent": agent,
                    "callback_id": str(claimed["callback_id"]),
                },
            )
        except Exception:
            log.exception("callback pop for %s not published", agent)
