"""Students: who learns from the teacher (the CLI's ``--student``).

- ``layers:K`` / ``layers:0,1,2``: a truncated copy of the teacher, keeping K
  of its blocks evenly spaced (every other one for K = N / 2, as DistilBERT
  does: Sanh et al. 2019), or the listed ones (0-based); every kept weight and
  the embeddings start from the teacher's fine-tuned values. Keeping the
  bottom blocks (``layers:0,1,2``) makes the student exactly the teacher's
  first layers, whose features already carry the task; skipping blocks feeds
  each kept block inputs it never saw, which DistilBERT repairs with
  distillation on a large corpus (on SST-2 with 2,000 rows, a probe on a
  fine-tuned MiniLM's blocks 0-2 scores 0.80 on dev, on blocks 0, 2, 4: 0.77).
  Needs a Hugging Face teacher (its config records the number of layers, so
  the student saves and reloads like any model).
- ``self``: the teacher's own architecture, started again from the teacher's
  pretrained weights (born-again networks, :mod:`headstart.distill.self_distill`).
- any backbone spec (``hf:...``, ``timm:...``, an embedded name, ``local:...``):
  a different, usually smaller, model with a fresh head.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from torch import nn

from headstart.backbones.base import find_blocks
from headstart.errors import HeadstartError

IMAGE_KEYS = ("input_size", "interpolation", "mean", "std", "crop_pct", "crop_mode")


@dataclass
class Student:
    """A student backbone, the head it starts from (None = a fresh one) and how it was made."""

    backbone: Any
    head: nn.Linear | None
    kind: str  # "layers", "self" or "spec"
    description: str
    layers: list[int] | None = None


def evenly_spaced(n: int, k: int) -> list[int]:
    """``k`` of ``n`` block indices, evenly spaced from the first: (6, 3) -> [0, 2, 4]."""
    return sorted({(i * n) // k for i in range(k)})


def parse_layers(text: str, n: int) -> list[int]:
    """``"3"`` -> 3 evenly spaced of ``n``; ``"half"``; ``"0,2,4"`` -> those (checked)."""
    text = text.strip()
    if text == "half":
        return evenly_spaced(n, max(1, n // 2))
    try:
        if "," not in text:
            k = int(text)
            if not 1 <= k < n:
                raise HeadstartError(f"student layers:{k}: the teacher has {n} blocks, keep 1 .. {n - 1} of them")
            return evenly_spaced(n, k)
        keep = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise HeadstartError(f"student 'layers:{text}': write layers:K, layers:half or layers:0,2,4") from None
    if not keep or sorted(set(keep)) != keep or keep[0] < 0 or keep[-1] >= n:
        raise HeadstartError(
            f"student 'layers:{text}': list distinct increasing block indices in 0 .. {n - 1} (e.g. layers:0,2,4)"
        )
    return keep


def truncate(backbone: Any, keep: list[int]) -> Any:
    """A deep copy of a Hugging Face ``backbone`` keeping only the blocks ``keep``."""
    from headstart.backbones.hf import HFTextBackbone, HFVisionBackbone

    if not isinstance(backbone, (HFTextBackbone, HFVisionBackbone)):
        raise HeadstartError(
            f"a layers:K student copies a Hugging Face teacher (minilm, hf:...); '{backbone.spec}' is not one: "
            f"use --student SPEC (a smaller model) or --student self"
        )
    student = copy.deepcopy(backbone)
    found = find_blocks(student.model)
    if found is None:
        raise HeadstartError(f"backbone '{backbone.spec}' has no block container to keep layers of")
    path, blocks = found
    parent_path, _, child = path.rpartition(".")
    parent = student.model.get_submodule(parent_path) if parent_path else student.model
    setattr(parent, child, type(blocks)([blocks[i] for i in keep]))
    config = student.model.config
    if not hasattr(config, "num_hidden_layers"):
        raise HeadstartError(f"backbone '{backbone.spec}': its config has no num_hidden_layers to change")
    config.num_hidden_layers = len(keep)
    student.spec = f"{backbone.spec}[layers {','.join(map(str, keep))}]"
    student.pretrained_config = {**backbone.pretrained_config}
    return student


def make_student(spec: str, teacher: Any, seed: int = 0) -> Student:
    """The student named by ``spec`` for the fitted ``teacher`` (a TransferClassifier)."""
    from headstart.backbones import load_backbone

    t_backbone = teacher.backbone_
    spec = spec.strip()
    if spec.startswith("layers:"):
        found = find_blocks(getattr(t_backbone, "model", t_backbone))
        if found is None:
            raise HeadstartError(f"teacher backbone '{t_backbone.spec}' has no blocks to keep a subset of")
        n = len(found[1])
        keep = parse_layers(spec.split(":", 1)[1], n)
        backbone = truncate(t_backbone, keep)
        head = copy.deepcopy(teacher.head_).requires_grad_(True)
        what = f"{len(keep)} of the teacher's {n} blocks ({', '.join(map(str, keep))}), from its weights"
        return Student(backbone, head, "layers", what, keep)
    if spec == "self":
        origin = teacher.get_params()["backbone"]
        if not isinstance(origin, str):
            raise HeadstartError("student 'self' needs the teacher's backbone spec in its run folder")
        backbone = load_backbone(origin, modality=teacher.modality_, pretrained=teacher.pretrained, seed=seed)
        return Student(backbone, None, "self", f"the teacher's architecture ({origin}), from its pretrained weights")
    backbone = load_backbone(spec, modality=teacher.modality_, seed=seed)
    return Student(backbone, None, "spec", f"{spec} ({backbone.feature_dim}-d)")


def same_inputs(a: Any, b: Any) -> bool:
    """Whether two backbones take the same preprocessed batch (one batch feeds both)."""
    if a.modality != b.modality:
        return False
    if a.modality == "text":
        ta, tb = getattr(a, "tokenizer", None), getattr(b, "tokenizer", None)
        if ta is None or tb is None or type(ta) is not type(tb):
            return False
        return a.max_length == b.max_length and ta.get_vocab() == tb.get_vocab()
    if a.modality == "image":
        if not (hasattr(a, "transform") and hasattr(b, "transform")):
            return False
        ca, cb = a.pretrained_config, b.pretrained_config
        return all(ca.get(k) == cb.get(k) for k in IMAGE_KEYS) and repr(a.transform) == repr(b.transform)
    return True


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
