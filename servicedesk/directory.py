"""Caller lookup: ANI -> contact, robust to the formats people and PBXs really use.

Numbers are stored normalised to E.164 (`ContactPhone.e164`, indexed) and an
ANI is normalised the same way, so a lookup is one indexed equality, never a
LIKE scan, and stays fast with a million contacts (see `bench/caller_lookup.py`).

Mexico retired its long-distance prefix (01), the mobile prefixes (044/045) and
the "1" after +52 for mobiles in 2019-2020, yet directories and old handsets
still carry them; they are stripped so all spellings meet on one E.164 number.
Several contacts sharing a number (a reception desk, a shared mobile) are
reported as ambiguous with the candidates: the directory never guesses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from servicedesk.models import Contact, ContactPhone, Contract, Organisation

LookupStatus = Literal["found", "ambiguous", "unknown", "withheld"]

# What PBXs and carriers put in the caller ID when there is no usable number.
WITHHELD_TOKENS = frozenset(
    {
        "",
        "anonymous",
        "unknown",
        "restricted",
        "private",
        "withheld",
        "unavailable",
        "blocked",
        "anonymous@anonymous.invalid",
        "asterisk",
    }
)
_ALL_ZEROS = re.compile(r"^0+$")
_SEPARATORS = re.compile(r"\s*[/;,]\s*")
# Old Mexican dialling prefixes in front of a 10-digit national number.
_MX_OLD_PREFIXES = ("044", "045", "01", "1")
MAX_CANDIDATES = 50


class PhoneError(ValueError):
    """Text that is not a usable phone number; the message quotes it."""


class WithheldNumber(PhoneError):
    """The caller withheld the number (anonymous, restricted, 0000...)."""


@dataclass(frozen=True)
class Phone:
    e164: str
    extension: str | None = None


@dataclass(frozen=True)
class LookupResult:
    status: LookupStatus
    contact: Contact | None = None
    candidates: tuple[Contact, ...] = ()
    numbers: tuple[Phone, ...] = ()

    @property
    def e164(self) -> str | None:
        return self.numbers[0].e164 if self.numbers else None


@dataclass(frozen=True)
class CustomerMatch:
    organisation: Organisation
    contract: Contract | None = field(default=None)


def is_withheld(raw: str | None) -> bool:
    text = (raw or "").strip().strip("<>\"'").strip().lower()
    return text in WITHHELD_TOKENS or bool(_ALL_ZEROS.match(text))


def _mx_fix(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber | None:
    """Drop a retired Mexican prefix when what remains is a valid 10-digit number."""
    nsn = phonenumbers.national_significant_number(number)  # keeps leading zeros
    for prefix in _MX_OLD_PREFIXES:
        rest = nsn[len(prefix) :]
        if nsn.startswith(prefix) and len(rest) == 10:
            fixed = phonenumbers.parse("+52" + rest)
            if phonenumbers.is_valid_number(fixed):
                fixed.extension = number.extension
                return fixed
    return None


def _parse_one(text: str, region: str) -> Phone:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"not a phone number: {text!r} ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        fixed = _mx_fix(number) if number.country_code == 52 else None
        if fixed is None:
            raise PhoneError(f"not a valid phone number: {text!r}")
        number = fixed
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    ext = number.extension or None
    return Phone(e164, ext[:10] if ext else None)


def normalise_phones(raw: str | None, region: str = "MX") -> list[Phone]:
    """Every number in `raw`: "55 1234 5678 / 5512345679" is two, "55/1234-5678" one.

    Raises WithheldNumber for anonymous caller IDs and PhoneError for garbage.
    """
    if is_withheld(raw):
        raise WithheldNumber(f"withheld caller ID: {raw!r}")
    text = str(raw).strip()
    if len(text) > 100:
        raise PhoneError(f"not a phone number: {text[:40]!r}... is too long")
    parts = [p for p in _SEPARATORS.split(text) if p]
    if len(parts) > 1:
        try:
            phones = _parse_alternatives(parts, region)
        except PhoneError:
            phones = []  # a separator inside one number: "55/1234-5678"
        if phones:
            return list(dict.fromkeys(phones))
        text = re.sub(r"[/;,]", " ", text)
    return [_parse_one(text, region)]


def _parse_alternatives(parts: list[str], region: str) -> list[Phone]:
    """Each part a number; a short all-digit part replaces the previous number's
    tail, as in "55 1234 5678/79" (…78 and …79)."""
    phones: list[Phone] = []
    for part in parts:
        if phones and part.isdigit() and len(part) <= 4:
            prev = phones[-1].e164
            phones.append(_parse_one(prev[: -len(part)] + part, region))
        else:
            phones.append(_parse_one(part, region))
    return phones


def normalise_phone(raw: str | None, region: str = "MX") -> Phone:
    """The first (usually only) number in `raw`, as E.164 plus any extension."""
    return normalise_phones(raw, region)[0]


def add_phone(
    session: Session, contact: Contact, raw: str, *, kind: str = "work", region: str = "MX"
) -> list[ContactPhone]:
    """Attach every number in `raw` to `contact`, normalised (skips ones it already has)."""
    have = {(p.e164, p.extension) for p in contact.phones}
    added = []
    for phone in normalise_phones(raw, region):
        if (phone.e164, phone.extension) in have:
            continue
        row = ContactPhone(e164=phone.e164, extension=phone.extension, raw=raw[:64], kind=kind)
        contact.phones.append(row)
        have.add((phone.e164, phone.extension))
        added.append(row)
    session.flush()
    return added


def lookup_caller(session: Session, ani: str | None, region: str = "MX") -> LookupResult:
    """Who is calling: found (one contact), ambiguous (candidates), unknown or withheld."""
    try:
        numbers = tuple(normalise_phones(ani, region))
    except WithheldNumber:
        return LookupResult("withheld")
    except PhoneError:
        return LookupResult("unknown")
    wanted_e164 = [n.e164 for n in numbers]
    match = (
        ContactPhone.e164 == wanted_e164[0]
        if len(wanted_e164) == 1
        else ContactPhone.e164.in_(wanted_e164)
    )
    # One indexed round trip: the matching phones with their contacts.
    rows = session.execute(
        select(Contact, ContactPhone.extension)
        .join(ContactPhone, ContactPhone.contact_id == Contact.id)
        .where(match)
        .order_by(Contact.id)
        .limit(MAX_CANDIDATES * 4)
    ).all()
    contacts = {c.id: c for c, _ in rows}
    if not contacts:
        return LookupResult("unknown", numbers=numbers)
    if len(contacts) > 1:
        # A shared trunk number: an extension in the ANI may still single one out.
        wanted_ext = {n.extension for n in numbers if n.extension}
        by_ext = {c.id: c for c, ext in rows if ext in wanted_ext}
        if len(by_ext) == 1:
            contacts = by_ext
    found = tuple(contacts.values())[:MAX_CANDIDATES]
    if len(found) == 1:
        return LookupResult("found", contact=found[0], candidates=found, numbers=numbers)
    return LookupResult("ambiguous", candidates=found, numbers=numbers)


def find_by_customer_number(session: Session, digits: str) -> CustomerMatch | None:
    """An unknown caller keys their customer or contract number: which organisation?

    The organisation's customer number wins over a contract number.
    """
    text = (digits or "").strip()
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"a customer or contract number is digits only, got {text!r}")
    org = session.scalars(
        select(Organisation).where(Organisation.customer_number == text)
    ).one_or_none()
    if org is not None:
        return CustomerMatch(org)
    contract = session.scalars(select(Contract).where(Contract.number == text)).one_or_none()
    if contract is not None:
        return CustomerMatch(contract.organisation, contract)
    return None
