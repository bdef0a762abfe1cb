"""Numeric transfer codes: what an agent keys on the phone to send a caller to a queue.

Queues are named `<skill>_<lang>`, which a keypad cannot dial, so each queue an agent
may transfer to gets digits of its own in `[transfer_codes]` (queue name -> digits).
After `#1` (blind) or `*2` (attended) the agent keys the code; the generated dialplan
puts one extension per code in the agents' context, where Asterisk's transfer
features look (the agent's channel keeps its endpoint's context). A queue without a
code can still be reached from the panel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

TransferCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}$")]


def _distinct(codes: dict[str, str]) -> dict[str, str]:
    seen: dict[str, str] = {}
    for queue, code in codes.items():
        if code in seen:
            raise ValueError(f"~{queue}: code {code} is also the code of {seen[code]}")
        seen[code] = queue
    return codes


TransferCodes = Annotated[dict[str, TransferCode], AfterValidator(_distinct)]


def transfer_code_errors(
    codes: Mapping[str, str], queue_names: Iterable[str], agent_interfaces: Iterable[str]
) -> list[tuple[str, str]]:
    """Codes that name no queue, that an agent's own extension (the agents' context dials
    colleagues by login) already takes, or that begin a longer code or extension: each
    would make the keypad ambiguous or slow."""
    known = set(queue_names)
    taken = {iface.partition("/")[2] for iface in agent_interfaces}  # PJSIP/1001 -> 1001
    errors: list[tuple[str, str]] = []
    for queue, code in codes.items():
        if queue not in known:
            errors.append(
                (
                    f"transfer_codes.{queue}",
                    f"no skill/language makes queue {queue!r}; known: {', '.join(sorted(known))}",
                )
            )
        if code in taken:
            errors.append((f"transfer_codes.{queue}", f"code {code} is also an agent's extension"))
        # a code that begins a longer one makes the phone wait transferdigittimeout (3 s)
        # for more digits before every transfer to it (calling_phone_blind_transfer)
        longer = sorted(
            [(other, c) for other, c in codes.items() if c != code and c.startswith(code)]
            + [(f"agent {ext}", ext) for ext in taken if ext != code and ext.startswith(code)],
            key=lambda who_what: (who_what[1], who_what[0]),
        )
        if longer:
            who, what = longer[0]
            errors.append(
                (
                    f"transfer_codes.{queue}",
                    f"code {code} begins {who}'s {what}: the phone would wait for more digits",
                )
            )
    return errors
