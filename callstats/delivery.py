"""E-mail each client its monthly service report (PDF, and XLSX when configured).

Recipients are kept per organisation in the database (`ReportRecipient`),
each with a language; an organisation gets one message per language with the
report in that language. SMTP comes from `[reports.smtp]`, its password from
the environment variable it names. One organisation's failure (a refused
address, a report that cannot render) is reported and the others still go out.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from callstats import report_text as rt
from callstats import service_render
from callstats.service_report import Scope, build
from servicedesk.config import CentralitaConfig
from servicedesk.models import Organisation, ReportRecipient
from servicedesk.report_config import SmtpSettings

log = logging.getLogger(__name__)

SUBJECT = {
    "es": "{desk}: informe mensual de servicio de {month} — {org}",
    "en": "{desk}: monthly service report for {month} — {org}",
}
BODY = {
    "es": (
        "Estimado cliente:\n\nAdjuntamos el informe mensual de servicio de {month} de {org}: "
        "llamadas, nivel de servicio, incidentes y cumplimiento de SLA, satisfacción y uso de su "
        "bolsa de tickets. Las definiciones de cada cifra están en la última página.\n\n"
        "Atentamente,\n{desk}\n"
    ),
    "en": (
        "Dear customer,\n\nPlease find attached the monthly service report for {month} for {org}: "
        "calls, service level, incidents and SLA compliance, satisfaction and your ticket "
        "allotment usage. Every figure is defined on the last page.\n\n"
        "Kind regards,\n{desk}\n"
    ),
}
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Sent:
    organisation: str
    language: str
    recipients: list[str]
    error: str | None = None


def recipients_by_org(
    session: Session, organisation_id: int | None = None
) -> dict[tuple[int, str], dict[str, list[str]]]:
    """(organisation id, name) → language → addresses, active recipients only."""
    q = (
        select(Organisation.id, Organisation.name, ReportRecipient.language, ReportRecipient.email)
        .join(ReportRecipient, ReportRecipient.organisation_id == Organisation.id)
        .where(ReportRecipient.active.is_(True))
        .order_by(Organisation.name, ReportRecipient.email)
    )
    if organisation_id is not None:
        q = q.where(Organisation.id == organisation_id)
    out: dict[tuple[int, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for oid, name, lang, email in session.execute(q):
        out[(oid, name)][lang if lang in rt.LANGS else "es"].append(email)
    return out


def message(
    cfg: CentralitaConfig,
    org: str,
    lang: rt.Lang,
    to: list[str],
    year: int,
    month: int,
    pdf: bytes,
    xlsx: bytes | None,
) -> EmailMessage:
    desk = service_render.desk_name(cfg)
    month_text = rt.month_name(year, month, lang)
    msg = EmailMessage()
    msg["Subject"] = SUBJECT[lang].format(desk=desk, month=month_text, org=org)
    msg["From"] = formataddr((desk, cfg.reports.smtp.from_address))
    msg["To"] = ", ".join(to)
    msg["Message-ID"] = make_msgid(domain=cfg.reports.smtp.from_address.split("@")[-1])
    msg.set_content(BODY[lang].format(desk=desk, month=month_text, org=org))
    stem = f"{'informe' if lang == 'es' else 'report'}-{year:04d}-{month:02d}-{_slug(org)}"
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"{stem}.pdf")
    if xlsx is not None:
        main, sub = XLSX.split("/")
        msg.add_attachment(xlsx, maintype=main, subtype=sub, filename=f"{stem}.xlsx")
    return msg


def _slug(name: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "-".join("".join(c if c.isalnum() else " " for c in plain.lower()).split())[:60]


def smtp_send(settings: SmtpSettings, msg: EmailMessage) -> None:
    """One message through the configured server (STARTTLS, SSL or plain)."""
    if settings.security == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout,
            context=ssl.create_default_context(),
        )
    else:
        server = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with server:
        if settings.security == "starttls":
            server.starttls(context=ssl.create_default_context())
        if settings.username:
            server.login(settings.username, settings.password() or "")
        server.send_message(msg)


def send_monthly(
    session: Session,
    cfg: CentralitaConfig,
    year: int,
    month: int,
    *,
    organisation_id: int | None = None,
    as_of: datetime | None = None,
    logo: str | None = None,
    send: Callable[[SmtpSettings, EmailMessage], None] = smtp_send,
) -> list[Sent]:
    """Build, render and send each organisation's client report; one failure never stops the rest."""
    out: list[Sent] = []
    for (oid, name), by_lang in recipients_by_org(session, organisation_id).items():
        try:
            report = build(session, cfg, year, month, scope=Scope(oid, name), as_of=as_of)
        except Exception as exc:  # noqa: BLE001 - reported per organisation, others go on
            log.exception("report for %s failed", name)
            out += [Sent(name, lang, to, f"report failed: {exc}") for lang, to in by_lang.items()]
            continue
        for lang, to in by_lang.items():
            try:
                pdf = service_render.to_pdf(report, cfg, lang, logo=logo)  # type: ignore[arg-type]
                xlsx = (
                    service_render.to_xlsx(report, cfg, lang) if cfg.reports.attach_xlsx else None
                )  # type: ignore[arg-type]
                send(cfg.reports.smtp, message(cfg, name, lang, to, year, month, pdf, xlsx))  # type: ignore[arg-type]
                out.append(Sent(name, lang, to))
            except (smtplib.SMTPException, OSError) as exc:
                log.warning("sending %s's report to %s failed: %s", name, ", ".join(to), exc)
                out.append(Sent(name, lang, to, f"{type(exc).__name__}: {exc}"))
    return out
