"""Transferability ranking of candidate backbones (rank.json): one bar chart per score, and the table."""

from __future__ import annotations

from pathlib import Path

from headstart.report.html import Raw, esc, kv_table, md_table, num, shorten, table
from headstart.report.plots import figure, img, label
from headstart.report.section import Section, finite, read_run_json, register


def bars(ranking: list[dict], scores: list[str]) -> str:
    shown = [s for s in scores if any(finite(r["scores"].get(s)) is not None for r in ranking)]
    if not shown:
        return ""
    names = [label(r["candidate"], 28) for r in ranking]
    ncols = min(3, len(shown))
    nrows = -(-len(shown) // ncols)
    height = 0.6 + nrows * (0.7 + 0.28 * len(ranking))
    with figure(3.4 * ncols + 1.6, height, ncols=ncols, nrows=nrows, squeeze=False) as (fig, axes):
        for k, ax in enumerate(axes.ravel()):
            if k >= len(shown):
                ax.set_visible(False)
                continue
            score = shown[k]
            values = [finite(r["scores"].get(score)) for r in ranking]
            present = [v for v in values if v is not None]
            best = max(present)
            colours = ["#3a9b5b" if v == best else "#2f5fb3" for v in values]
            ax.barh(range(len(values)), [0.0 if v is None else v for v in values], color=colours)
            for i, v in enumerate(values):
                if v is None:
                    ax.text(0, i, " n/a", va="center", fontsize=8, color="#6b6b6b")
            ax.set_yticks(range(len(names)), names if k % ncols == 0 else [""] * len(names))
            ax.invert_yaxis()
            ax.axvline(0, color="#1d2330", linewidth=0.8)
            ax.set_title(f"{score} (higher = better)")
            ax.set_xlabel(f"{score} score")
            ax.grid(axis="y", visible=False)
        fig.suptitle(f"transferability of {len(ranking)} candidates (sorted by {scores[0]}; best in green)")
        return img(fig, "transferability scores of each candidate backbone")


@register("rank", order=90)
def build(run_dir: Path) -> Section | None:
    """Section "Transferability ranking" of the candidate backbones, from RUN/rank.json.

    None when the run has no such file.
    """
    result = read_run_json(run_dir, "rank.json")
    if not isinstance(result, dict) or not result.get("ranking"):
        return None
    ranking = result["ranking"]
    scores = result.get("scores") or sorted({k for r in ranking for k in r.get("scores", {})})
    header = ["#", "candidate", "dim"] + scores + ["features (s)"]
    rows, md_rows = [], []
    for i, r in enumerate(ranking, 1):
        values = [num(r["scores"].get(s)) for s in scores]
        feats = "cached" if r.get("features_cached") else num(r.get("features_seconds"), 2)
        rows.append([i, Raw(f"<code>{esc(shorten(r['candidate'], 60))}</code>"), r.get("feature_dim"), *values, feats])
        md_rows.append([i, f"`{shorten(r['candidate'], 60)}`", *values])
    settings = [
        ("data", Raw(f"<code>{esc(result.get('data', '?'))}</code>")),
        (
            "rows scored",
            f"{result.get('rows', '?')}" + (f" (sample of {result['sample']})" if result.get("sample") else ""),
        ),
        ("seed", result.get("seed", "n/a")),
    ]
    best = ranking[0]["candidate"]
    body = (
        f"<p>Best by {esc(scores[0])}: <code>{esc(best)}</code>. Scores use the training rows only; "
        "n/a: the score needs what the candidate lacks (LEEP and NCE need a source-task head).</p>"
        + bars(ranking, scores)
        + table(header, rows, [True, False, True] + [True] * len(scores) + [True])
        + kv_table(settings)
    )
    md = f"best by {scores[0]}: `{best}`\n\n" + md_table(["#", "candidate", *scores], md_rows)
    return Section("Transferability ranking", body, md)
