"""Caller lookup against the formats Mexican callers, directories and carriers really use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from servicedesk import directory as d
from servicedesk.models import Contact, ContactPhone, Contract, Organisation

CDMX = "+525512345678"


@pytest.mark.parametrize(
    ("raw", "e164", "ext"),
    [
        ("+52 55 1234 5678", CDMX, None),
        ("5512345678", CDMX, None),
        ("015512345678", CDMX, None),  # retired long-distance prefix 01
        ("01 55 1234 5678", CDMX, None),
        ("55-1234-5678", CDMX, None),
        ("(55) 1234-5678", CDMX, None),
        ("+52 (55) 1234.5678", CDMX, None),
        ("55 1234 5678 ext 12", CDMX, "12"),
        ("55 1234 5678 ext. 12", CDMX, "12"),
        ("55 1234 5678 x12", CDMX, "12"),
        ("55 1234 5678 extensión 12", CDMX, "12"),
        ("015512345678 ext 12", CDMX, "12"),
        ("55/1234-5678", CDMX, None),  # a slash inside one number
        ("+52 1 55 1234 5678", CDMX, None),  # retired mobile "1"
        ("5215512345678", CDMX, None),
        ("52 1 55 1234 5678", CDMX, None),
        ("525512345678", CDMX, None),  # country code without "+", as some trunks send
        ("+525512345678", CDMX, None),
        ("00525512345678", CDMX, None),  # international prefix from Mexico
        ("044 55 1234 5678", CDMX, None),  # retired mobile prefixes
        ("045 55 1234 5678", CDMX, None),
        ("tel:+52-55-1234-5678", CDMX, None),
        ("8008906000", "+528008906000", None),
        ("01 800 890 6000", "+528008906000", None),
        ("33 1234 5678", "+523312345678", None),
        ("+1 212 555 0100", "+12125550100", None),
        ("001 212 555 0100", "+12125550100", None),
    ],
)
def test_normalise_mexican_formats(raw: str, e164: str, ext: str | None) -> None:
    assert d.normalise_phone(raw) == d.Phone(e164, ext)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("55 1234 5678 / 5512345679", ["+525512345678", "+525512345679"]),
        ("5512345678/5512345679", ["+525512345678", "+525512345679"]),
        ("55 1234 5678/79", ["+525512345678", "+525512345679"]),
        ("55 1234 5678; 33 1234 5678", ["+525512345678", "+523312345678"]),
        ("5512345678 / 5512345678", ["+525512345678"]),
        ("55/1234-5678", ["+525512345678"]),
    ],
)
def test_slashes_separate_numbers(raw: str, expected: list[str]) -> None:
    assert [p.e164 for p in d.normalise_phones(raw)] == expected
    assert d.normalise_phone(raw).e164 == expected[0]


@pytest.mark.parametrize(
    "raw",
    ["anonymous", "Anonymous", "ANONYMOUS", "unknown", "", "  ", "<unknown>", "restricted"]
    + ["Restricted", "0000", "0", "private", "withheld", "unavailable", None],
)
def test_withheld(raw: str | None) -> None:
    assert d.is_withheld(raw)
    with pytest.raises(d.WithheldNumber):
        d.normalise_phone(raw)


@pytest.mark.parametrize("raw", ["12345", "1234-5678", "abc", "55 1234", "+52 99", "x" * 200])
def test_garbage_is_refused_clearly(raw: str) -> None:
    with pytest.raises(d.PhoneError) as err:
        d.normalise_phone(raw)
    assert not isinstance(err.value, d.WithheldNumber)
    assert raw[:20] in str(err.value)


def test_default_region_applies_to_national_numbers() -> None:
    assert d.normalise_phone("(212) 555-0100", region="US").e164 == "+12125550100"
    assert d.normalise_phone("+52 55 1234 5678", region="US").e164 == CDMX


def _contact(session: Session, name: str | None, *phones: str, **kw: object) -> Contact:
    c = Contact(name=name, **kw)
    session.add(c)
    session.flush()
    for raw in phones:
        d.add_phone(session, c, raw)
    return c


@pytest.mark.parametrize(
    "ani",
    [
        "+525512345678",
        "5512345678",
        "015512345678",
        "55-1234-5678",
        "+5215512345678",
        "525512345678",
    ],
)
def test_lookup_finds_contact_from_any_spelling(session: Session, ani: str) -> None:
    lucia = _contact(session, "Lucía Pérez", "55 1234 5678 ext 12")
    _contact(session, "Otro", "33 1234 5678")
    result = d.lookup_caller(session, ani)
    assert result.status == "found"
    assert result.contact is not None and result.contact.id == lucia.id
    assert result.e164 == CDMX


def test_contact_with_only_a_phone_is_found(session: Session) -> None:
    bare = _contact(session, None, "015512345678")
    stored = session.get(Contact, bare.id)
    assert stored is not None and stored.phones[0].e164 == CDMX
    assert stored.phones[0].raw == "015512345678"
    result = d.lookup_caller(session, "5512345678")
    assert result.status == "found" and result.contact is not None
    assert result.contact.id == bare.id and result.contact.name is None


def test_shared_number_is_ambiguous_never_guessed(session: Session) -> None:
    a = _contact(session, "Recepción A", "55 1234 5678")
    b = _contact(session, "Recepción B", "+52 1 55 1234 5678")
    result = d.lookup_caller(session, "5512345678")
    assert result.status == "ambiguous"
    assert result.contact is None
    assert {c.id for c in result.candidates} == {a.id, b.id}


def test_extension_in_ani_breaks_a_tie(session: Session) -> None:
    a = _contact(session, "Ext 12", "55 1234 5678 ext 12")
    _contact(session, "Ext 13", "55 1234 5678 ext 13")
    result = d.lookup_caller(session, "55 1234 5678 x12")
    assert result.status == "found" and result.contact is not None and result.contact.id == a.id
    assert d.lookup_caller(session, "5512345678").status == "ambiguous"


def test_several_numbers_of_one_contact_are_one_match(session: Session) -> None:
    c = _contact(session, "Dos números", "55 1234 5678 / 5512345679")
    assert len(c.phones) == 2
    for ani in ("5512345678", "5512345679", "55 1234 5678 / 55 1234 5679"):
        result = d.lookup_caller(session, ani)
        assert result.status == "found" and result.contact is not None
        assert result.contact.id == c.id


def test_add_phone_skips_duplicates(session: Session) -> None:
    c = _contact(session, "X", "5512345678")
    assert d.add_phone(session, c, "+52 55 1234 5678") == []
    assert len(c.phones) == 1


@pytest.mark.parametrize("ani", ["anonymous", "<unknown>", "", "0000", "Restricted", None])
def test_lookup_withheld(session: Session, ani: str | None) -> None:
    _contact(session, "Cero", "5512345678")
    assert d.lookup_caller(session, ani) == d.LookupResult("withheld")


@pytest.mark.parametrize("ani", ["5512349999", "12345", "garbage"])
def test_lookup_unknown(session: Session, ani: str) -> None:
    _contact(session, "Lucía", "5512345678")
    result = d.lookup_caller(session, ani)
    assert result.status == "unknown" and result.contact is None and result.candidates == ()


def test_lookup_uses_the_e164_index(session: Session) -> None:
    # The lookup must be an indexed equality: the planner's plan names the index.
    from sqlalchemy import select, text

    bind = session.get_bind()
    stmt = select(ContactPhone.contact_id).where(ContactPhone.e164 == CDMX)
    sql = str(stmt.compile(bind, compile_kwargs={"literal_binds": True}))
    if bind.dialect.name == "sqlite":
        plan = " ".join(str(r[-1]) for r in session.execute(text("EXPLAIN QUERY PLAN " + sql)))
    else:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(str(r[0]) for r in session.execute(text("EXPLAIN " + sql)))
    assert "ix_contact_phone_e164" in plan, plan


def test_find_by_customer_number(session: Session) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    acme = Organisation(name="ACME", customer_number="4711")
    other = Organisation(name="Otra")
    session.add_all([acme, other])
    session.flush()
    contract = Contract(number="90210", organisation_id=other.id, plan="basic", starts_on=start)
    session.add(contract)
    session.flush()
    by_org = d.find_by_customer_number(session, "4711")
    assert by_org is not None and by_org.organisation.id == acme.id and by_org.contract is None
    by_contract = d.find_by_customer_number(session, " 90210 ")
    assert by_contract is not None and by_contract.organisation.id == other.id
    assert by_contract.contract is not None and by_contract.contract.id == contract.id
    assert d.find_by_customer_number(session, "1") is None
    with pytest.raises(ValueError, match="digits only"):
        d.find_by_customer_number(session, "47a1")


# Geographic area codes (2 digits: CDMX, Guadalajara, Monterrey; 3 digits elsewhere).
AREAS = ("55", "33", "81", "222", "442", "999", "664", "998")


@st.composite
def mexican_numbers(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(AREAS))
    local = draw(st.text("0123456789", min_size=10 - len(area), max_size=10 - len(area)))
    return area + local


@settings(max_examples=300, deadline=None)
@given(national=mexican_numbers(), style=st.integers(0, 8), ext=st.none() | st.integers(1, 9999))
def test_every_spelling_meets_on_one_e164(national: str, style: int, ext: int | None) -> None:
    import phonenumbers

    number = phonenumbers.parse(national, "MX")
    assume(phonenumbers.is_valid_number(number))
    a = 2 if national[:2] in ("55", "33", "81") else 3
    area, rest = national[:a], national[a:]
    spelt = [
        f"+52{national}",
        national,
        f"01{national}",
        f"+52 1 {area} {rest[:-4]} {rest[-4:]}",
        f"({area}) {rest[:-4]}-{rest[-4:]}",
        f"52{national}",
        f"044 {area} {rest}",
        f"00 52 {area} {rest}",
        f"{area}/{rest[:-4]}-{rest[-4:]}",
    ][style]
    if ext is not None:
        spelt += f" ext {ext}"
    phone = d.normalise_phone(spelt)
    assert phone.e164 == f"+52{national}"
    assert phone.extension == (str(ext) if ext is not None else None)
