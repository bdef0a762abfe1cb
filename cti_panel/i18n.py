"""es/en with flask-babel; the user's choice lives on PanelUser.language.

The .mo catalogues are committed, but if one is missing or older than its .po
(a fresh checkout that dropped binaries, or an edited .po) it is compiled at
start-up, so the panel never silently falls back to English.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import request, session
from flask_login import current_user

LANGUAGES = ("es", "en")
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def compile_catalogues(root: Path = TRANSLATIONS) -> list[Path]:
    """Compile every .po whose .mo is missing or stale; returns the files written."""
    written: list[Path] = []
    for po in root.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f)
        with mo.open("wb") as f:
            write_mo(f, catalog)
        written.append(mo)
    return written


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "es"
