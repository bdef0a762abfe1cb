"""Every IVR prompt, in Mexican Spanish and English, keyed by a stable name.

The IVR plays prompts as ``centralita/<key>`` (Asterisk finds
``sounds/<lang>/centralita/<key>.wav`` from ``CHANNEL(language)``), and
``centralita conf prompts`` renders this catalogue to those files. Numbers and
digits are never baked into a recording: the IVR says them with SAY NUMBER /
SAY DIGITS (Asterisk's core sounds), between the *pieces* below
(``status_incident`` + digits + ``status_is`` + ``status_<name>`` ...).

Rules for entries:

* each value is ``{"es": text, "en": text}``; both languages are required;
* the language choice is bilingual by design: ``es/centralita/language_choice``
  says the Spanish half and ``en/centralita/language_choice`` the English half,
  and the IVR plays the two in a row, each in its own voice;
* a text may hold ``{hours}`` (see :data:`PLACEHOLDERS`); those prompts are
  rendered per calendar (``closed_hours_<calendar>``) by :func:`full_catalogue`;
* the digits spoken in menus are the ones in the ``*_DIGITS`` maps below, so the
  IVR reads the keys it listens for from the same place the texts come from.

The IVR helper imports :data:`PROMPTS` and may add entries (``PROMPTS[key] = ...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from servicedesk.config import CentralitaConfig

LANGUAGES: tuple[str, ...] = ("es", "en")

# The keys each menu listens for; the prompt texts below say these digits.
LANGUAGE_DIGITS: dict[str, str] = {"es": "1", "en": "2"}
MAIN_MENU_DIGITS: dict[str, str] = {
    "new_incident": "1",
    "status": "2",
    "critical": "3",
    "agent": "0",
}
AFTER_HOURS_DIGITS: dict[str, str] = {"oncall": "1", "message": "2", "callback": "3"}
STATUS_MENU_DIGITS: dict[str, str] = {"agent": "1"}
CALLBACK_DIGITS: dict[str, str] = {"confirm": "1"}
SURVEY_DIGITS: tuple[str, ...] = ("1", "2", "3", "4", "5")

# Placeholders a text may contain, and what fills them.
PLACEHOLDERS: dict[str, str] = {"hours": "the calendar's opening hours, describe_hours(lang)"}

PROMPTS: dict[str, dict[str, str]] = {
    # --- greetings -----------------------------------------------------------
    "welcome": {
        "es": "Gracias por llamar a la Mesa de Servicio de TI.",
        "en": "Thank you for calling the IT Service Desk.",
    },
    "welcome_tollfree": {
        "es": "Gracias por llamar a la Mesa de Servicio de TI. Esta llamada puede ser grabada "
        "para fines de calidad.",
        "en": "Thank you for calling the IT Service Desk. This call may be recorded for "
        "quality purposes.",
    },
    "welcome_vip": {
        "es": "Bienvenido a la línea de atención preferente de la Mesa de Servicio de TI.",
        "en": "Welcome to the IT Service Desk priority line.",
    },
    "language_choice": {
        "es": "Para español, oprima 1.",
        "en": "For English, press 2.",
    },
    # --- business hours ------------------------------------------------------
    "closed": {
        "es": "En este momento la Mesa de Servicio está fuera de horario.",
        "en": "The Service Desk is currently closed.",
    },
    "closed_hours": {
        "es": "Nuestro horario de atención es {hours}.",
        "en": "Our opening hours are {hours}.",
    },
    "holiday_closed": {
        "es": "Hoy es día festivo y la Mesa de Servicio no está atendiendo.",
        "en": "Today is a public holiday and the Service Desk is closed.",
    },
    "oncall_offer": {
        "es": "Si tiene una falla crítica y su contrato incluye guardia las 24 horas, "
        "oprima 1 para comunicarse con el ingeniero de guardia.",
        "en": "If you have a critical outage and your contract includes 24-hour cover, "
        "press 1 to reach the on-call engineer.",
    },
    "oncall_connecting": {
        "es": "Le comunicamos con el ingeniero de guardia. Por favor, espere.",
        "en": "Connecting you to the on-call engineer. Please hold.",
    },
    "oncall_unavailable": {
        "es": "No fue posible comunicarle con el ingeniero de guardia.",
        "en": "We could not reach the on-call engineer.",
    },
    "message_offer": {
        "es": "Para dejar un mensaje con la descripción de su falla, oprima 2.",
        "en": "To leave a message describing your problem, press 2.",
    },
    # short: the caller waits through all of it for the tone (it was 11 s); hanging
    # up ends the message, and the caller ID and IVR choices travel with it
    "record_after_tone": {
        "es": "Después del tono, diga su nombre y su falla.",
        "en": "After the tone, say your name and the problem.",
    },
    "message_saved": {
        "es": "Su mensaje quedó registrado como un incidente. Le contactaremos a la brevedad.",
        "en": "Your message has been logged as an incident. We will contact you shortly.",
    },
    "callback_offer": {
        "es": "Para que le devolvamos la llamada en cuanto abramos, oprima 3.",
        "en": "To have us call you back as soon as we open, press 3.",
    },
    "callback_confirm": {
        "es": "Le llamaremos al número desde el que nos está llamando. Para confirmar, oprima 1.",
        "en": "We will call you back on the number you are calling from. To confirm, press 1.",
    },
    "callback_registered": {
        "es": "Su solicitud de devolución de llamada quedó registrada. Gracias.",
        "en": "Your callback request has been registered. Thank you.",
    },
    # --- caller identification -----------------------------------------------
    "identify": {
        "es": "No encontramos su número en nuestro directorio. Por favor, marque su número "
        "de contrato o de cliente y al terminar oprima la tecla de gato.",
        "en": "We could not find your number in our directory. Please enter your contract "
        "or customer number, followed by the pound key.",
    },
    "not_found": {
        "es": "No encontramos ese número.",
        "en": "We could not find that number.",
    },
    # --- main menu -----------------------------------------------------------
    "main_menu": {
        "es": "Para reportar una nueva falla, oprima 1. Para conocer el estado de un "
        "incidente, oprima 2. Para reportar una falla crítica que detiene su operación, "
        "oprima 3. Para hablar con un agente, oprima 0.",
        "en": "To report a new problem, press 1. To check the status of an incident, "
        "press 2. To report a critical outage that stops your business, press 3. "
        "To speak to an agent, press 0.",
    },
    "category_intro": {
        "es": "Elija la categoría de su falla.",
        "en": "Please choose the category of your problem.",
    },
    "critical_registered": {
        "es": "Registramos su reporte como falla crítica. Le atenderemos con prioridad.",
        "en": "We have logged your report as a critical outage. You will be served first.",
    },
    # --- incident status read-back -------------------------------------------
    "enter_incident": {
        "es": "Marque el número de su incidente y al terminar oprima la tecla de gato.",
        "en": "Enter your incident number, followed by the pound key.",
    },
    "incident_not_found": {
        "es": "No encontramos un incidente con ese número.",
        "en": "We could not find an incident with that number.",
    },
    "your_incident_number": {
        "es": "Su número de incidente es",
        "en": "Your incident number is",
    },
    "status_incident": {
        "es": "El incidente número",
        "en": "Incident number",
    },
    "status_is": {
        "es": "se encuentra en estado",
        "en": "has the status",
    },
    "status_new": {"es": "nuevo", "en": "new"},
    "status_assigned": {"es": "asignado", "en": "assigned"},
    "status_in_progress": {"es": "en proceso", "en": "in progress"},
    "status_escalated": {"es": "escalado", "en": "escalated"},
    "status_resolved": {"es": "resuelto", "en": "resolved"},
    "status_closed": {"es": "cerrado", "en": "closed"},
    "priority_is": {
        "es": "con prioridad",
        "en": "with priority",
    },
    "priority_critical": {"es": "crítica", "en": "critical"},
    "priority_high": {"es": "alta", "en": "high"},
    "priority_medium": {"es": "media", "en": "medium"},
    "priority_low": {"es": "baja", "en": "low"},
    "priority_planned": {"es": "planificada", "en": "planned"},
    "support_level": {
        "es": "y lo atiende el nivel de soporte",
        "en": "and is being handled by support level",
    },
    "status_agent_offer": {
        "es": "Para hablar con un agente sobre este incidente, oprima 1. Para terminar, cuelgue.",
        "en": "To speak to an agent about this incident, press 1. Otherwise, you may hang up.",
    },
    # --- errors and retries --------------------------------------------------
    "invalid_option": {
        "es": "La opción que marcó no es válida.",
        "en": "That option is not valid.",
    },
    "no_input": {
        "es": "No recibimos ninguna opción.",
        "en": "We did not receive any selection.",
    },
    "technical_problem": {
        "es": "Por el momento no podemos procesar su solicitud. Le comunicamos con un agente.",
        "en": "We cannot process your request right now. Connecting you to an agent.",
    },
    # --- queueing ------------------------------------------------------------
    "transferring": {
        "es": "Le comunicamos con un agente. Por favor, no cuelgue.",
        "en": "Transferring you to an agent. Please stay on the line.",
    },
    "wait_estimate": {
        "es": "Su tiempo estimado de espera es de",
        "en": "Your estimated wait time is",
    },
    "minute": {"es": "minuto", "en": "minute"},
    "minutes": {"es": "minutos", "en": "minutes"},
    "wait_less_than_minute": {
        "es": "Su tiempo estimado de espera es de menos de un minuto.",
        "en": "Your estimated wait time is less than one minute.",
    },
    "all_busy": {
        "es": "Todos nuestros agentes están atendiendo otras llamadas. Por favor, permanezca "
        "en la línea; su llamada es muy importante para nosotros.",
        "en": "All of our agents are busy with other callers. Please stay on the line; your "
        "call is important to us.",
    },
    "please_hold": {
        "es": "Por favor, espere en la línea.",
        "en": "Please hold.",
    },
    "no_agents": {
        "es": "En este momento no hay agentes disponibles.",
        "en": "No agents are available right now.",
    },
    "goodbye": {
        "es": "Gracias por llamar. Que tenga un excelente día.",
        "en": "Thank you for calling. Have a great day.",
    },
    # --- post-call survey ----------------------------------------------------
    "survey_intro": {
        "es": "Antes de colgar, califique la atención que recibió. Marque del 1 al 5, "
        "donde 5 es excelente.",
        "en": "Before you go, please rate the service you received. Press 1 to 5, where 5 "
        "is excellent.",
    },
    "survey_thanks": {
        "es": "Gracias por su opinión.",
        "en": "Thank you for your feedback.",
    },
}


def _mid_sentence(name: str) -> str:
    """'Red e internet' → 'red e internet', but 'ERP y sistemas' stays (an acronym)."""
    if len(name) > 1 and name[0].isupper() and name[1].islower():
        return name[0].lower() + name[1:]
    return name


def category_prompts(cfg: CentralitaConfig) -> dict[str, dict[str, str]]:
    """One ``category_<skill>`` prompt per skill with a DTMF digit, from its names."""
    out: dict[str, dict[str, str]] = {}
    for name, skill in sorted(cfg.skills.items()):
        if skill.dtmf is None:
            continue
        out[f"category_{name}"] = {
            "es": f"Para {_mid_sentence(skill.name_es)}, oprima {skill.dtmf}.",
            "en": f"For {_mid_sentence(skill.name_en)}, press {skill.dtmf}.",
        }
    return out


def welcome_key(line_name: str, prompts: Mapping[str, object] = PROMPTS) -> str:
    """The greeting for a line: ``welcome_<line>`` if catalogued, else ``welcome``."""
    key = f"welcome_{line_name}"
    return key if key in prompts else "welcome"


def has_placeholder(text: str) -> bool:
    return any("{" + name + "}" in text for name in PLACEHOLDERS)


def hours_prompts(
    cfg: CentralitaConfig, describe: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """``closed_hours_<calendar>``: the ``closed_hours`` text filled per calendar.

    ``describe`` maps calendar → language → hours text (``describe_hours(lang)``);
    it is passed in so this module stays free of calendar logic.
    """
    out: dict[str, dict[str, str]] = {}
    template = PROMPTS["closed_hours"]
    for cal in sorted(cfg.calendars):
        if cal not in describe:
            continue
        out[f"closed_hours_{cal}"] = {
            lang: template[lang].format(hours=describe[cal][lang]) for lang in LANGUAGES
        }
    return out


def full_catalogue(
    cfg: CentralitaConfig, describe: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, dict[str, str]]:
    """The static catalogue plus the prompts derived from the config, sorted by key."""
    merged: dict[str, dict[str, str]] = dict(PROMPTS)
    merged.update(category_prompts(cfg))
    if describe:
        merged.update(hours_prompts(cfg, describe))
    return dict(sorted(merged.items()))


def missing_texts(prompts: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Problems such as ``'goodbye': no 'en' text``; empty when every entry is complete."""
    problems: list[str] = []
    for key, texts in sorted(prompts.items()):
        for lang in LANGUAGES:
            if not str(texts.get(lang, "")).strip():
                problems.append(f"prompt {key!r}: no {lang!r} text")
    return problems


