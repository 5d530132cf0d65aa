"""Domain shift between two data sets (shift.json): where the MMD p-value and the proxy A-distance fall."""

from __future__ import annotations

from pathlib import Path

from headstart.report.html import Raw, badge, esc, kv_table, md_table, num
from headstart.report.plots import figure, img
from headstart.report.section import Section, finite, read_run_json, register

# How the proxy A-distance is read (headstart.select.shift: SEPARABLE_PAD, PARTLY_SEPARABLE_PAD).
BANDS = ((0.0, 0.4, "barely", "#e8f3ea"), (0.4, 1.0, "partly separable", "#fbf0cf"), (1.0, 2.0, "separable", "#fde4e1"))


def figures(r: dict) -> str:
    p, alpha, pad = finite(r.get("mmd_p_value")), finite(r.get("alpha")), finite(r.get("pad"))
    floor = 1.0 / (int(r.get("permutations") or 1) + 1)
    with figure(9.0, 2.6, ncols=2) as (fig, (ax_p, ax_pad)):
        lo = min(floor, alpha or floor, p or floor) / 3
        ax_p.set_xscale("log")
        ax_p.set_xlim(lo, 1.0)
        if alpha is not None:
            ax_p.axvspan(lo, alpha, color="#fde4e1", label=f"p < alpha = {alpha:g}: shifted")
            ax_p.axvline(alpha, color="#b42318", linewidth=1)
        ax_p.axvline(floor, color="#6b6b6b", linestyle=":", linewidth=1, label=f"smallest possible p = {floor:.2g}")
        if p is not None:
            ax_p.plot([p], [0.5], marker="v", markersize=13, color="#1d2330")
            ax_p.annotate(f"p = {p:.2g}", (p, 0.5), xytext=(0, 12), textcoords="offset points", ha="center")
        ax_p.set_ylim(0, 1.3)
        ax_p.set_yticks([])
        ax_p.grid(axis="y", visible=False)
        ax_p.set_xlabel("MMD permutation-test p-value (log scale)")
        ax_p.set_title(f"is there a shift? (MMD test, {r.get('permutations', '?')} permutations)")
        ax_p.legend(loc="upper right", fontsize=7.5)
        for a, b, name, colour in BANDS:
            ax_pad.axvspan(a, b, color=colour)
            ax_pad.text((a + b) / 2, 1.1, name, ha="center", va="center", fontsize=8)
        if pad is not None:
            x = min(max(pad, 0.0), 2.0)
            ax_pad.plot([x], [0.5], marker="v", markersize=13, color="#1d2330")
            ax_pad.annotate(f"PAD = {pad:.2f}", (x, 0.5), xytext=(0, 12), textcoords="offset points", ha="center")
        ax_pad.set_xlim(0, 2)
        ax_pad.set_ylim(0, 1.3)
        ax_pad.set_yticks([])
        ax_pad.grid(axis="y", visible=False)
        ax_pad.set_xlabel("proxy A-distance (0 = same domain, 2 = fully separable)")
        ax_pad.set_title("how separable? (domain classifier)")
        return img(fig, "domain shift: MMD p-value against alpha, and the proxy A-distance on its scale")


@register("shift", order=100)
def build(run_dir: Path) -> Section | None:
    """Section "Domain shift" between two data sets, from RUN/shift.json. None when the run has no such file."""
    r = read_run_json(run_dir, "shift.json")
    if not isinstance(r, dict) or "mmd_p_value" not in r:
        return None
    shifted = bool(r.get("shifted"))
    note = f"used {r.get('n_source_used')} / {r.get('n_target_used')}" + (
        f" random rows (seed {r.get('seed')})" if r.get("subsampled") else " (all rows)"
    )
    items = [
        ("source", Raw(f"<code>{esc(r.get('source') or '?')}</code>")),
        ("target", Raw(f"<code>{esc(r.get('target') or '?')}</code>")),
        ("backbone", Raw(f"<code>{esc(r.get('backbone') or '?')}</code> ({r.get('feature_dim', '?')}-d features)")),
        ("rows (source / target)", f"{r.get('n_source')} / {r.get('n_target')}; {note}"),
        ("MMD² (RBF, unbiased)", f"{num(r.get('mmd2'), 4)}; bandwidth {num(r.get('mmd_bandwidth'), 4)}"),
        (
            "MMD p-value",
            f"{num(r.get('mmd_p_value'), 4)} ({r.get('permutations')} permutations, alpha {r.get('alpha')})",
        ),
        (
            "proxy A-distance",
            f"{num(r.get('pad'))}: domain-classifier CV error {num(r.get('pad_error'))} "
            f"({r.get('pad_folds')} folds, {r.get('pad_rows_per_domain')} rows per domain)",
        ),
        ("CORAL distance", f"{num(r.get('coral'), 4)} (‖C_s − C_t‖²_F / 4d²)"),
    ]
    reading = r.get("reading", "")
    body = (
        f'<p class="verdict">{badge("shifted" if shifted else "no detectable shift", "bad" if shifted else "good")} '
        f"{esc(reading)}</p>" + figures(r) + kv_table(items)
    )
    md = f"**{reading}**\n\n" + md_table(
        ["MMD²", "p-value", "proxy A-distance", "CORAL"],
        [[num(r.get("mmd2"), 4), num(r.get("mmd_p_value"), 4), num(r.get("pad")), num(r.get("coral"), 4)]],
    )
    return Section("Domain shift", body, md)
