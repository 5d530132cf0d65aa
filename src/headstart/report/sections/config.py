"""Configuration and versions of a ``fit`` run (config.json)."""

from __future__ import annotations

from pathlib import Path

from headstart.report.html import Raw, esc, kv_table, num
from headstart.report.section import Section, read_run_json, register


def run_kind(config: dict, run_dir: Path) -> str:
    strategy = config.get("params", {}).get("strategy", "?")
    if (run_dir / "backbone").is_dir():
        return f"fit, fine-tuned ({strategy})"
    if read_run_json(run_dir, "history.json") or config.get("training", {}).get("history"):
        return f"fit, head trained on a frozen backbone ({strategy})"
    return "fit, linear probe" + (" (auto: tabular data has no backbone to fine-tune)" if strategy == "auto" else "")


@register("config", order=10)
def build(run_dir: Path) -> Section | None:
    """Section "Configuration": the run's options and versions, from RUN/config.json.

    None when the run has no such file.
    """
    config = read_run_json(run_dir, "config.json")
    if not isinstance(config, dict):
        return None
    params = config.get("params", {})
    bb = config.get("backbone", {})
    columns = config.get("columns", {})
    pretrained = params.get("pretrained", True)
    kind = run_kind(config, run_dir)
    items = [
        ("run", kind),
        ("created", config.get("created", "n/a")),
        ("task", f"{config.get('task', 'classification')} on {config.get('modality', '?')} data"),
        ("backbone", Raw(f"<code>{esc(bb.get('spec', params.get('backbone', '?')))}</code>")),
        (
            "backbone size",
            f"{num(bb.get('parameters'))} parameters, {num(bb.get('feature_dim'))}-d features"
            + ("" if pretrained else "; random weights (the from-scratch baseline)"),
        ),
        ("strategy", params.get("strategy", "?")),
        ("columns", ", ".join(f"{k}: {v}" for k, v in columns.items()) or "n/a"),
        ("training rows", num(config.get("n_train"))),
        ("seed", params.get("seed", "n/a")),
    ]
    timings = config.get("timings", {})
    shown = [
        f"{k.replace('_seconds', '').replace('_', ' ')} {v:.2f} s"
        for k, v in timings.items()
        if k.endswith("_seconds") and isinstance(v, int | float)
    ]
    if shown:
        items.append(("time", "; ".join(shown)))
    versions = config.get("versions", {})
    items.append(("versions", ", ".join(f"{k} {v}" for k, v in versions.items()) or "n/a"))
    options = sorted((k, v) for k, v in params.items() if v not in (None, {}, []))
    body = (
        kv_table(items)
        + "<details><summary>every option of the fit</summary>"
        + kv_table((k, str(v)) for k, v in options)
        + "</details>"
    )
    md = (
        f"{kind}; backbone `{bb.get('spec', params.get('backbone', '?'))}` on {config.get('modality', '?')} data, "
        f"{num(config.get('n_train'))} training rows; "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if k in ("headstart", "torch", "python"))
    )
    return Section("Configuration", body, md)
