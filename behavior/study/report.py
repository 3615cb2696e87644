"""One self-contained HTML page per session: figures, tables, the processing log, warnings.

:func:`html_report` builds the page from :class:`Section` objects. Figures are
embedded as base64 PNG ``data:`` URIs (or inline SVG); the style sheet is inline;
nothing is fetched from anywhere (no script, no external style sheet, font or
image), so the file opens the same on a laptop, a cluster's login node or in an
e-mail attachment. Text is escaped: a session or keypoint name cannot inject markup.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Figure", "Section", "figure_png", "html_report"]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 70em; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { margin-top: 2em; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; margin: .8em 0; font-size: 90%; }
th, td { border: 1px solid #ccc; padding: .2em .6em; text-align: right; }
th { background: #f0f0f0; }
td.text, th.text { text-align: left; }
figure { margin: 1em 0; }
figure img, figure svg, figure video { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 90%; }
.warnings li { color: #8a4b00; }
pre { background: #f7f7f7; padding: .6em; overflow-x: auto; font-size: 85%; }
nav ul { columns: 3; }
"""


@dataclass(frozen=True)
class Figure:
    """A figure of a report section.

    Attributes
    ----------
    caption
        Shown under the figure (and its alt text).
    png
        PNG bytes (embedded as a base64 ``data:`` URI).
    svg
        Or an SVG document as text (embedded inline).
    mp4
        Or a short H.264 video (embedded as a ``data:`` URI in a ``<video>`` element).
    """

    caption: str
    png: bytes | None = None
    svg: str | None = None
    mp4: bytes | None = None


@dataclass(frozen=True)
class Section:
    """One titled part of a report: paragraphs, then tables, then figures.

    Attributes
    ----------
    title
        The heading (also the section's anchor in the table of contents).
    paragraphs
        Plain text paragraphs (escaped).
    tables
        ``(caption, DataFrame)`` pairs; long tables are cut at ``max_rows`` rows.
    figures
        :class:`Figure` objects.
    """

    title: str
    paragraphs: Sequence[str] = ()
    tables: Sequence[tuple[str, pd.DataFrame]] = ()
    figures: Sequence[Figure] = field(default_factory=tuple)


