"""``timm:NAME`` backbones (any timm model; pretrained weights from the HF hub cache)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from headstart.backbones.base import WEIGHTS_FILE, as_tokens
from headstart.backbones.registry import register_source
from headstart.backbones.vision import ImageBackbone
from headstart.errors import HeadstartError, did_you_mean
from headstart.hub import offline_mode


def _config(model: Any) -> dict[str, Any]:
    import timm.data

    cfg = timm.data.resolve_data_config({}, model=model)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()}


class TimmBackbone(ImageBackbone):
    """A timm model with its classifier removed (``num_classes=0``).

    Its tokens are timm's unpooled ``forward_features``: a ViT's tokens (class /
    register tokens then patches), a conv net's last feature map as ``H * W``
    tokens (``efficientnet-lite0``: 7 x 7 = 49 tokens of 1280 at 224 px).
    """

    @property
    def has_tokens(self) -> bool:
        return True

    def forward_tokens(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return as_tokens(self.model.forward_features(batch))

    def save(self, folder: str | Path) -> Path:
        from headstart.io import save_tensors

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_tensors(folder / WEIGHTS_FILE, self.model.state_dict())
        self._write_meta(folder, {"loader": "timm"})
        return folder


def wrap_timm(model: Any, spec: str, source: str = "timm") -> TimmBackbone:
    """Wrap a timm model (classifier already removed) as a Backbone."""
    import timm.data

    cfg = _config(model)
    transform = timm.data.create_transform(**cfg, is_training=False)
    config = {"architecture": model.pretrained_cfg.get("architecture", ""), **cfg}
    backbone = TimmBackbone(model, transform, model.num_features, spec, source, config)
    backbone.train_transform = timm.data.create_transform(**cfg, is_training=True)
    return backbone


@register_source("timm", needs="timm; pretrained weights in the Hugging Face cache (or network)")
def load(name: str, pretrained: bool = True, **kwargs: Any) -> TimmBackbone:
    """``timm:NAME``: a timm image model, pretrained weights from the Hugging Face cache (or network)."""
    import timm

    if not timm.is_model(name):
        raise HeadstartError(f"unknown timm model '{name}'{did_you_mean(name, timm.list_models())}")
    try:
        model = timm.create_model(name, pretrained=pretrained, num_classes=0, **kwargs)
    except Exception as e:  # hub errors come in many types
        if not pretrained:
            raise
        how = f"timm model '{name}' has no pretrained weights in the local cache" + (
            " and HF_HUB_OFFLINE=1 is set" if offline_mode() else " and they could not be downloaded"
        )
        raise HeadstartError(
            f"{how} ({e.__class__.__name__}); fetch them on a machine with network with "
            f"`python -c \"import timm; timm.create_model('{name}', pretrained=True)\"` "
            f"and copy the Hugging Face cache, or use an embedded backbone (`headstart models`)"
        ) from None
    return wrap_timm(model.eval(), f"timm:{name}")


def from_folder(folder: Path, meta: dict[str, Any]) -> TimmBackbone:
    import timm

    from headstart.io import load_tensors

    model = timm.create_model(meta["pretrained_config"]["architecture"], pretrained=False, num_classes=0)
    model.load_state_dict(load_tensors(folder / WEIGHTS_FILE))
    backbone = wrap_timm(model.eval(), meta["spec"], meta["source"])
    backbone.pretrained_config = meta["pretrained_config"]
    return backbone
