"""`centralita conf prompts`: the catalogue spoken by espeak-ng, as Asterisk sound files.

Output: ``<out>/<lang>/centralita/<key>.wav``, 8 kHz mono 16-bit PCM (what
Asterisk plays without transcoding on a ulaw/alaw call), the layout of Asterisk's
sounds directory so ``Playback(centralita/<key>)`` follows CHANNEL(language).
Recordings by a voice talent can replace these files one by one.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from servicedesk.config import CentralitaConfig

from .names import PROMPT_DIR
from .prompt_catalogue import LANGUAGES, full_catalogue, has_placeholder

VOICES: dict[str, str] = {"es": "es-419", "en": "en-us"}
ESPEAK_SPEED_WPM = 150
TIMEOUT_S = 60


class PromptRenderError(RuntimeError):
    """espeak-ng or sox is missing or failed for one prompt."""


@dataclass(frozen=True)
class RenderedPrompt:
    key: str
    lang: str
    path: Path


def hours_descriptions(cfg: CentralitaConfig) -> dict[str, dict[str, str]]:
    """calendar → language → opening hours text, from the core calendar."""
    from servicedesk.calendar import BusinessCalendar

    return {
        name: {lang: BusinessCalendar.from_config(cal).describe_hours(lang) for lang in LANGUAGES}
        for name, cal in cfg.calendars.items()
    }


def tools() -> tuple[str, str]:
    espeak = shutil.which("espeak-ng")
    sox = shutil.which("sox")
    if not espeak or not sox:
        raise PromptRenderError("espeak-ng and sox are required (Debian: espeak-ng sox)")
    return espeak, sox


def render_one(text: str, lang: str, dest: Path) -> None:
    """Speak `text` with the language's voice and resample to 8 kHz mono 16-bit."""
    espeak, sox = tools()
    dest.parent.mkdir(parents=True, exist_ok=True)
    speak = subprocess.run(
        [espeak, "-v", VOICES[lang], "-s", str(ESPEAK_SPEED_WPM), "--stdout", text],
        capture_output=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if speak.returncode != 0 or not speak.stdout:
        raise PromptRenderError(f"espeak-ng failed for {dest}: {speak.stderr.decode()[:200]}")
    tmp = dest.with_suffix(".tmp.wav")
    conv = subprocess.run(
        [
            sox,
            "-q",
            "-t",
            "wav",
            "-",
            "-r",
            "8000",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            str(tmp),
        ],
        input=speak.stdout,
        capture_output=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if conv.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise PromptRenderError(f"sox failed for {dest}: {conv.stderr.decode()[:200]}")
    tmp.replace(dest)


def renderable(
    cfg: CentralitaConfig, describe: Mapping[str, Mapping[str, str]] | None
) -> dict[str, dict[str, str]]:
    """Catalogue entries that are complete sentences (templates with {hours} are skipped)."""
    return {
        key: texts
        for key, texts in full_catalogue(cfg, describe).items()
        if not any(has_placeholder(t) for t in texts.values())
    }


def render_prompts(
    cfg: CentralitaConfig,
    out_dir: Path,
    keys: Iterable[str] | None = None,
    languages: Iterable[str] = LANGUAGES,
    describe: Mapping[str, Mapping[str, str]] | None = None,
    workers: int = 4,
) -> list[RenderedPrompt]:
    """Render the selected prompts (all by default); returns what was written, sorted."""
    catalogue = renderable(cfg, describe)
    wanted = sorted(catalogue) if keys is None else sorted(set(keys))
    unknown = [k for k in wanted if k not in catalogue]
    if unknown:
        raise PromptRenderError(f"unknown prompt keys: {', '.join(unknown)}")
    jobs = [
        RenderedPrompt(key, lang, out_dir / lang / PROMPT_DIR / f"{key}.wav")
        for key in wanted
        for lang in languages
    ]
    tools()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(lambda j: render_one(catalogue[j.key][j.lang], j.lang, j.path), jobs))
    return jobs
