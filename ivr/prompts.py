"""Sound names for catalogue prompts (``centralita/<key>``), checked against the catalogue.

The catalogue (``asterisk_conf/prompt_catalogue.py``) is the one data module the
IVR imports from asterisk_conf (a documented exception to the import rules): the
texts and the digits the menus listen for must come from the same place, or a
prompt would say "press 2" while the IVR waits for 3.
"""

from __future__ import annotations

from asterisk_conf.prompt_catalogue import (
    AFTER_HOURS_DIGITS,
    CALLBACK_DIGITS,
    LANGUAGE_DIGITS,
    MAIN_MENU_DIGITS,
    PROMPTS,
    STATUS_MENU_DIGITS,
    SURVEY_DIGITS,
    greeting_key,
    welcome_key,
)

PROMPT_DIR = "centralita"

__all__ = [
    "AFTER_HOURS_DIGITS",
    "CALLBACK_DIGITS",
    "LANGUAGE_DIGITS",
    "MAIN_MENU_DIGITS",
    "STATUS_MENU_DIGITS",
    "SURVEY_DIGITS",
    "greeting_sound",
    "sound",
    "sound_in",
    "welcome_sound",
]

# Prompts derived from the config per skill/calendar (rendered by `conf prompts`).
_DERIVED_PREFIXES = ("category_", "closed_hours_")


def sound(key: str) -> str:
    """`centralita/<key>`; an unknown key is a programming error, caught by the tests."""
    if key not in PROMPTS and not key.startswith(_DERIVED_PREFIXES):
        raise KeyError(f"prompt {key!r} is not in the catalogue")
    return f"{PROMPT_DIR}/{key}"


def sound_in(lang: str, key: str) -> str:
    """A prompt in an explicit language (the bilingual language offer plays both)."""
    return f"{lang}/{sound(key)}"


def welcome_sound(line_name: str) -> str:
    return sound(welcome_key(line_name))


def greeting_sound(line_name: str) -> str | None:
    """The line's welcome and the bilingual language offer as one file (None: not recorded)."""
    key = greeting_key(line_name)
    return None if key is None else sound(key)