def figure_png(fig: Any, dpi: int = 100) -> bytes:
    """A matplotlib figure as PNG bytes.

    Parameters
    ----------
    fig
        A ``matplotlib.figure.Figure``.
    dpi
        Resolution.

    Returns
    -------
    bytes

    Examples
    --------
    >>> from matplotlib.figure import Figure as MplFigure
    >>> fig = MplFigure(figsize=(2, 1)); _ = fig.add_subplot().plot([0, 1])
    >>> figure_png(fig)[:4]
    b'\\x89PNG'
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _anchor(index: int) -> str:
    return f"section-{index}"


def _cell(value: Any) -> tuple[str, bool]:
    """Escaped text of a table cell and whether it is text (left-aligned)."""
    if isinstance(value, bool):
        return str(value), True
    if isinstance(value, int):
        return str(value), False
    if isinstance(value, float):
        if not math.isfinite(value):
            return ("" if math.isnan(value) else str(value)), False
        if abs(value) >= 1000:  # no exponent for path lengths, frame counts, seconds
            return f"{value:.0f}", False
        return f"{value:.4g}", False
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "", True
    return html.escape(str(value)), True


def _table_html(caption: str, table: pd.DataFrame, max_rows: int) -> str:
    shown = table.head(max_rows)
    parts = ["<table>"]
    if caption:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    head = "".join(f'<th class="text">{html.escape(str(c))}</th>' for c in shown.columns)
    parts.append(f"<thead><tr>{head}</tr></thead><tbody>")
    for row in shown.itertuples(index=False):
        cells = []
        for value in row:
            if hasattr(value, "item") and not isinstance(value, str):
                value = value.item()
            text, is_text = _cell(value)
            cells.append(f'<td class="text">{text}</td>' if is_text else f"<td>{text}</td>")
        parts.append(f"<tr>{''.join(cells)}</tr>")
    parts.append("</tbody></table>")
    if len(table) > max_rows:
        parts.append(f"<p>({len(table) - max_rows} more rows in the CSV file)</p>")
    return "".join(parts)


def _figure_html(figure: Figure) -> str:
    caption = html.escape(figure.caption)
    if figure.png is not None:
        data = base64.b64encode(figure.png).decode("ascii")
        body = f'<img alt="{caption}" src="data:image/png;base64,{data}">'
    elif figure.mp4 is not None:
        data = base64.b64encode(figure.mp4).decode("ascii")
        body = f'<video controls muted src="data:video/mp4;base64,{data}"></video>'
    elif figure.svg is not None:
        svg = figure.svg
        start = svg.find("<svg")
        body = svg[start:] if start >= 0 else html.escape(svg)
    else:
        return ""
    return f"<figure>{body}<figcaption>{caption}</figcaption></figure>"


def _log_html(log: Sequence[Mapping[str, Any]]) -> str:
    if not log:
        return "<p>No processing steps recorded.</p>"
    rows = []
    for i, record in enumerate(log, start=1):
        record = dict(record)
        operation = html.escape(str(record.pop("operation", "?")))
        when = html.escape(str(record.pop("timestamp", record.pop("time", ""))))
        details = html.escape(json.dumps(record, default=str, sort_keys=True))
        rows.append(
            f'<tr><td>{i}</td><td class="text">{operation}</td><td class="text">{when}</td>'
            f'<td class="text"><code>{details}</code></td></tr>'
        )
    return (
        '<table><thead><tr><th>#</th><th class="text">operation</th><th class="text">when</th>'
        f'<th class="text">parameters</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def html_report(
    title: str,
    sections: Sequence[Section],
    *,
    log: Sequence[Mapping[str, Any]] = (),
    warnings: Sequence[str] = (),
    meta: Mapping[str, Any] | None = None,
    max_rows: int = 200,
) -> str:
    """One self-contained HTML page: title, facts, sections, warnings and processing log.

    Parameters
    ----------
    title
        Page title and heading.
    sections
        The :class:`Section` objects, in order.
    log
        The processing log (``behavior.read_log(ds)``: one mapping per step with
        ``operation`` and its parameters), shown as a table at the end.
    warnings
        Shown in a "Warnings" section near the top (and "none" when empty).
    meta
        Facts shown under the title (file, frames, fps ...), as a two-column table.
    max_rows
        Rows shown per table.

    Returns
    -------
    str
        The HTML document. It references nothing outside itself: figures are
        ``data:`` URIs or inline SVG, the style is inline, there is no script.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"a": [1]})
    >>> page = html_report("demo", [Section("Summary", ["two mice"], [("t", table)])])
    >>> page.startswith("<!DOCTYPE html>") and "<h2 id=\\"section-1\\">Summary</h2>" in page
    True
    """
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    if meta:
        table = pd.DataFrame({"": [str(k) for k in meta], "value": [str(v) for v in meta.values()]})
        parts.append(_table_html("", table, max_rows=len(table)))
    titles = ["Warnings", *(s.title for s in sections), "Processing log"]
    links = "".join(f'<li><a href="#{_anchor(i)}">{esc(t)}</a></li>' for i, t in enumerate(titles))
    parts.append(f"<nav><ul>{links}</ul></nav>")
    parts.append(f'<h2 id="{_anchor(0)}">Warnings</h2>')
    if warnings:
        items = "".join(f"<li>{esc(str(w))}</li>" for w in warnings)
        parts.append(f'<ul class="warnings">{items}</ul>')
    else:
        parts.append("<p>None.</p>")
    for i, section in enumerate(sections, start=1):
        parts.append(f'<h2 id="{_anchor(i)}">{esc(section.title)}</h2>')
        parts.extend(f"<p>{esc(p)}</p>" for p in section.paragraphs)
        parts.extend(_table_html(c, t, max_rows) for c, t in section.tables)
        parts.extend(_figure_html(f) for f in section.figures)
    parts.append(f'<h2 id="{_anchor(len(titles) - 1)}">Processing log</h2>')
    parts.append(_log_html(log))
    parts.append("</body></html>")
    return "\n".join(parts)
