"""A meta-learning run folder, readable without headstart's state:

    meta_config.json   kind "meta-learning", the method and its options, ways / shots / queries,
                       the backbone's spec and options, the training settings
    model.safetensors  the meta-learnt weights: backbone + head (+ learned inner LRs)
    history.json       the loop's per-epoch meta-training loss (the meta-training curve)
    meta.json          test-episode accuracy before and after each inner step (when evaluated)
    checkpoints/       the loop's checkpoints (``--resume``)

Each file is written atomically (:func:`headstart.io.write_json`, :func:`headstart.io.save_tensors`).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from headstart.errors import HeadstartError
from headstart.io import folder_kind, load_tensors, read_json, save_tensors, write_json

CONFIG = "meta_config.json"
WEIGHTS = "model.safetensors"
RESULTS = "meta.json"
KIND = "meta-learning"
_CONV4 = re.compile(r"^conv4(?:-(\d+))?(?:@(\d+))?$")


def build_backbone(spec: str, data: Any = None, modality: str | None = None, **options: Any) -> Any:
    """``conv4`` / ``conv4-WIDTH@SIZE`` (the few-shot encoder, from scratch), or any backbone spec."""
    match = _CONV4.match(spec)
    if match:
        from headstart.fewshot.conv4 import Conv4

        return Conv4(size=int(match.group(2) or 28), width=int(match.group(1) or 64))
    from headstart.backbones.registry import load_backbone, load_backbone_for

    if data is not None:
        return load_backbone_for(spec, data, **options)
    return load_backbone(spec, modality=modality, **options)


def is_meta_run(path: Any) -> bool:
    """Whether ``path`` is a folder written by ``headstart meta-train``."""
    return folder_kind(path, CONFIG) == KIND


def save_run(run_dir: Any, model: Any, info: dict[str, Any], data: Any = None) -> Path:
    """Write the meta-learnt weights and the config of ``model`` (a MetaModel) into ``run_dir``;
    ``data`` (the training Dataset) gives a tabular backbone's input width."""
    import numpy as np

    run_dir = Path(run_dir)
    method = model.method
    backbone = model.backbone
    options = {}
    if data is not None and data.modality == "tabular":
        options["feature_dim"] = int(np.asarray(data.inputs).shape[1])
    config = {
        "kind": KIND,
        "method": method.name,
        "options": dataclasses.asdict(method),
        "ways": model.ways,
        "shots": model.shots,
        "queries": model.queries,
        "backbone": getattr(backbone, "spec", ""),
        "backbone_options": options,
        "modality": getattr(backbone, "modality", None),
        **info,
    }
    save_tensors(run_dir / WEIGHTS, {k: v.detach().contiguous() for k, v in model.state_dict().items()})
    write_json(run_dir / CONFIG, config)
    return run_dir


def load_run(run_dir: Any) -> Any:
    """The MetaModel saved in ``run_dir``, in eval mode."""
    from headstart.meta.base import MetaModel
    from headstart.meta.registry import METHODS

    run_dir = Path(run_dir)
    if not is_meta_run(run_dir):
        raise HeadstartError(f"{run_dir} is not a meta-learning run (no meta_config.json of kind '{KIND}')")
    if not (run_dir / WEIGHTS).is_file():
        raise HeadstartError(f"{run_dir} has no {WEIGHTS}: the run did not finish (resume it with --resume)")
    config = read_json(run_dir / CONFIG)
    method = METHODS.create(config["method"], **config.get("options", {}))
    backbone = build_backbone(config["backbone"], modality=config.get("modality"), **config.get("backbone_options", {}))
    model = MetaModel(backbone, config["ways"], method, config["shots"], config["queries"])
    model.load_state_dict(load_tensors(run_dir / WEIGHTS))
    return model.eval()
