"""What ``auto`` (and the other defaults that decide) chose, and why (config.json)."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path
from typing import Any

from headstart.report.html import esc, num
from headstart.report.plots import figure, img
from headstart.report.section import Section, finite, read_run_json, register


def strategy_reason(name: str, options: dict[str, Any]) -> str:
    """The first paragraph of the strategy's module docstring, with its options as used."""
    from headstart.strategies import make_strategy

    try:
        strategy = make_strategy(name, **options)
    except Exception:  # a run from another version: say what we can
        return ""
    doc = (sys.modules[type(strategy).__module__].__doc__ or "").strip().split("\n\n")[0]
    doc = re.sub(r"\s+", " ", doc.replace("``", ""))
    doc = re.sub(rf"^{re.escape(name)}:\s*", "", doc)  # "auto: the fastai recipe..." -> "the fastai recipe..."
    doc = " ".join(s for s in re.split(r"(?<=\.) ", doc) if "printed" not in s)  # true on the terminal only
    fields = [f.name for f in dataclasses.fields(strategy) if f.init]
    used = ", ".join(f"{k}={getattr(strategy, k)!r}" for k in fields)
    return doc + (f" Options: {used}." if used else "")


def c_chart(scores: dict[str, float], chosen: float) -> str:
    pairs = sorted((float(c), float(s)) for c, s in scores.items())
    with figure(5.6, 2.8) as (fig, ax):
        ax.plot([c for c, _ in pairs], [s for _, s in pairs], marker="o", markersize=4)
        ax.axvline(chosen, color="#3a9b5b", linestyle="--", linewidth=1, label=f"chosen C = {chosen:g}")
        ax.set_xscale("log")
        ax.set_xlabel("C (inverse regularisation strength, log scale)")
        ax.set_ylabel("held-out score")
        ax.set_title("choosing C on held-out training rows")
        ax.legend(loc="lower right")
        return img(fig, "validation score against the regularisation C")


@register("choices", order=30)
def build(run_dir: Path) -> Section | None:
    """Section "Choices made for you": what ``auto`` picked and why, from RUN/config.json.

    None when the run has no such file.
    """
    from headstart.backbones.registry import DEFAULTS

    config = read_run_json(run_dir, "config.json")
    if not isinstance(config, dict):
        return None
    params = config.get("params", {})
    modality = config.get("modality", "")
    fine_tuned = (run_dir / "backbone").is_dir()
    items: list[str] = []
    md: list[str] = []
    spec = params.get("backbone")
    if spec and DEFAULTS.get(modality) == spec:
        items.append(
            f"<b>backbone</b> <code>{esc(spec)}</code>: the embedded default for {esc(modality)} data "
            "(what <code>--backbone auto</code> picks; offline, no download)."
        )
        md.append(f"backbone `{spec}`: the default for {modality} data")
    strategy = params.get("strategy")
    if strategy == "auto" and not fine_tuned and modality == "tabular":
        items.append("<b>strategy</b> auto → linear probe: tabular data has no backbone to fine-tune.")
        md.append("strategy auto → linear probe (tabular data)")
    elif strategy == "auto":
        reason = strategy_reason("auto", params.get("strategy_options") or {})
        items.append(f"<b>strategy</b> auto: {esc(reason)}")
        md.append("strategy auto: " + reason.split(". ")[0])
    if fine_tuned and params.get("head_init") == "probe":
        items.append(
            "<b>head start</b>: the head began from the linear probe's solution (LP-FT, Kumar et al. 2022), "
            "so a random head's gradients did not disturb the pretrained backbone first."
        )
    recipe = (config.get("extras") or {}).get("recipe") or {}
    if recipe.get("reasons"):
        items.append(f"<b>recipe</b> (headstart.recipe, from the training rows): {esc('; '.join(recipe['reasons']))}.")
        md.append("recipe: " + "; ".join(recipe["reasons"]))
    if recipe.get("start"):
        start = recipe["start"].get("val_accuracy")
        first = (recipe.get("epochs_run") or [{}])[0].get("val_accuracy")
        if recipe.get("kept_probe"):
            what = (
                f"fine-tuning's first epoch ({num(first)} on the validation rows) did not beat the probe's head "
                f"({num(start)}) by more than one row ({num(recipe.get('margin'))}): the linear probe, refitted on "
                "every training row, is the model"
            )
        else:
            what = f"fine-tuning beat the probe's head on the validation rows ({num(first)} vs {num(start)} at epoch 1)"
            refit = recipe.get("refitted")
            if refit:
                what += (
                    f"; then refitted from the pretrained weights on all {refit['rows']} training rows for "
                    f"{refit['epochs']} epochs (the best epoch's count): that refit is the model"
                )
        items.append(f"<b>probe check</b>: {esc(what)}.")
        md.append("probe check: " + what)
    if ((config.get("extras") or {}).get("attentive_probe") or {}).get("kept_probe"):
        from headstart.strategies.attentive_probe import KEPT_PROBE

        items.append(f"<b>attentive probe</b>: {esc(KEPT_PROBE)}.")
        md.append("attentive probe: " + KEPT_PROBE)
    chosen = config.get("chosen") or {}
    C, scores = finite(chosen.get("C")), chosen.get("val_scores") or {}
    chart = ""
    if params.get("C") is None and C is not None:
        if scores:
            best = max(scores.values())
            items.append(
                f"<b>C</b> = {C:g}: the best of {len(scores)} values tried on held-out folds of the training rows "
                f"(score {num(best)}; ties go to the higher held-out likelihood), never on the reported rows."
            )
            md.append(f"C = {C:g}, chosen by cross-validation on training rows ({len(scores)} values)")
            chart = c_chart(scores, C)
        else:
            items.append(f"<b>C</b> = {C:g}: too few training rows to hold any out, so the middle of the grid.")
    best_epoch = (config.get("training") or {}).get("best_epoch")
    if best_epoch and best_epoch > 0:
        items.append(
            f"<b>epoch</b> {best_epoch} kept: the best accuracy on the validation rows "
            f"({num(params.get('val_size'), 2)} of the training rows), lower validation loss breaking ties."
        )
        md.append(f"kept epoch {best_epoch} (best validation accuracy)")
    evaluated = (config.get("data") or {}).get("evaluated_on")
    if evaluated:
        items.append(f"<b>evaluation</b>: {esc(evaluated)}.")
    if not items:
        return None
    body = '<ul class="choices">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>" + chart
    return Section("Choices made for you", body, "\n".join(f"- {m}" for m in md))
