"""Attention (``headstart predict --explain`` on an attentive-probe run, RUN/attention.json):
where the attention pool looked for each explained prediction. Text: each token highlighted
by its weight; images: a heat map of the feature map's cells over the image."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from headstart.report.html import esc, md_table
from headstart.report.section import Section, finite, read_run_json, register

ROWS = 20  # explained rows shown
DATA_URI = re.compile(r"^data:image/png;base64,[A-Za-z0-9+/=]+$")


def _weights(row: dict[str, Any]) -> list[float]:
    values = [finite(v) for v in row.get("weights") or []]
    return [v if v is not None and v > 0 else 0.0 for v in values]


def _text(row: dict[str, Any]) -> tuple[str, str]:
    tokens = [str(t) for t in row.get("tokens") or []]
    weights = _weights(row)[: len(tokens)]
    top = max(weights, default=0.0) or 1.0
    spans = "".join(
        f'<span class="tok" title="{w:.3f}" style="background: rgba(230, 120, 0, {min(1.0, w / top):.2f})">'
        f"{esc(t)}</span> "
        for t, w in zip(tokens, weights, strict=False)
    )
    ranked = sorted(zip(tokens, weights, strict=False), key=lambda tw: -tw[1])[:3]
    return spans, ", ".join(f"{t} ({w:.2f})" for t, w in ranked)


def _image(row: dict[str, Any]) -> tuple[str, str]:
    grid = row.get("grid") or [0, 0]
    h, w = (int(grid[0]), int(grid[1])) if len(grid) == 2 else (0, 0)
    weights = _weights(row)
    image = str(row.get("image", ""))
    if not h or not w or len(weights) != h * w or not DATA_URI.match(image):
        return "<em>(no map)</em>", ""
    top = max(weights) or 1.0
    cells = "".join(f'<div style="background: rgba(255, 40, 0, {0.7 * v / top:.2f})"></div>' for v in weights)
    overlay = f'<div class="heat" style="grid-template: repeat({h}, 1fr) / repeat({w}, 1fr)">{cells}</div>'
    peak = max(range(len(weights)), key=weights.__getitem__)
    html = f'<div class="heatwrap"><img src="{image}" alt="explained image" width="128" height="128">{overlay}</div>'
    return html, f"peak cell row {peak // w + 1}, column {peak % w + 1} of {h}x{w}"


STYLE = (
    "<style>.tok{padding:1px 2px;border-radius:3px}"
    ".heatwrap{position:relative;width:128px;height:128px}"
    ".heatwrap img{position:absolute;left:0;top:0}"
    ".heat{position:absolute;left:0;top:0;width:128px;height:128px;display:grid}</style>"
)


@register("attention", order=42)
def build(run_dir: Path) -> Section | None:
    """Section "Attention": per explained prediction, where the attentive probe looked.

    None when the run has no ``attention.json`` (``predict --explain`` was not run on it).
    """
    data = read_run_json(run_dir, "attention.json")
    if not isinstance(data, dict) or data.get("kind") != "attention":
        return None
    rows = [r for r in data.get("rows") or [] if isinstance(r, dict)][:ROWS]
    cells, summary = [], []
    for r in rows:
        html, top = _image(r) if r.get("kind") == "image" else _text(r)
        ident, pred = esc(str(r.get("id", "?"))), esc(str(r.get("prediction", "?")))
        cells.append(f"<tr><td>{ident}</td><td>{pred}</td><td>{html}</td></tr>")
        summary.append((r.get("id", "?"), r.get("prediction", "?"), top))
    intro = (
        "<p>The attentive probe's attention weights (averaged over its queries and heads) for the first "
        f"{len(rows)} predictions of <code>headstart predict --explain</code>: "
        + ("the darker a token, the more it was read." if data.get("modality") == "text" else "red cells weighed most.")
        + "</p>"
    )
    html = STYLE + intro + "<table><tr><th>row</th><th>prediction</th><th>attention</th></tr>"
    html += "".join(cells) + "</table>"
    return Section("Attention", html, md_table(["row", "prediction", "most attended"], summary))
