"""A fitted classifier -> ONNX (raw model inputs -> logits), dynamic batch (and sequence length for text).

The exported graph is the whole classifier: backbone, pooling (and the
normalisation sentence encoders apply) and head, so that onnxruntime needs
nothing but the preprocessed inputs: ``input_ids``, ``attention_mask`` (and
``token_type_ids``) for text, ``pixel_values`` ``(B, 3, H, W)`` for images.
The export uses ``torch.onnx.export(dynamo=True)`` (torch.export, then the
ONNX translation and its graph optimiser).

Models that cannot be exported fail with one line saying why, before any work:
tabular runs (no network to export), a backbone whose preprocessing the runtime
cannot reproduce. A ``SPEC@blockK`` layer exports with its network's
preprocessing; under export its pass runs to the end instead of stopping by an
exception (which tracing cannot follow), and the graph keeps what block K needs.

    >>> from headstart.export.onnx import to_onnx
    >>> info = to_onnx(load_run("runs/sst2"), "runs/sst2/export/model.onnx")
    >>> info["inputs"]
    ['input_ids', 'attention_mask', 'token_type_ids']
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from headstart.errors import HeadstartError

OPSET = 18


class TextClassifier(nn.Module):
    """``(input_ids, attention_mask[, token_type_ids]) -> logits``."""

    def __init__(self, backbone: nn.Module, head: nn.Module, names: list[str]) -> None:
        super().__init__()
        self.backbone, self.head, self.names = backbone, head, names

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        batch = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            batch["token_type_ids"] = token_type_ids
        return self.head(self.backbone.forward_features(batch).float())


class ImageClassifier(nn.Module):
    """``pixel_values (B, 3, H, W) -> logits``."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.forward_features(pixel_values).float())


def input_names(clf: Any) -> list[str]:
    if clf.modality_ == "text":
        names = ["input_ids", "attention_mask"]
        if "token_type_ids" in clf.backbone_.tokenizer.model_input_names:
            names.append("token_type_ids")
        return names
    return ["pixel_values"]


def network(backbone: Any) -> Any:
    """The backbone whose tokenizer, preprocessing and configuration an export records: for a
    ``SPEC@blockK`` layer, its whole network (the layer's forward pass is what is traced)."""
    from headstart.backbones.layers import LayerBackbone

    return backbone.inner if isinstance(backbone, LayerBackbone) else backbone


def check_exportable(clf: Any) -> None:
    """One clear line if ``clf`` cannot be exported, naming the reason."""
    from headstart.backbones.hf import HFTextBackbone, HFVisionBackbone

    backbone = clf.backbone_
    spec = getattr(backbone, "spec", "?")
    if clf.modality_ in ("timeseries", "audio"):
        raise HeadstartError(
            f"cannot export a {clf.modality_} run yet: ONNX export covers text and image runs "
            f"(predict with `headstart predict RUN DATA` instead)"
        )
    if clf.modality_ not in ("text", "image"):
        raise HeadstartError(
            f"cannot export a {clf.modality_} run: its model is a linear head on the feature columns "
            f"(model.safetensors holds it); ONNX export covers text and image runs"
        )
    backbone = network(backbone)  # a layer: its network's preprocessing, the layer's forward pass
    if isinstance(backbone, HFVisionBackbone):
        raise HeadstartError(
            f"cannot export backbone '{spec}': the runtime cannot reproduce a Hugging Face image processor's "
            f"preprocessing yet; use a timm, torchvision or embedded image backbone"
        )
    if clf.modality_ == "text":
        if not isinstance(backbone, HFTextBackbone):
            raise HeadstartError(f"cannot export text backbone '{spec}': only Hugging Face text models are supported")
        if getattr(backbone.tokenizer, "backend_tokenizer", None) is None:
            raise HeadstartError(
                f"cannot export backbone '{spec}': its tokenizer is not a fast (Rust) tokenizer, so there is no "
                f"tokenizer.json for the runtime"
            )
    if clf.modality_ == "image" and not hasattr(backbone, "transform"):
        raise HeadstartError(f"cannot export image backbone '{spec}': it has no preprocessing transform to record")


def example_inputs(clf: Any) -> dict[str, torch.Tensor]:
    """Two rows of different lengths (the exporter must not specialise on 1 or equal sizes)."""
    backbone = clf.backbone_
    if clf.modality_ == "text":
        batch = backbone.collate(backbone.prepare(["an example to trace the model with", "a shorter one"])[0])
        return {k: batch[k] for k in input_names(clf)}
    size = backbone.pretrained_config.get("input_size", [3, 224, 224])
    return {"pixel_values": torch.randn(2, *[int(s) for s in size])}


def _strip_debug_info(path: Path) -> None:
    """Drop the exporter's per-node debug metadata (source stack, FX node text): on a
    small model it is most of the file, and it says nothing the runtime needs."""
    import onnx

    model = onnx.load(str(path))
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    onnx.save(model, str(path))


def to_onnx(clf: Any, path: str | Path) -> dict[str, Any]:
    """Export ``clf`` (a fitted TransferClassifier) to ``path``; returns what was exported."""
    check_exportable(clf)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    backbone = clf.backbone_.cpu().eval()
    head = clf.head_.cpu().eval()
    names = input_names(clf)
    inputs = example_inputs(clf)
    batch = torch.export.Dim("batch", min=1, max=65536)
    if clf.modality_ == "text":
        root = network(backbone)
        limit = int(getattr(root.model.config, "max_position_embeddings", 512) or 512)
        seq = torch.export.Dim("sequence", min=1, max=min(root.max_length, limit))
        module: nn.Module = TextClassifier(backbone, head, names)
        dynamic: dict[str, Any] = {n: {0: batch, 1: seq} for n in names}
    else:
        module = ImageClassifier(backbone, head)
        dynamic = {"pixel_values": {0: batch}}
    module.eval()
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                module,
                (),
                kwargs=inputs,
                dynamic_shapes=dynamic,
                input_names=names,
                output_names=["logits"],
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
            program.save(str(tmp), external_data=False)
        _strip_debug_info(tmp)
        tmp.replace(path)
    except HeadstartError:
        raise
    except Exception as e:  # the exporter fails in many ways; the user needs the first line
        tmp.unlink(missing_ok=True)
        first = (str(e).strip().splitlines() or [""])[0][:200]
        raise HeadstartError(
            f"torch.onnx could not export backbone '{clf.backbone_.spec}': {e.__class__.__name__}: {first}"
        ) from None
    return {
        "file": path.name,
        "inputs": names,
        "output": "logits",
        "dynamic_axes": {n: ["batch", "sequence"] if clf.modality_ == "text" else ["batch"] for n in names},
        "opset": OPSET,
    }
