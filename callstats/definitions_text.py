"""The report's definitions page: every formula the figures used, in words (es/en).

Generated from the same configuration and report the figures came from, so the
page lists each queue's own service-level formula and thresholds, the SLA table
and the excess rule actually applied, and says which formula the totals used
when queues differ — no two formulas are ever mixed without saying so.
"""

from __future__ import annotations

from callstats import report_text as rt
from callstats.report_text import Lang
from callstats.service_report import ServiceReport
from servicedesk.config import PRIORITIES, CentralitaConfig

_FORMULA = {
    "answered": "f_answered",
    "offered": "f_offered",
    "offered_minus_short": "f_offered_minus_short",
}

_GENERAL: list[tuple[str, str, str, str]] = [
    (
        "Recibidas (ofrecidas)",
        "Entradas a una cola cuya hora de entrada cae en el mes (hora local). Una llamada que pasa a una segunda cola cuenta una vez en cada cola. Las rechazadas por cola vacía (joinempty) no entraron y se cuentan aparte.",
        "Offered",
        "Queue entries whose entry time falls in the month (local time). A call moved to a second queue counts once in each queue. Calls refused because the queue was empty (joinempty) never entered and are counted apart.",
    ),
    (
        "Atendidas",
        "Entradas conectadas con un agente, incluidas las transferidas después.",
        "Answered",
        "Entries connected to an agent, including those transferred afterwards.",
    ),
    (
        "Abandonadas",
        "El llamante colgó mientras esperaba. Los abandonos cortos (espera < umbral de abandono corto de la cola) se muestran aparte. El tiempo máximo agotado, la salida por cola vacía, la salida por tecla (incluida la solicitud de devolución de llamada) y las retiradas NO son abandonos: los decide la cola, no el llamante.",
        "Abandoned",
        "The caller hung up while waiting. Short abandons (wait < the queue's short-abandon threshold) are shown apart. Time-outs, empty-queue exits, exits by key (including callback requests) and withdrawals are NOT abandons: the queue let the caller go.",
    ),
    (
        "Tasa de abandono",
        "abandonadas ÷ recibidas × 100.",
        "Abandon rate",
        "abandoned ÷ offered × 100.",
    ),
    (
        "Espera",
        "Segundos enteros desde la entrada a la cola hasta la atención o la salida, como los registra Asterisk.",
        "Wait (hold)",
        "Whole seconds from entering the queue to answer or exit, as Asterisk records them.",
    ),
    (
        "Atendida en umbral",
        "Atendida con espera ≤ el umbral de nivel de servicio de SU cola (ver tabla).",
        "Answered within threshold",
        "Answered with a wait ≤ ITS queue's service-level threshold (see table).",
    ),
    (
        "ASA",
        "Σ espera de las atendidas ÷ atendidas (segundos).",
        "ASA",
        "Σ wait of answered calls ÷ answered (seconds).",
    ),
    (
        "AHT",
        "Σ conversación ÷ atendidas con conversación conocida (segundos; sin post-llamada).",
        "AHT",
        "Σ talk ÷ answered calls with a known talk time (seconds; wrap-up excluded).",
    ),
    (
        "Espera máxima",
        "La mayor espera de una entrada terminada (atendida o no).",
        "Longest wait",
        "The longest wait of any finished entry (answered or not).",
    ),
    (
        "Incidentes abiertos / resueltos / cerrados / reabiertos",
        "Incidentes cuya fecha de apertura / resolución / cierre / reapertura cae en el mes.",
        "Incidents opened / resolved / closed / reopened",
        "Incidents whose opening / resolution / closing / reopening time falls in the month.",
    ),
    (
        "Cumplimiento de SLA",
        "Para los incidentes abiertos en el mes, cada reloj (respuesta: hasta la primera respuesta; resolución: hasta la resolución) se compara con su vencimiento, calculado al abrir el incidente en tiempo hábil del calendario de la prioridad. Cumplido: atendido a tiempo o antes; incumplido: atendido tarde, o sigue abierto y ya venció; en curso: abierto y no vencido. Cumplimiento % = cumplidos ÷ (cumplidos + incumplidos) × 100; los relojes en curso aún no cuentan.",
        "SLA compliance",
        "For incidents opened in the month, each clock (response: to the first response; resolution: to resolution) is compared with its due time, computed when the incident was opened in business time of the priority's calendar. Met: done on or before due; breached: done late, or still open past due; running: open and not yet due. Compliance % = met ÷ (met + breached) × 100; running clocks do not count yet.",
    ),
    (
        "CSAT",
        "Encuesta al final de la llamada (1–5) de las llamadas iniciadas en el mes: CSAT % = respuestas de 4 o 5 ÷ respuestas × 100; promedio = Σ calificaciones ÷ respuestas.",
        "CSAT",
        "End-of-call survey (1–5) of calls started in the month: CSAT % = answers of 4 or 5 ÷ answers × 100; mean = Σ scores ÷ answers.",
    ),
    (
        "Bolsa de tickets",
        "Incidentes abiertos en el mes por contrato y prioridad contra lo asignado por el plan. % usado = usados ÷ asignados × 100.",
        "Ticket allotment",
        "Incidents opened in the month per contract and priority against the plan's allotment. % used = used ÷ allotted × 100.",
    ),
    (
        "Alcance por organización / contrato",
        "Llamadas: las de los contactos de la organización (por su número identificado). Incidentes: los de la organización, o los del contrato cuando se pide un contrato (las llamadas no se ligan a un contrato: se cuentan las de su organización).",
        "Organisation / contract scope",
        "Calls: those of the organisation's contacts (identified by number). Incidents: the organisation's, or the contract's when a contract is asked for (calls are not tied to a contract: its organisation's are counted).",
    ),
    (
        "Transferidas a otra central",
        "Una llamada que un agente transfiere a una cola de otra central (PBX) de la mesa es UNA llamada del cliente: cuenta como recibida una vez, en la cola de la central donde entró, y termina allí como atendida (transferida), nunca como abandonada. El tramo que continúa en la otra central no vuelve a contar como recibida, atendida ni abandonada en su cola; sí cuenta para el agente que la atiende allí (atendidas y conversación del agente).",
        "Transferred to another PBX",
        "A call an agent transfers to a queue on another PBX of the desk is ONE caller call: it counts as offered once, in the queue of the PBX where it came in, and ends there as answered (transferred), never as abandoned. The leg that continues on the other PBX is not counted again as offered, answered or abandoned in its queue; it does count for the agent who takes it there (the agent's answered calls and talk).",
    ),
]

