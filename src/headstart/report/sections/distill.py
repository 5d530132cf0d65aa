"""Distillation (RUN/distill.json, written by ``headstart distill``): teacher vs student."""

from __future__ import annotations

from pathlib import Path

from headstart.report.html import Raw, esc, kv_table, md_table, num
from headstart.report.section import Section, read_run_json, register


@register("distill", order=35)
def build(run_dir: Path) -> Section | None:
    """Section "Distillation": student against teacher, from RUN/distill.json. None when the run has no such file."""
    info = read_run_json(run_dir, "distill.json")
    if not isinstance(info, dict) or "teacher" not in info:
        return None
    t_params, s_params = info.get("teacher_parameters"), info.get("student_parameters")
    rows = [
        ("teacher", Raw(f"<code>{esc(info.get('teacher', '?'))}</code> ({esc(info.get('teacher_backbone', '?'))})")),
        ("student", info.get("student_description") or info.get("student", "?")),
        ("loss", info.get("loss", info.get("method", "?"))),
        ("head starts as", info.get("head_init", "?")),
        (
            "rows",
            f"{info.get('labelled_rows', '?')} labelled, {info.get('transfer_rows', 0)} unlabelled (transfer set), "
            f"{info.get('validation_rows', 0)} held out for the best epoch",
        ),
    ]
    if t_params and s_params:
        rows.append(
            (
                "parameters",
                f"student {s_params / 1e6:.1f} M / teacher {t_params / 1e6:.1f} M ({s_params / t_params:.0%})",
            )
        )
    acc_t = info.get("teacher_score", info.get("teacher_accuracy"))
    acc_s = info.get("student_score", info.get("student_accuracy"))
    if acc_t is not None and acc_s is not None:
        metric = {"r2": "R²", "micro_f1": "micro-F1"}.get(info.get("metric", "accuracy"), "accuracy")
        kept = f" ({num(100 * info['retained'], 1)}%)" if info.get("retained") is not None else ""
        rows.append((f"held-out {metric}", f"student {num(acc_s)}, teacher {num(acc_t)}{kept}"))
    body = "<p>A student trained against a teacher run; its own metrics are the report's headline.</p>" + kv_table(rows)
    md = md_table(["", ""], [[k, v if not isinstance(v, Raw) else info.get("teacher", "?")] for k, v in rows])
    return Section("Distillation", body, md)
