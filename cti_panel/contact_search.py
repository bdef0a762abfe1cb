"""Find a contact by name, organisation or phone number written any way.

A phone typed as '55 1234 0001', '(55) 1234-0001', '+52 1 55 1234 0001' or
'5512340001' finds the same contact: the query is normalised with the
directory's rules (servicedesk.directory) when it reads as a number, and
otherwise its ASCII digits are matched as the tail of the stored E.164.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import phonenumbers
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from servicedesk.directory import PhoneError, normalise_phone
from servicedesk.models import Contact, ContactPhone, Organisation

LIMIT = 10
_ASCII_DIGIT = re.compile(r"[0-9]")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_contacts(session: Session, query: str, region: str = "MX") -> list[dict[str, Any]]:
    q = (query or "").strip()[:100]
    if len(q) < 2:
        return []
    conds = [
        Contact.name.ilike(_like(q), escape="\\"),
        Contact.email.ilike(_like(q), escape="\\"),
        Contact.organisation_id.in_(
            select(Organisation.id).where(
                or_(
                    Organisation.name.ilike(_like(q), escape="\\"),
                    Organisation.customer_number == q,
                )
            )
        ),
    ]
    digits = "".join(_ASCII_DIGIT.findall(q))
    if len(digits) >= 4 and len(digits) >= len(q.replace(" ", "")) // 2:
        tails = {digits[-10:]}
        with contextlib.suppress(PhoneError, phonenumbers.NumberParseException):
            tails.add(normalise_phone(q, region).e164.lstrip("+")[-10:])
        conds.append(
            Contact.id.in_(
                select(ContactPhone.contact_id).where(
                    or_(*(ContactPhone.e164.like(f"%{t}%") for t in tails))
                )
            )
        )
    rows = session.scalars(
        select(Contact)
        .where(or_(*conds))
        .options(selectinload(Contact.organisation), selectinload(Contact.phones))
        .order_by(Contact.name)
        .limit(LIMIT)
    ).all()
    return [
        {
            "id": c.id,
            "name": c.name or "",
            "organisation": c.organisation.name if c.organisation else "",
            "phones": [_national(p.e164, region) for p in c.phones],
            "email": c.email or "",
        }
        for c in rows
    ]


def _national(e164: str, region: str) -> str:
    try:
        number = phonenumbers.parse(e164, region)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164
