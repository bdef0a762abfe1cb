"""How long each prompt plays, in seconds: what Asterisk takes before it answers a media command.

Asterisk answers STREAM FILE, GET DATA, SAY * and WAIT FOR DIGIT only when the
sound has finished (or a key stopped it), so the IVR's reply deadlines and
pbxsim's playback both need the real lengths. Three sources, best first:

* the WAV files `centralita conf prompts` rendered (:func:`measure_dir`), when a
  sounds directory is at hand;
* ``prompt_lengths.json`` beside this module: the same files measured once for the
  static catalogue (espeak-ng 1.51, 150 wpm, 8 kHz). Regenerate it with
  ``python -m asterisk_conf.prompt_lengths`` after changing a text; a test
  renders afresh and compares;
* for prompts derived from the config (``category_<skill>``,
  ``closed_hours_<calendar>``), an estimate from the text (:func:`estimate_seconds`),
  calibrated on the table to err on the long side.

Stock Asterisk sounds have the lengths measured on Asterisk 22.10.1's English core
sounds in ``../shared/asterisk-traces`` (``hello-world`` 11234 samples in fastagi_ivr,
``beep`` 0.42 s as ``EXEC Playback beep`` took there, one spoken digit 0.773 s as
``SAY DIGITS 42`` took 1.546 s, ``vm-nobodyavail`` and ``vm-goodbye`` from the
Playback steps of exit_timeout). Other core sounds (``queue-*``, SAY NUMBER's words)
are not recorded there: the IVR's deadlines count them as one digit's length a word.

Keys are Asterisk's sound paths with the language in front, as it finds the
files: ``es/centralita/main_menu`` (``sounds/es/centralita/main_menu.wav``).
"""

from __future__ import annotations

import json
import wave
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .prompt_catalogue import LANGUAGES, PROMPTS, full_catalogue, has_placeholder

if TYPE_CHECKING:  # pragma: no cover - typing only
    from servicedesk.config import CentralitaConfig

TABLE = Path(__file__).with_name("prompt_lengths.json")
PROMPT_DIR = "centralita"

# One spoken digit of Asterisk's core sounds (SAY DIGITS 42 took 1.546 s on 22.10.1).
DIGIT_SECONDS = 0.773
# Stock sounds, language-neutral keys (Asterisk plays the channel language's copy).
STOCK_SECONDS: dict[str, float] = {
    "hello-world": 1.40425,  # measured: endpos=11234 in fastagi_ivr
    "beep": 0.424,  # measured: EXEC Playback beep in fastagi_ivr
    "vm-nobodyavail": 2.787,  # measured: Playback to the next step in exit_timeout
    "vm-goodbye": 0.864,  # measured: Playback to Hangup in exit_timeout
}
# Derived prompts: espeak-ng speaks 11-15 characters a second, and a digit in a time
# ("9:00") takes a word; 10 a second, a digit as 2.5 characters and a lead-in
# over-estimate every catalogued prompt and calendar text, which is the safe side.
_EST_CHARS_PER_S = 10.0
_EST_DIGIT_CHARS = 2.5
_EST_LEAD_S = 0.5
PROMPTS_TEXT = {lang: PROMPTS["closed_hours"][lang].replace("{hours}", "") for lang in LANGUAGES}