_INTERNAL: list[tuple[str, str, str, str]] = [
    (
        "Ocupación",
        "Σ conversación de las llamadas atendidas por el agente ÷ (tiempo conectado − tiempo en pausa) × 100. Conectado = unión de sus sesiones en colas; en pausa = conectado y en pausa en al menos una cola.",
        "Occupancy",
        "Σ talk of the calls the agent answered ÷ (logged-in time − paused time) × 100. Logged in = the union of their queue sessions; paused = logged in and paused in at least one queue.",
    ),
    (
        "Dimensionamiento",
        "Por cola, día de la semana e intervalo de 30 min: llamadas = media de recibidas en ese intervalo en los meses de historia; manejo = AHT del intervalo + post-llamada de la cola; Erlang C da los agentes necesarios para la meta de la cola (nivel de advertencia del tablero dentro de su umbral), limitados por la ocupación máxima; con merma = ⌈necesarios ÷ (1 − merma)⌉. Faltan: conectados (media en el mes) < necesarios − tolerancia; sobran: conectados > con merma + tolerancia.",
        "Staffing",
        "Per queue, weekday and 30-minute interval: calls = mean offered in that interval over the history months; handle = the interval's AHT + the queue's wrap-up; Erlang C gives the agents needed for the queue's target (the wallboard's warning level within its threshold), capped by the maximum occupancy; with shrinkage = ⌈needed ÷ (1 − shrinkage)⌉. Under: logged in (mean over the month) < needed − tolerance; over: logged in > with shrinkage + tolerance.",
    ),
]


def general(report: ServiceReport, lang: Lang) -> list[tuple[str, str]]:
    items = _GENERAL + (_INTERNAL if report.edition == "internal" else [])
    out = [(es_t, es_d) if lang == "es" else (en_t, en_d) for es_t, es_d, en_t, en_d in items]
    totals = rt.t(_FORMULA[report.overall_formula], lang)
    formulas = {q.rules.sl_formula for q in report.queues}
    if lang == "es":
        mixed = (
            "Las colas usan fórmulas distintas, así que los totales, los días y las horas usan "
            if len(formulas) > 1
            else "Los totales, los días y las horas usan la fórmula común de las colas: "
        )
        out.insert(
            6,
            (
                "Nivel de servicio (totales)",
                f"{mixed}{totals}, cada llamada con el umbral de su cola.",
            ),
        )
    else:
        mixed = (
            "The queues use different formulas, so totals, days and hours use "
            if len(formulas) > 1
            else "Totals, days and hours use the queues' common formula: "
        )
        out.insert(
            6,
            (
                "Service level (totals)",
                f"{mixed}{totals}, each call against its own queue's threshold.",
            ),
        )
    return out


def queue_rules(report: ServiceReport, lang: Lang) -> list[list[str]]:
    """Per queue: SL formula in words, SL threshold, short-abandon threshold, target."""
    return [
        [
            q.queue or "—",
            rt.t(_FORMULA[q.rules.sl_formula], lang),
            f"{q.rules.servicelevel} s",
            f"{q.rules.short_abandon} s",
            f"{q.target_percent:g} %",
        ]
        for q in report.queues
    ]


def sla_table(cfg: CentralitaConfig, lang: Lang) -> list[list[str]]:
    return [
        [
            rt.t(f"p_{p}", lang),
            rt.minutes(cfg.sla.priorities[p].response_minutes, lang),
            rt.minutes(cfg.sla.priorities[p].resolution_minutes, lang),
            cfg.sla.priorities[p].calendar or "—",
        ]
        for p in PRIORITIES
    ]


def excess_rule(cfg: CentralitaConfig, lang: Lang) -> str:
    r = cfg.contracts.excess
    if lang == "es":
        return (
            f"Regla de exceso: un contrato se marca cuando, en una prioridad, usa más del "
            f"{r.percent_over:g} % sobre lo asignado durante {r.consecutive_months} meses seguidos "
            f"(usados × 100 > asignados × {100 + r.percent_over:g})."
        )
    return (
        f"Excess rule: a contract is flagged when, for one priority, it uses more than "
        f"{r.percent_over:g} % over its allotment for {r.consecutive_months} months running "
        f"(used × 100 > allotted × {100 + r.percent_over:g})."
    )
