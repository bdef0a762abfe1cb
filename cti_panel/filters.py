"""Jinja helpers: localized labels and time formats (autoescaping stays on)."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import format_datetime, get_locale
from flask_wtf.csrf import generate_csrf

from cti_panel.context import ctx


def register_filters(app: Flask) -> None:
    @app.template_filter("dt")
    def _dt(value: datetime | None) -> str:
        return format_datetime(value, "short") if value else ""

    @app.context_processor
    def _globals() -> dict[str, object]:
        cfg = ctx().cfg
        lang = str(get_locale() or "es")

        def skill_name(code: str | None) -> str:
            sk = cfg.skills.get(code or "")
            if sk is None:
                return code or ""
            return sk.name_en if lang == "en" else sk.name_es

        from cti_panel import labels

        return {
            "lang": lang,
            "labels": labels,
            "lbl": labels.label,
            "role_label": lambda r: labels.label(labels.ROLE, r),
            "skill_name": skill_name,
            "service_name": cfg.service.name,
            "csrf_token_value": generate_csrf,
        }
