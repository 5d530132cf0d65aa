"""HTML pieces of the report: escaping, numbers, tables, and the page itself.

The page is one file with its style inline and no script: it opens from disk,
makes no request, and prints as it looks.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from headstart.report.section import Section, finite


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def num(value: Any, digits: int = 3) -> str:
    """A number for a table: ``0.853``, ``1.2e-05``, ``n/a`` for missing or NaN."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    x = finite(value)
    if x is None:
        return "n/a"
    if x != 0 and (abs(x) < 10 ** (-digits) or abs(x) >= 1e6):
        return f"{x:.{max(1, digits - 1)}e}"
    return f"{x:.{digits}f}"


def shorten(text: str, width: int = 48) -> str:
    """Long names (paths, hub specs) keep their end, where the distinguishing part is."""
    text = str(text)
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[bool] | None = None, cls: str = ""
) -> str:
    """A table; cells are escaped unless they are :class:`Raw`. ``numeric`` right-aligns columns."""
    numeric = list(numeric) if numeric is not None else [False] * len(header)
    head = "".join(f'<th class="{"num" if n else ""}">{esc(h)}</th>' for h, n in zip(header, numeric, strict=True))
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="{"num" if n else ""}">{c if isinstance(c, Raw) else esc(c)}</td>'
            for c, n in zip(row, numeric, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def kv_table(items: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of names and values (values escaped unless :class:`Raw`)."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{v if isinstance(v, Raw) else esc(v)}</td></tr>" for k, v in items)
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


class Raw(str):
    """Markup that :func:`table` and :func:`kv_table` insert as it is (already escaped)."""


def badge(text: str, tone: str = "neutral") -> Raw:
    """A coloured label: tone is good, bad, warn or neutral."""
    return Raw(f'<span class="badge {esc(tone)}">{esc(text)}</span>')


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


STYLE = """
:root { --fg: #1d2330; --muted: #5b6475; --line: #dfe3ea; --bg: #f5f6f8; --card: #fff;
        --good: #1b7f3b; --bad: #b42318; --warn: #9a6700; --accent: #2f5fb3; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header { background: #1d2330; color: #fff; padding: 20px 32px 14px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
header .sub { color: #c6ccd8; font-size: 13px; word-break: break-all; }
nav { margin-top: 10px; display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 13px; }
nav a { color: #9cc0ff; text-decoration: none; }
main { max-width: 1120px; margin: 0 auto; padding: 18px 24px 40px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
          padding: 14px 22px 18px; margin: 0 0 18px; }
h2 { font-size: 18px; margin: 4px 0 12px; }
h3 { font-size: 15px; margin: 16px 0 8px; color: var(--muted); }
p { margin: 6px 0 10px; }
.muted { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13.5px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: #eef1f6; font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv th { font-weight: 600; color: var(--muted); white-space: nowrap; }
table.kv td { word-break: break-all; }
.scroll { max-height: 420px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
.scroll table { margin: 0; width: 100%; }
.grid { display: flex; flex-wrap: wrap; gap: 8px 28px; align-items: flex-start; }
figure { margin: 8px 0 12px; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 12.5px; margin-top: 4px; }
.headline { display: flex; flex-wrap: wrap; gap: 12px; margin: 6px 0 12px; }
.stat { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 170px; }
.stat .v { font-size: 24px; font-weight: 600; font-variant-numeric: tabular-nums; }
.stat .l { color: var(--muted); font-size: 12.5px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12.5px; font-weight: 600;
         background: #e8ebf0; color: var(--fg); }
.badge.good { background: #dcf3e3; color: var(--good); } .badge.bad { background: #fde4e1; color: var(--bad); }
.badge.warn { background: #fbf0cf; color: var(--warn); }
.verdict { font-size: 16px; font-weight: 600; margin: 4px 0 8px; }
.bar { display: inline-block; height: 9px; background: var(--accent); border-radius: 2px; vertical-align: middle;
       margin-right: 6px; }
details summary { cursor: pointer; color: var(--accent); font-size: 13.5px; margin: 6px 0; }
ul.choices li { margin: 4px 0; }
code { font: 12.5px ui-monospace, "DejaVu Sans Mono", monospace; background: #f0f2f5; padding: 0 3px;
       border-radius: 3px; word-break: break-all; }
footer { color: var(--muted); font-size: 12.5px; max-width: 1120px; margin: 0 auto; padding: 0 24px 30px; }
@media print { section { break-inside: avoid; } thead th { position: static; } }
"""


def page(title: str, subtitle: str, sections: Sequence[Section], footer: str) -> str:
    nav = "".join(f'<a href="#{esc(s.anchor)}">{esc(s.title)}</a>' for s in sections)
    body = "\n".join(f'<section id="{esc(s.anchor)}">\n<h2>{esc(s.title)}</h2>\n{s.html}\n</section>' for s in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # No request may leave the page, even by mistake: only inline data is allowed.
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n"
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style></head>\n<body>\n"
        f'<header><h1>{esc(title)}</h1><div class="sub">{esc(subtitle)}</div><nav>{nav}</nav></header>\n'
        f"<main>\n{body}\n</main>\n<footer>{footer}</footer>\n</body></html>\n"
    )
