"""The short FastAGI scripts the generated dialplan runs after the main IVR.

* ``voicemail``: the dialplan recorded a message into ``CENTRALITA_RECORDING``;
  turn it into an incident on the ``phone`` channel (idempotent per recording,
  because the ``h`` extension runs the script again if the caller hung up).
* ``callback``: store a callback request for the caller's number (idempotent per
  call uniqueid) and hand its id back in ``CENTRALITA_CALLBACK_ID``.
* ``survey``: the post-call survey (1..5) stored on the call record. The dialplan
  runs it once, from ``centralita-survey``, when Queue() returned with
  QUEUESTATUS=CONTINUE (option ``c``: the agent hung up, the caller is still there);
  never from the ``h`` extension. A caller who hangs up during it ends it cleanly.
* ``busy``: what a session beyond the concurrency bound gets: a console note and
  an immediate return, so the dialplan's defaults (the general queue) apply.
"""

from __future__ import annotations

from ivr.channel import AgiChannel
from ivr.prompts import SURVEY_DIGITS, sound
from ivr.services import CallerIdentity, IvrServices, decode_ivr_var, message_reason
from servicedesk.values import DIGITS, ascii_int


async def _identity(ch: AgiChannel) -> CallerIdentity | None:
    contact = (await ch.get_variable("CENTRALITA_CONTACT") or "").strip()
    contact_id = ascii_int(contact, 1)
    return None if contact_id is None else CallerIdentity(status="found", contact_id=contact_id)


async def _language(ch: AgiChannel) -> str:
    lang = (await ch.get_variable("IVR_LANG") or "").strip()
    return lang if lang in ("es", "en") else "es"


def voicemail_script(svc: IvrServices):
    async def run(ch: AgiChannel) -> None:
        path = (await ch.get_variable("CENTRALITA_RECORDING") or "").strip()
        if not path:
            await ch.verbose("centralita voicemail: no CENTRALITA_RECORDING", 1)
            return
        category = (await ch.get_variable("CENTRALITA_CATEGORY") or "").strip() or None
        choices = decode_ivr_var(await ch.get_variable("CENTRALITA_IVR") or "")
        number = await svc.create_message_incident(
            identity=await _identity(ch),
            recording_path=path,
            language=await _language(ch),
            ani=ch.env.get("agi_callerid", ""),
            uniqueid=ch.env.get("agi_uniqueid", ""),
            category=category,
            reason=message_reason(choices),
        )
        await ch.set_variable("CENTRALITA_INCIDENT", str(number))
        rec = getattr(ch, "record", None)
        if rec is not None:
            rec.action = "voicemail"
            rec.step(f"incident:{number}")

    return run


def callback_script(svc: IvrServices):
    async def run(ch: AgiChannel) -> None:
        number = "".join(c for c in ch.env.get("agi_callerid", "") if c in DIGITS)
        if not number:
            await ch.verbose("centralita callback: no caller number to call back", 1)
            return
        cb_id = await svc.request_callback(
            uniqueid=ch.env.get("agi_uniqueid", ""),
            number=number,
            identity=await _identity(ch),
            language=await _language(ch),
        )
        await ch.set_variable("CENTRALITA_CALLBACK_ID", str(cb_id))

    return run


def survey_script(svc: IvrServices, timeout_ms: int = 5000):
    async def run(ch: AgiChannel) -> None:
        rec = getattr(ch, "record", None)
        score = ""
        for _ in range(2):
            score = await ch.get_data(sound("survey_intro"), timeout_ms, 1)
            if score in SURVEY_DIGITS:
                break
        if score not in SURVEY_DIGITS:
            if rec is not None:
                rec.step("survey_no_answer")
            return
        stored = await svc.record_survey(uniqueid=ch.env.get("agi_uniqueid", ""), score=int(score))
        if rec is not None:
            rec.step(f"survey:{score}" if stored else f"survey_unmatched:{score}")
        await ch.stream_file(sound("survey_thanks"), "")

    return run


async def busy_script(ch: AgiChannel) -> None:
    await ch.verbose("centralita: IVR at capacity, using the dialplan defaults", 1)
