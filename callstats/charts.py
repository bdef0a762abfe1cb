"""The service report's charts, drawn server-side by matplotlib as SVG.

SVG with the glyphs as paths: the same picture in the browser and in
WeasyPrint's PDF, no fonts or JavaScript needed by whoever opens it. Each
function takes the report's figures and the words to print and returns the SVG
text (without the XML prolog, ready to embed in HTML).
"""

from __future__ import annotations

import base64
import io
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap  # noqa: E402

OK = "#1b8a3a"
BAD = "#c0262d"
BLUE = "#1f5f99"
LIGHT = "#8fb4d9"
GREY = "#6b7280"
_LOCK = threading.Lock()  # pyplot's state is global; the panel renders from threads

plt.rcParams.update(
    {
        "font.family": "DejaVu Sans",
        "font.size": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 9,
        "svg.fonttype": "none",
        "svg.hashsalt": "centralita",  # stable ids: the same data gives the same SVG
    }
)


_IDS = re.compile(r'(id="|href="#|url\(#)([^")]+)')
_RASTER = threading.local()


@contextmanager
def as_png(dpi: int = 150) -> Iterator[None]:
    """Within this block the charts come as PNG data: URIs at `dpi` (for the PDF:
    WeasyPrint places an image in a fraction of the time it draws an SVG's hundreds
    of nodes and texts; 150 dpi stays sharp on paper and screen)."""
    _RASTER.dpi = dpi
    try:
        yield
    finally:
        _RASTER.dpi = None


def _svg(fig: plt.Figure, name: str) -> str:
    """The figure as SVG whose ids carry `name`, so several charts can share one page
    (matplotlib numbers ids per figure; two charts would otherwise clash); or, inside
    `as_png`, as a PNG data: URI."""
    dpi = getattr(_RASTER, "dpi", None)
    if dpi:
        raw = io.BytesIO()
        # margins by tight_layout at the output's dpi, not bbox_inches="tight" (two draws)
        fig.set_dpi(dpi)
        fig.tight_layout(pad=0.4)
        fig.savefig(raw, format="png", dpi=dpi, metadata={"Software": None})
        plt.close(fig)
        return "data:image/png;base64," + base64.b64encode(raw.getvalue()).decode("ascii")
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return _IDS.sub(lambda m: f"{m.group(1)}{name}-{m.group(2)}", text[text.index("<svg") :])


def sl_per_day(
    labels: Sequence[str],
    values: Sequence[float | None],
    target: float,
    title: str,
    target_label: str,
) -> str:
    """Bars of the daily service level (green at or above target, red below) and the target line."""
    with _LOCK:
        fig, ax = plt.subplots(figsize=(7.0, 2.0))
        xs = range(len(labels))
        heights = [v or 0.0 for v in values]
        colors = [GREY if v is None else (OK if v >= target else BAD) for v in values]
        ax.bar(xs, heights, color=colors, width=0.75)
        ax.axhline(target, color="#111827", linestyle="--", linewidth=1)
        ax.text(-0.5, 107, f"- - {target_label} {target:g} %", ha="left", fontsize=7)
        ax.set_ylim(0, 114)
        ax.set_ylabel("%")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels, rotation=90, fontsize=6)
        ax.set_title(title, loc="left")
        return _svg(fig, "sl-day")


def heatmap(
    rows: Sequence[str], values: Sequence[Sequence[int]], title: str, hour_label: str
) -> str:
    """Offered calls per local day (rows) and hour of day (columns)."""
    with _LOCK:
        height = max(2.0, 0.12 * len(rows) + 0.8)
        fig, ax = plt.subplots(figsize=(7.0, height))
        cmap = LinearSegmentedColormap.from_list("calls", ["#f7fbff", LIGHT, BLUE, "#0b2f55"])
        im = ax.imshow(values, aspect="auto", cmap=cmap, interpolation="nearest")
        ax.set_xticks(range(24))
        ax.set_xticklabels([f"{h:02d}" for h in range(24)], fontsize=6)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(rows, fontsize=6)
        ax.set_xlabel(hour_label)
        for spine in ax.spines.values():
            spine.set_visible(False)
        fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01)
        ax.set_title(title, loc="left")
        return _svg(fig, "heat")


def horizontal_bars(labels: Sequence[str], values: Sequence[int], title: str) -> str:
    """One bar per cause, the count printed at its end."""
    with _LOCK:
        fig, ax = plt.subplots(figsize=(7.0, 0.3 * len(labels) + 0.8))
        ys = list(range(len(labels)))[::-1]
        ax.barh(
            ys, values, color=[BAD, "#e08a8f", GREY, GREY, LIGHT, LIGHT, "#cbd5e1"][: len(values)]
        )
        top = max(values, default=0) or 1
        for y, v in zip(ys, values, strict=True):
            ax.text(v + top * 0.01, y, f"{v:,}", va="center", fontsize=7)
        ax.set_yticks(ys)
        ax.set_yticklabels(labels)
        ax.set_xlim(0, top * 1.12)
        ax.set_title(title, loc="left")
        return _svg(fig, "abandon")


def compliance(
    priorities: Sequence[str],
    response: Sequence[float | None],
    resolution: Sequence[float | None],
    names: tuple[str, str],
    targets: tuple[float, float],
    title: str,
) -> str:
    """Response and resolution compliance per priority, with the two target lines."""
    with _LOCK:
        fig, ax = plt.subplots(figsize=(7.0, 1.9))
        xs = range(len(priorities))
        w = 0.38
        ax.bar([x - w / 2 for x in xs], [v or 0 for v in response], w, color=BLUE, label=names[0])
        ax.bar(
            [x + w / 2 for x in xs], [v or 0 for v in resolution], w, color=LIGHT, label=names[1]
        )
        for x, v in zip(xs, response, strict=True):
            ax.text(
                x - w / 2, (v or 0) + 1.5, "—" if v is None else f"{v:.0f}", ha="center", fontsize=6
            )
        for x, v in zip(xs, resolution, strict=True):
            ax.text(
                x + w / 2, (v or 0) + 1.5, "—" if v is None else f"{v:.0f}", ha="center", fontsize=6
            )
        ax.axhline(targets[0], color=BLUE, linestyle="--", linewidth=0.8)
        ax.axhline(targets[1], color=GREY, linestyle=":", linewidth=0.8)
        ax.set_ylim(0, 112)
        ax.set_ylabel("%")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(priorities)
        ax.set_xlim(-0.6, len(priorities) - 0.4)
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=7, frameon=False
        )
        ax.set_title(title, loc="left")
        return _svg(fig, "sla")


def allotment_usage(
    labels: Sequence[str], percents: Sequence[float], limit: float, title: str
) -> str:
    """Used % of each contract-priority allotment, with 100 % and the excess limit."""
    with _LOCK:
        fig, ax = plt.subplots(figsize=(7.0, 0.28 * len(labels) + 0.9))
        ys = list(range(len(labels)))[::-1]
        colors = [BAD if p > limit else (BLUE if p > 100 else LIGHT) for p in percents]
        ax.barh(ys, percents, color=colors)
        for y, p in zip(ys, percents, strict=True):
            ax.text(p + 1, y, f"{p:.0f} %", va="center", fontsize=6)
        ax.axvline(100, color="#111827", linewidth=0.8)
        ax.axvline(limit, color=BAD, linestyle="--", linewidth=0.8)
        ax.set_yticks(ys)
        ax.set_yticklabels(labels, fontsize=6)
        ax.set_xlim(0, max([limit, *percents]) * 1.15)
        ax.set_title(title, loc="left")
        return _svg(fig, "allot")