def wav_seconds(path: str | Path) -> float:
    """Length of a PCM WAV file from its header."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())


def measure_dir(sounds_dir: str | Path) -> dict[str, float]:
    """``<lang>/centralita/<key>`` → seconds for every rendered WAV under `sounds_dir`."""
    root = Path(sounds_dir)
    out: dict[str, float] = {}
    for lang in LANGUAGES:
        for path in sorted((root / lang / PROMPT_DIR).glob("*.wav")):
            out[f"{lang}/{PROMPT_DIR}/{path.stem}"] = round(wav_seconds(path), 3)
    return out


@lru_cache(maxsize=1)
def catalogue_table() -> dict[str, float]:
    """The committed measurements of the static catalogue (``lang/centralita/key`` → s)."""
    data = json.loads(TABLE.read_text(encoding="utf-8"))
    return {str(k): float(v) for k, v in data["seconds"].items()}


def estimate_seconds(text: str) -> float:
    """A generous guess at how long a text takes to speak (for prompts not measured)."""
    digits = sum(c in "0123456789" for c in text)
    chars = len(text) - digits + digits * _EST_DIGIT_CHARS
    return round(_EST_LEAD_S + chars / _EST_CHARS_PER_S, 3)


def hours_upper_bound_s(cfg: CentralitaConfig, calendar: str) -> float:
    """A bound on ``closed_hours_<calendar>`` without writing the sentence (which loads
    Babel's locale data, 6 MB the FastAGI server need not hold): every open day named
    on its own, every shift spoken in full; the real sentence groups days, so it is shorter."""
    cal = cfg.calendars[calendar]
    day = 12  # "miércoles, " and the like
    shift = 14 + 8 * _EST_DIGIT_CHARS  # " de 15:00 a 18:00 y"
    chars = 60 if cal.always_open else 0  # "abierto las 24 horas, todos los días"
    chars += sum(day + shift * len(shifts) for shifts in cal.hours.values() if shifts)
    longest = max(len(PROMPTS_TEXT[lang]) for lang in LANGUAGES)
    return round(_EST_LEAD_S + (longest + chars) / _EST_CHARS_PER_S, 3)


def prompt_lengths(
    cfg: CentralitaConfig,
    describe: Mapping[str, Mapping[str, str]] | None = None,
    sounds_dir: str | Path | None = None,
    *,
    exact_hours: bool = True,
) -> dict[str, float]:
    """Every prompt the IVR can play for this config: measured files first, then the
    table, then estimates; plus the stock sounds under their own names.
    `exact_hours=False`: the opening-hours prompts get :func:`hours_upper_bound_s`."""
    if describe is None and exact_hours:
        from .prompts import hours_descriptions

        describe = hours_descriptions(cfg)
    out: dict[str, float] = dict(STOCK_SECONDS)
    if not exact_hours:
        for cal in cfg.calendars:
            bound = hours_upper_bound_s(cfg, cal)
            for lang in LANGUAGES:
                out[f"{lang}/{PROMPT_DIR}/closed_hours_{cal}"] = bound
    table = catalogue_table()
    for key, texts in full_catalogue(cfg, describe).items():
        if any(has_placeholder(t) for t in texts.values()):
            continue
        for lang in LANGUAGES:
            name = f"{lang}/{PROMPT_DIR}/{key}"
            out[name] = table.get(name) or estimate_seconds(texts[lang])
    if sounds_dir is not None:
        out.update(measure_dir(sounds_dir))
    return out


def longest_by_sound(lengths: Mapping[str, float]) -> dict[str, float]:
    """``centralita/<key>`` → its longest language: the IVR does not know which copy
    Asterisk picks (CHANNEL(language)), so a deadline must cover both."""
    out: dict[str, float] = {}
    for name, seconds in lengths.items():
        lang, sep, rest = name.partition("/")
        if sep and lang in LANGUAGES and rest.startswith(PROMPT_DIR + "/"):
            out[rest] = max(out.get(rest, 0.0), seconds)
            out[name] = seconds  # an explicit-language sound (es/centralita/...) as well
        else:
            out[name] = max(out.get(name, 0.0), seconds)
    return out


def longest_ivr_seconds(cfg: CentralitaConfig, lengths: Mapping[str, float] | None = None) -> float:
    """The longest the main IVR can keep a caller, prompts and digit timeouts included.

    The caller who keys nothing (every menu runs all its attempts and times out) on
    the line with the longest greeting, through the longest branch: after-hours
    offers, or the main menu into the category, status or no-agents menus.
    """
    from .prompt_catalogue import greeting_key, welcome_key

    by_sound = longest_by_sound(lengths if lengths is not None else prompt_lengths(cfg))

    def p(*keys: str) -> float:
        return sum(by_sound.get(f"{PROMPT_DIR}/{k}", 0.0) for k in keys)

    wait = cfg.routing.digit_timeout_ms / 1000
    tries = cfg.routing.menu_retries
    notice = max(p("no_input"), p("invalid_option"), p("not_found"), p("incident_not_found"))

    def menu(*keys: str) -> float:  # every attempt: the prompts, the timeout, the notice
        return tries * (p(*keys) + wait + notice)

    greeting = max(
        p(greeting_key(line) or "") or p(welcome_key(line), "language_choice") for line in cfg.lines
    )
    categories = [f"category_{n}" for n, sk in cfg.skills.items() if sk.dtmf is not None]
    closed_hours = max((p(f"closed_hours_{c}") for c in cfg.calendars), default=0.0)
    callback = p("callback_confirm") + wait
    after_hours = (
        max(p("closed"), p("holiday_closed"))
        + closed_hours
        + menu("oncall_offer", "message_offer", "callback_offer")
        + callback
    )
    queue_tail = max(
        p("no_agents") + menu("message_offer", "callback_offer") + callback,
        p("wait_estimate", "minutes") + 4 * DIGIT_SECONDS,
    )
    read_back = p("status_incident", "status_is", "priority_is", "support_level")
    read_back += 12 * DIGIT_SECONDS + 2.0 + p("status_agent_offer") + wait
    business = max(
        menu("main_menu"),
        p("main_menu") + menu("category_intro", *categories),
        p("main_menu") + menu("enter_incident") + read_back,
    )
    return greeting + menu("identify") + max(after_hours, business + queue_tail)


def timing_problems(cfg: CentralitaConfig) -> list[str]:
    """Settings that cannot work with the configured prompts, as `key.path: problem`."""
    need = longest_ivr_seconds(cfg)
    limit = cfg.connections.fastagi.session_limit
    if limit < need:
        return [
            f"connections.fastagi.session_limit: {limit:g} s is shorter than the longest IVR "
            f"path with these prompts and digit timeouts (about {need:.0f} s)"
        ]
    return []


def write_table(out: Path = TABLE) -> dict[str, float]:
    """Render the static catalogue with espeak-ng and store the measured lengths."""
    import shutil
    import subprocess
    import tempfile

    from .prompt_catalogue import PROMPTS
    from .prompts import render_one, tools

    espeak, _ = tools()
    version = subprocess.run([espeak, "--version"], capture_output=True, text=True, check=False)
    seconds: dict[str, float] = {}
    tmp = Path(tempfile.mkdtemp(prefix="centralita-prompts-"))
    try:
        for key, texts in sorted(PROMPTS.items()):
            if any(has_placeholder(t) for t in texts.values()):
                continue
            for lang in LANGUAGES:
                dest = tmp / lang / PROMPT_DIR / f"{key}.wav"
                render_one(texts[lang], lang, dest)
                seconds[f"{lang}/{PROMPT_DIR}/{key}"] = round(wav_seconds(dest), 3)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    renderer = version.stdout.split("Data at")[0].strip().rstrip(":").strip()
    data = {"renderer": renderer, "seconds": seconds}
    out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    catalogue_table.cache_clear()
    return seconds


if __name__ == "__main__":  # python -m asterisk_conf.prompt_lengths
    print(f"{len(write_table())} prompt lengths written to {TABLE}")