# --- the greeting and the language offer in one recording (appended) ---------
# The IVR plays ``<welcome key>_language`` (``welcome_tollfree_language``, ...) as
# ONE STREAM FILE that listens for the language digits, instead of the welcome and
# the two halves of ``language_choice`` in three commands: two round trips fewer on
# every call, and a caller can still key 1 or 2 at any moment of it. Each entry is
# the welcome followed by both halves of the offer, Spanish half first (the digits
# in order); a voice talent should record each half in its own language.
def _greeting_texts(welcome: str) -> dict[str, str]:
    offer = f"{PROMPTS['language_choice']['es']} {PROMPTS['language_choice']['en']}"
    return {lang: f"{PROMPTS[welcome][lang]} {offer}" for lang in LANGUAGES}


GREETINGS: dict[str, str] = {
    f"{key}_language": key
    for key in list(PROMPTS)
    if key == "welcome" or (key.startswith("welcome_") and not key.endswith("_language"))
}
PROMPTS.update({key: _greeting_texts(welcome) for key, welcome in GREETINGS.items()})


def greeting_key(line_name: str, prompts: Mapping[str, object] = PROMPTS) -> str | None:
    """The line's welcome merged with the language offer; None when the line's welcome
    has no merged recording (one added later: the IVR then plays welcome + offer)."""
    key = f"{welcome_key(line_name, prompts)}_language"
    return key if key in prompts else None
