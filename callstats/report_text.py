"""The service report's words in Spanish and English, and number/date formatting.

The report is rendered outside Flask (the CLI, the monthly e-mail), so it keeps
its own small catalogue instead of the panel's gettext one. Spanish is the
default: the desks this serves are Mexican.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Literal

Lang = Literal["es", "en"]
LANGS: tuple[Lang, ...] = ("es", "en")

MONTHS = {
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}
WEEKDAYS = {
    "es": ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"],
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
}

T: dict[str, tuple[str, str]] = {
    # titles
    "report_title": ("Informe mensual de servicio", "Monthly service report"),
    "internal_edition": ("Edición interna", "Internal edition"),
    "whole_desk": ("Toda la mesa de servicio", "The whole service desk"),
    "organisation": ("Organización", "Organisation"),
    "contract": ("Contrato", "Contract"),
    "period": ("Periodo", "Period"),
    "timezone": ("Zona horaria", "Time zone"),
    "generated": ("Generado", "Generated"),
    "sla_as_of": ("Relojes SLA evaluados al", "SLA clocks judged at"),
    "calls_source": ("Fuente de llamadas", "Calls source"),
    "page": ("Página", "Page"),
    "of": ("de", "of"),
    "contents": ("Contenido", "Contents"),
    # sections
    "s_summary": ("Resumen ejecutivo", "Executive summary"),
    "s_calls": ("Llamadas", "Calls"),
    "s_calls_queue": ("Llamadas por cola", "Calls per queue"),
    "s_calls_day": ("Llamadas por día", "Calls per day"),
    "s_calls_hour": ("Llamadas por hora del día", "Calls per hour of day"),
    "s_abandon": ("Causas de no atención", "Why calls were not answered"),
    "s_incidents": ("Incidentes", "Incidents"),
    "s_channels": ("Incidentes abiertos por canal", "Incidents opened per channel"),
    "s_sla": ("Cumplimiento de SLA por prioridad", "SLA compliance per priority"),
    "s_breaches": ("Incumplimientos de SLA", "SLA breaches"),
    "s_satisfaction": ("Satisfacción", "Satisfaction"),
    "s_contracts": ("Contratos: bolsas de tickets", "Contracts: ticket allotments"),
    "s_agents": ("Agentes", "Agents"),
    "s_pauses": ("Pausas por motivo (horas)", "Pauses by reason (hours)"),
    "s_staffing": ("Dimensionamiento (Erlang C)", "Staffing (Erlang C)"),
    "s_definitions": ("Definiciones", "Definitions"),
    # summary
    "figure": ("Indicador", "Figure"),
    "this_month": ("Este mes", "This month"),
    "target": ("Meta", "Target"),
    "previous_month": ("Mes anterior", "Previous month"),
    "trend": ("Tendencia", "Trend"),
    "status": ("Estado", "Status"),
    "met_target": ("cumple", "met"),
    "missed_target": ("no cumple", "missed"),
    "no_data": ("sin datos", "no data"),
    "up": ("sube", "up"),
    "down": ("baja", "down"),
    "same": ("igual", "same"),
    "k_offered": ("Llamadas recibidas", "Calls received"),
    "k_answered": ("Llamadas atendidas", "Calls answered"),
    "k_sl": ("Nivel de servicio", "Service level"),
    "k_abandon": ("Tasa de abandono", "Abandon rate"),
    "k_asa": ("Tiempo medio de respuesta (ASA)", "Average speed of answer (ASA)"),
    "k_aht": ("Tiempo medio de conversación (AHT)", "Average talk time (AHT)"),
    "k_incidents": ("Incidentes abiertos", "Incidents opened"),
    "k_response": ("Cumplimiento de respuesta", "Response compliance"),
    "k_resolution": ("Cumplimiento de resolución", "Resolution compliance"),
    "k_csat": ("Satisfacción (CSAT)", "Satisfaction (CSAT)"),
    "at_least": ("≥", "≥"),
    "at_most": ("≤", "≤"),
    # calls
    "queue": ("Cola", "Queue"),
    "total": ("Total", "Total"),
    "day": ("Día", "Day"),
    "hour": ("Hora", "Hour"),
    "offered": ("Recibidas", "Offered"),
    "answered": ("Atendidas", "Answered"),
    "answered_within_sl": ("Atendidas en umbral", "Answered within threshold"),
    "abandoned": ("Abandonadas", "Abandoned"),
    "short_abandoned": ("Abandonos cortos", "Short abandons"),
    "abandoned_long": ("Abandonos (no cortos)", "Abandons (not short)"),
    "timeout": ("Tiempo máximo agotado", "Timed out"),
    "exit_empty": ("Salida por cola vacía", "Left: queue empty"),
    "exit_key": ("Salida por tecla / devolución", "Left by key / callback"),
    "withdraw": ("Retiradas", "Withdrawn"),
    "join_empty": ("Rechazadas (cola vacía)", "Refused (queue empty)"),
    "sl_percent": ("Nivel de servicio %", "Service level %"),
    "sl_target": ("Meta NS %", "SL target %"),
    "sl_formula": ("Fórmula NS", "SL formula"),
    "threshold_s": ("Umbral (s)", "Threshold (s)"),
    "asa_s": ("ASA (s)", "ASA (s)"),
    "aht_s": ("AHT (s)", "AHT (s)"),
    "longest_wait_s": ("Espera máxima (s)", "Longest wait (s)"),
    "abandon_percent": ("Abandono %", "Abandon %"),
    "calls": ("llamadas", "calls"),
    "f_answered": ("atendidas en umbral ÷ atendidas", "answered within ÷ answered"),
    "f_offered": ("atendidas en umbral ÷ recibidas", "answered within ÷ offered"),
    "f_offered_minus_short": (
        "atendidas en umbral ÷ (recibidas − abandonos cortos)",
        "answered within ÷ (offered − short abandons)",
    ),
    # incidents
    "priority": ("Prioridad", "Priority"),
    "p_critical": ("Crítica", "Critical"),
    "p_high": ("Alta", "High"),
    "p_medium": ("Media", "Medium"),
    "p_low": ("Baja", "Low"),
    "p_planned": ("Planificada", "Planned"),
    "opened": ("Abiertos", "Opened"),
    "resolved": ("Resueltos", "Resolved"),
    "closed": ("Cerrados", "Closed"),
    "reopened": ("Reabiertos", "Reopened"),
    "channel": ("Canal", "Channel"),
    "c_phone": ("Teléfono", "Phone"),
    "c_email": ("Correo", "E-mail"),
    "c_web": ("Portal web", "Web portal"),
    "c_monitoring": ("Monitoreo", "Monitoring"),
    "incidents": ("Incidentes", "Incidents"),
    "response": ("Respuesta", "Response"),
    "resolution": ("Resolución", "Resolution"),
    "met": ("Cumplidos", "Met"),
    "breached": ("Incumplidos", "Breached"),
    "pending": ("En curso", "Running"),
    "none": ("Sin reloj", "No clock"),
    "compliance": ("Cumplimiento %", "Compliance %"),
    "target_time": ("Meta", "Target"),
    "immediate": ("inmediata", "immediate"),
    "no_clock": ("sin reloj", "no clock"),
    "number": ("Número", "Number"),
    "title": ("Título", "Title"),
    "clock": ("Reloj", "Clock"),
    "created": ("Abierto", "Opened"),
    "due": ("Vencía", "Due"),
    "done": ("Atendido", "Done"),
    "late_by": ("Retraso", "Late by"),
    "still_open": ("sigue abierto", "still open"),
    "no_breaches": ("Sin incumplimientos en el mes.", "No breaches this month."),
    "more_breaches": (
        "… y {n} más (todos en la versión XLSX).",
        "… and {n} more (all of them in the XLSX).",
    ),
    # satisfaction
    "responses": ("Respuestas", "Responses"),
    "mean": ("Promedio (1–5)", "Mean (1–5)"),
    "csat_percent": ("CSAT %", "CSAT %"),
    "score": ("Calificación", "Score"),
    "no_queue": ("(sin cola)", "(no queue)"),
    # contracts
    "plan": ("Plan", "Plan"),
    "used": ("Usados", "Used"),
    "allotted": ("Asignados", "Allotted"),
    "percent_used": ("% usado", "% used"),
    "over": ("Excede este mes", "Over this month"),
    "streak": ("Meses seguidos", "Months running"),
    "flagged": ("Regla de exceso", "Excess rule"),
    "yes": ("sí", "yes"),
    "no": ("no", "no"),
    "flag_on": ("ACTIVADA", "TRIGGERED"),
    "flag_off": ("—", "—"),
    "unknown_plan": ("plan desconocido", "unknown plan"),
    "no_contracts": ("Sin contratos activos en el mes.", "No contracts active in the month."),
    # agents
    "agent": ("Agente", "Agent"),
    "talk_h": ("Conversación (h)", "Talk (h)"),
    "logged_in_h": ("Conectado (h)", "Logged in (h)"),
    "paused_h": ("En pausa (h)", "Paused (h)"),
    "occupancy_percent": ("Ocupación %", "Occupancy %"),
    "ring_noanswer": ("Timbrados sin respuesta", "Rings not answered"),
    "reason": ("Motivo", "Reason"),
    "no_reason": ("(sin motivo)", "(no reason)"),
    # staffing
    "weekday": ("Día", "Weekday"),
    "interval": ("Intervalo", "Interval"),
    "mean_calls": ("Llamadas/intervalo", "Calls/interval"),
    "handle_s": ("Manejo (s)", "Handle (s)"),
    "needed": ("Agentes necesarios", "Agents needed"),
    "scheduled": ("Con merma", "With shrinkage"),
    "predicted_sl": ("NS previsto %", "Predicted SL %"),
    "logged_in": ("Conectados (media)", "Logged in (mean)"),
    "flag": ("Alerta", "Flag"),
    "under": ("FALTAN", "UNDER"),
    "over_staffed": ("sobran", "over"),
    "staffing_intro": (
        "Historia: {start} a {end}. Merma {shrink} %, ocupación máxima {occ} %, tolerancia {tol} agentes. "
        "{n} intervalos marcados de {total}.",
        "History: {start} to {end}. Shrinkage {shrink} %, maximum occupancy {occ} %, tolerance {tol} agents. "
        "{n} intervals flagged of {total}.",
    ),
    "staffing_flagged_only": (
        "Se listan hasta 120 intervalos marcados, los de mayor diferencia primero; todos los intervalos están en la versión XLSX.",
        "Up to 120 flagged intervals are listed, the widest gaps first; every interval is in the XLSX.",
    ),
    # charts
    "ch_sl_day": (
        "Nivel de servicio por día contra la meta",
        "Service level per day against target",
    ),
    "ch_heat": ("Llamadas recibidas por día y hora", "Calls offered per day and hour"),
    "ch_abandon": ("Causas de no atención", "Why calls were not answered"),
    "ch_sla": ("Cumplimiento de SLA por prioridad", "SLA compliance per priority"),
    "ch_allot": (
        "Uso de la bolsa de tickets (% de lo asignado)",
        "Ticket allotment usage (% of allotted)",
    ),
}


def t(key: str, lang: Lang) -> str:
    es, en = T[key]
    return es if lang == "es" else en


def month_name(year: int, month: int, lang: Lang) -> str:
    name = MONTHS[lang][month - 1]
    return f"{name} de {year}" if lang == "es" else f"{name} {year}"


def num(value: float | int | None, lang: Lang, digits: int = 1) -> str:
    """1234.5 → '1,234.5' (Mexico and English use the same separators); None → '—'."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def when(dt: datetime | None, tz: tzinfo, lang: Lang) -> str:
    if dt is None:
        return "—"
    return dt.astimezone(tz).strftime("%d/%m/%Y %H:%M" if lang == "es" else "%Y-%m-%d %H:%M")


def day(d: date, lang: Lang) -> str:
    wd = WEEKDAYS[lang][d.weekday()]
    return f"{wd} {d.day:02d}/{d.month:02d}" if lang == "es" else f"{wd} {d.month:02d}-{d.day:02d}"


def minutes(m: int | None, lang: Lang) -> str:
    """An SLA target in words: 0 → immediate, 60 → 1 h, 90 → 1 h 30 min."""
    if m is None:
        return t("no_clock", lang)
    if m == 0:
        return t("immediate", lang)
    h, mm = divmod(m, 60)
    if h and mm:
        return f"{h} h {mm} min"
    return f"{h} h" if h else f"{mm} min"


def duration(seconds: float, lang: Lang) -> str:
    m = int(seconds // 60)
    h, mm = divmod(m, 60)
    d, hh = divmod(h, 24)
    if d:
        return f"{d} d {hh} h"
    return f"{hh} h {mm} min" if hh else f"{mm} min"
