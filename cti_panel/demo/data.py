"""The demo's directory: organisations, contacts, contracts, 20 agents, panel accounts.

Names and numbers are invented but shaped like a Mexican service desk's real
data (CDMX, Monterrey and Guadalajara numbers in E.164, S.A. de C.V. companies),
so the IVR's ANI lookup, the VIP routing and the contract allotments all have
something true-to-life to work on.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicedesk.config import CentralitaConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "centralita.example.toml"

# login, name, languages, skills (the example file already has 1001..1006)
EXTRA_AGENTS: list[tuple[str, str, list[str], dict[str, int]]] = [
    ("1007", "Gabriela Ruiz", ["es", "en"], {"network": 8, "general": 7}),
    ("1008", "Héctor Morales", ["es"], {"erp": 9, "general": 6}),
    ("1009", "Isabel Castillo", ["es", "en"], {"email": 9, "general": 8}),
    ("1010", "Jorge Navarro", ["es"], {"hardware": 8, "general": 7}),
    ("1011", "Karla Jiménez", ["es", "en"], {"network": 6, "hardware": 7, "general": 8}),
    ("1012", "Luis Domínguez", ["es"], {"erp": 8, "email": 6, "general": 6}),
    ("1013", "Mariana Flores", ["es", "en"], {"email": 7, "network": 5, "general": 9}),
    ("1014", "Nicolás Guerrero", ["es"], {"hardware": 9, "general": 5}),
    ("1015", "Olivia Reyes", ["es", "en"], {"network": 9, "email": 6, "general": 6}),
    ("1016", "Pablo Vázquez", ["es"], {"erp": 7, "hardware": 5, "general": 7}),
    ("1017", "Regina Aguilar", ["es", "en"], {"general": 9, "email": 5}),
    ("1018", "Santiago Medina", ["es"], {"network": 7, "erp": 5, "general": 6}),
    ("1019", "Teresa Cruz", ["es", "en"], {"hardware": 6, "email": 8, "general": 7}),
    ("1020", "Ulises Salazar", ["es"], {"general": 8, "hardware": 6}),
]

# name, customer number, city area code, VIP, plan
ORGANISATIONS: list[tuple[str, str, str, bool, str]] = [
    ("Aceros del Bajío S.A. de C.V.", "10001", "477", False, "intermediate"),
    ("Farmacias Santa Lucía S.A. de C.V.", "10002", "55", False, "basic"),
    ("Transportes Norteños del Pacífico", "10003", "81", False, "basic"),
    ("Grupo Hotelero Caribe Maya", "10004", "998", True, "advanced"),
    ("Universidad Tecnológica de Tlaxcala", "10005", "246", False, "intermediate"),
    ("Cementos del Golfo S.A.B.", "10006", "229", False, "advanced"),
    ("Agroindustrias de Sinaloa", "10007", "667", False, "basic"),
    ("Financiera Regia de Occidente", "10008", "33", True, "advanced"),
    ("Clínica San Rafael de Querétaro", "10009", "442", False, "intermediate"),
    ("Autopartes Hidalgo S. de R.L.", "10010", "771", False, "basic"),
    ("Despacho Contable Reforma", "10011", "55", False, "basic"),
    ("Logística Aduanal Nuevo Laredo", "10012", "867", False, "intermediate"),
]

FIRST = [
    "María",
    "José",
    "Guadalupe",
    "Juan",
    "Fernanda",
    "Miguel",
    "Verónica",
    "Alejandro",
    "Rosa",
    "Ricardo",
    "Daniela",
    "Francisco",
    "Patricia",
    "Eduardo",
    "Lucía",
    "Arturo",
    "Claudia",
    "Raúl",
    "Adriana",
    "Sergio",
]
LAST = [
    "García",
    "Martínez",
    "Rodríguez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Flores",
    "Díaz",
    "Cruz",
    "Morales",
    "Ortega",
    "Delgado",
    "Castro",
    "Ramos",
    "Romero",
    "Herrera",
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    agent_login: str | None


# The demo's own accounts; the agent 1001 is left out of the simulated workforce so
# a person can log in as her and take the calls pbxsim routes to her.
DEMO_LOGINS = (
    DemoLogin("ana", "demo-agente-1001", "agent", "1001"),
    DemoLogin("sofia", "demo-supervisora", "supervisor", None),
    DemoLogin("admin", "demo-admin-centralita", "admin", None),
)
HUMAN_AGENT = "1001"


def demo_config_text(*, ami_port: int, fastagi_port: int) -> str:
    """The example configuration with the demo's ports and 20 agents."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = re.sub(r"(\[connections\.ami\][^\[]*?\nport = )\d+", rf"\g<1>{ami_port}", text, count=1)
    text = re.sub(
        r"(\[connections\.fastagi\][^\[]*?\nport = )\d+", rf"\g<1>{fastagi_port}", text, count=1
    )
    text = text.replace('path = "/var/log/asterisk/queue_log"', 'path = "queue_log"')
    # the demo must show calls flowing at any hour: both lines on the 24x7 calendar
    text = re.sub(r'(\[lines\.\w+\][^\[]*?\ncalendar = )"\w+"', r'\g<1>"always"', text)
    blocks = []
    for login, name, langs, skills in EXTRA_AGENTS:
        sk = ", ".join(f"{k} = {v}" for k, v in skills.items())
        lg = ", ".join(f'"{x}"' for x in langs)
        blocks.append(
            f'\n[[agents]]\nlogin = "{login}"\nname = "{name}"\ninterface = "PJSIP/{login}"\n'
            f"languages = [{lg}]\nskills = {{ {sk} }}\n"
        )
    return text + "\n# --- demo agents (added by centralita demo) ---" + "".join(blocks)


