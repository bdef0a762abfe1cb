"""Jinja helpers: localized labels and local times (autoescaping stays on)."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from cti_panel import localtime
from cti_panel.context import ctx


def _lang() -> str:
    return str(get_locale() or "es")


def register_filters(app: Flask) -> None:
    @app.template_filter("dt")
    def _dt(value: datetime | None) -> Markup:
        """A local time with its zone in the tooltip."""
        return localtime.time_tag(value, ctx().cfg.service.timezone, _lang())

    @app.template_filter("dtrel")
    def _dtrel(value: datetime | None) -> Markup:
        """A local time followed by how long ago (or how soon) it is."""
        return localtime.time_tag(value, ctx().cfg.service.timezone, _lang(), with_relative=True)

    @app.template_filter("ago")
    def _ago(value: datetime | None) -> str:
        return localtime.relative(value, _lang())

    @app.context_processor
    def _globals() -> dict[str, object]:
        from cti_panel import labels

        cfg = ctx().cfg
        lang = _lang()
        names = labels.Names(cfg, lang)
        return {
            "lang": lang,
            "labels": labels,
            "lbl": labels.label,
            "names": names,
            "role_label": lambda r: labels.label(labels.ROLE, r),
            "skill_name": names.skill,
            "service_name": cfg.service.name,
            "service_tz": cfg.service.timezone,
            "zone_label": localtime.zone_label(cfg.service.timezone, lang),
            "csrf_token_value": generate_csrf,
        }
