"""What turns raw inputs into the exported model's inputs, written beside it as JSON.

Text: the fast tokenizer's ``tokenizer.json``, the truncation length that
``headstart predict`` uses (the backbone's), the pad id and the input names.
Images: the evaluation transform read off the backbone's torchvision pipeline
(``Resize`` -> ``CenterCrop`` -> to tensor in [0, 1] -> ``Normalize``): the
resize size (an int = the shorter side) and interpolation, the crop, mean and
std. :mod:`headstart.runtime` reads this file; nothing else is needed there.

    >>> spec = record(clf, Path("runs/x/export"))
    >>> spec["mean"], spec["crop"]
    ([0.5, 0.5, 0.5], [224, 224])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from headstart.errors import HeadstartError

TOKENIZER = "tokenizer.json"


def _size(value: Any) -> int | list[int]:
    if isinstance(value, int):
        return value
    value = [int(v) for v in value]
    return value[0] if len(value) == 1 else value


def describe_transform(transform: Any, spec: str = "?") -> dict[str, Any]:
    """A torchvision eval pipeline -> ``{"resize", "crop", "mean", "std"}``; one clear line if it is not one."""
    steps = list(getattr(transform, "transforms", [transform]))
    out: dict[str, Any] = {"resize": None, "crop": None, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}
    scaled = False
    for step in steps:
        kind = type(step).__name__
        if kind == "Resize":
            if getattr(step, "max_size", None) is not None:
                raise HeadstartError(f"cannot record the preprocessing of '{spec}': Resize with max_size")
            mode = step.interpolation
            out["resize"] = {"size": _size(step.size), "interpolation": str(getattr(mode, "value", mode)).lower()}
        elif kind == "CenterCrop":
            size = _size(step.size)
            out["crop"] = [size, size] if isinstance(size, int) else size
        elif kind in ("ToTensor", "MaybeToTensor"):
            scaled = True
        elif kind == "ToDtype" and getattr(step, "scale", False):
            scaled = True
        elif kind in ("PILToTensor", "ToImage", "MaybeToImage"):
            continue
        elif kind == "Normalize":
            out["mean"] = [float(v) for v in step.mean]
            out["std"] = [float(v) for v in step.std]
        else:
            raise HeadstartError(
                f"cannot record the preprocessing of '{spec}': the runtime does not know the step {kind}"
            )
    if not scaled:
        raise HeadstartError(f"cannot record the preprocessing of '{spec}': no step scales pixels to [0, 1]")
    if out["resize"] is not None and out["resize"]["interpolation"] not in ("nearest", "bilinear", "bicubic"):
        raise HeadstartError(
            f"cannot record the preprocessing of '{spec}': interpolation {out['resize']['interpolation']}"
        )
    return out


def record(clf: Any, folder: Path, inputs: list[str]) -> dict[str, Any]:
    """Write the preprocessing (+ tokenizer file) into ``folder``; returns the JSON's content."""
    from headstart.export.onnx import network

    backbone = network(clf.backbone_)  # a layer's network: its tokenizer and preprocessing
    classes = [c.item() if hasattr(c, "item") else c for c in clf.classes_]
    spec: dict[str, Any] = {"format": 1, "modality": clf.modality_, "classes": classes, "inputs": inputs}
    spec["task"] = clf.task_  # the outputs: class logits, the number (regression), label logits (multilabel)
    if clf.task_ == "multilabel":
        spec["thresholds"] = [float(t) for t in clf.targets_["thresholds"]]
    if clf.modality_ == "text":
        tok = backbone.tokenizer
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{TOKENIZER}.tmp"
        tok.backend_tokenizer.save(str(tmp))
        tmp.replace(folder / TOKENIZER)
        spec.update(
            tokenizer=TOKENIZER,
            max_length=int(backbone.max_length),
            pad_id=int(tok.pad_token_id or 0),
            backbone=clf.backbone_.spec,
        )
    else:
        spec.update(describe_transform(backbone.transform, backbone.spec), layout="NCHW", backbone=clf.backbone_.spec)
    return spec