@dataclass(frozen=True)
class Caller:
    number: str  # E.164
    name: str
    contact_id: int


def seed(session: Session, cfg: CentralitaConfig, *, seed_value: int = 2026) -> list[Caller]:
    """Idempotent: a second run finds the data and returns the callers."""
    from cti_panel.users import ensure_user
    from servicedesk.models import Contact, ContactPhone, Contract, Incident, Organisation

    rng = random.Random(seed_value)
    if session.scalar(select(Organisation).limit(1)) is None:
        now = datetime.now(UTC)
        for org_name, cust, area, vip, plan in ORGANISATIONS:
            org = Organisation(name=org_name, customer_number=cust, vip=vip)
            session.add(org)
            session.flush()
            session.add(
                Contract(
                    number=f"CT-{cust}-{now.year}",
                    organisation_id=org.id,
                    plan=plan,
                    starts_on=now - timedelta(days=200),
                    ends_on=now + timedelta(days=165),
                    critical_24x7=plan == "advanced",
                )
            )
            for _ in range(rng.randint(4, 7)):
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {rng.choice(LAST)}"
                domain = re.sub(r"[^a-z]", "", org_name.split()[0].lower()) or "empresa"
                contact = Contact(
                    organisation_id=org.id,
                    name=name,
                    email=f"{name.split()[0].lower()}.{cust}@{domain}.example",
                    language="en" if rng.random() < 0.12 else "es",
                    vip=vip and rng.random() < 0.5,
                )
                local = f"{area}{rng.randint(10 ** (9 - len(area)), 10 ** (10 - len(area)) - 1)}"
                contact.phones.append(
                    ContactPhone(e164=f"+52{local}", raw=local, kind=rng.choice(["work", "mobile"]))
                )
                session.add(contact)
        session.flush()
        # a mid-morning backlog: most tickets on track, a few at risk, one or two breached
        from cti_panel.demo.desk import seed_incidents

        contract_of = {c.organisation_id: c.id for c in session.scalars(select(Contract)).all()}
        contacts = list(session.scalars(select(Contact)).all())
        seed_incidents(session, cfg, contacts, contract_of, rng, now)
        session.flush()
        assert session.scalar(select(Incident).limit(1)) is not None
    for login in DEMO_LOGINS:
        ensure_user(
            session, login.username, login.password, login.role, agent_login=login.agent_login
        )
    rows = session.execute(
        select(ContactPhone.e164, Contact.name, Contact.id).join(Contact).order_by(Contact.id)
    ).all()
    return [Caller(e164, name or "", cid) for e164, name, cid in rows]
