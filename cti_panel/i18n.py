"""es/en with flask-babel; the user's choice lives on PanelUser.language.

The .po files are the source. At start-up each is compiled into the per-user
cache directory (servicedesk.paths.cache_dir), in a folder named by the hash of
the .po texts: an edited catalogue is always recompiled, an unchanged one never,
and the checkout is never written to (checkout mtimes say nothing reliable).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import request, session
from flask_login import current_user

LANGUAGES = ("es", "en")
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def compile_catalogues(root: Path = TRANSLATIONS, cache: Path | None = None) -> Path:
    """Compile every .po under `root` into a cache folder keyed by their contents;
    returns that folder (a BABEL_TRANSLATION_DIRECTORIES entry)."""
    from servicedesk.paths import cache_dir

    sources = sorted(root.glob("*/LC_MESSAGES/messages.po"))
    digest = hashlib.sha256()
    for po in sources:
        digest.update(str(po.relative_to(root)).encode() + b"\0" + po.read_bytes())
    out = (cache or cache_dir()) / f"translations-{digest.hexdigest()[:16]}"
    for po in sources:
        mo = out / po.relative_to(root).with_suffix(".mo")
        if mo.exists():
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalog = read_po(f)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as f:
            write_mo(f, catalog)
        tmp.replace(mo)  # atomic: a second process never reads half a catalogue
    return out


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "es"
