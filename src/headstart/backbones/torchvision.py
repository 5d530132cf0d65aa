"""``torchvision:NAME`` backbones (torchvision.models; weights from the torch hub cache)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from torch import nn

from headstart.backbones.base import WEIGHTS_FILE
from headstart.backbones.registry import register_source
from headstart.backbones.vision import ImageBackbone
from headstart.errors import HeadstartError, did_you_mean
from headstart.hub import offline_mode

IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def _strip_classifier(model: nn.Module) -> int:
    """Replace the last ``nn.Linear`` with Identity; return its input size.

    Works across families: ResNet ``fc``, EfficientNet/MobileNet/ConvNeXt
    ``classifier[-1]``, ViT ``heads.head``, VGG ``classifier[6]``.
    """
    last = None
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear):
            last = name
    if last is None:
        raise HeadstartError("this torchvision model has no linear classifier to remove")
    parent_name, _, child = last.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    dim = getattr(parent, child).in_features
    setattr(parent, child, nn.Identity())
    return dim


class TorchvisionBackbone(ImageBackbone):
    def save(self, folder: str | Path) -> Path:
        from headstart.io import save_tensors

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_tensors(folder / WEIGHTS_FILE, self.model.state_dict())
        self._write_meta(folder, {"loader": "torchvision"})
        return folder


def _build(name: str, pretrained: bool) -> tuple[nn.Module, dict[str, Any]]:
    import torch
    import torchvision

    known = torchvision.models.list_models()
    if name not in known:
        raise HeadstartError(f"unknown torchvision model '{name}'{did_you_mean(name, known)}")
    weights = torchvision.models.get_model_weights(name).DEFAULT if pretrained else None
    if weights is not None:
        cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        if not cached.is_file() and offline_mode():
            raise HeadstartError(
                f"torchvision weights for '{name}' are not in {cached.parent} and offline mode is set; "
                f"download {weights.url} there, or use an embedded backbone (`headstart models`)"
            )
        old = socket.getdefaulttimeout()
        socket.setdefaulttimeout(20)
        try:
            model = torchvision.models.get_model(name, weights=weights)
        except OSError as e:  # URLError is an OSError
            raise HeadstartError(
                f"torchvision weights for '{name}' could not be downloaded ({e.__class__.__name__}); "
                f"put {Path(weights.url).name} in {cached.parent}"
            ) from None
        finally:
            socket.setdefaulttimeout(old)
        transform = weights.transforms()
        config = {
            "input_size": [3, *transform.crop_size],
            "resize": list(transform.resize_size),
            "interpolation": str(transform.interpolation.value),
            "mean": list(transform.mean),
            "std": list(transform.std),
        }
    else:
        model = torchvision.models.get_model(name, weights=None)
        config = {"input_size": [3, 224, 224], "resize": [256], "interpolation": "bilinear", **IMAGENET}
    return model, config


def _train_transform(config: dict[str, Any]) -> Any:
    """Training augmentation: random resized crop and horizontal flip, then the weights' normalisation."""
    import torch
    from torchvision.transforms import v2

    return v2.Compose(
        [
            v2.PILToTensor(),
            v2.RandomResizedCrop(config["input_size"][1:], antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(config["mean"], config["std"]),
        ]
    )


def _transform(config: dict[str, Any]) -> Any:
    """Eval preprocessing from the weights' recipe: resize, center crop, normalise."""
    import torch
    from torchvision.transforms import v2

    return v2.Compose(
        [
            v2.PILToTensor(),
            v2.Resize(config["resize"], interpolation=v2.InterpolationMode(config["interpolation"]), antialias=True),
            v2.CenterCrop(config["input_size"][1:]),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(config["mean"], config["std"]),
        ]
    )


@register_source("torchvision", needs="torchvision; weights in the torch hub cache (or network)")
def load(name: str, pretrained: bool = True) -> TorchvisionBackbone:
    """``torchvision:NAME``: a torchvision image model, weights from the torch hub cache (or network)."""
    model, config = _build(name, pretrained)
    dim = _strip_classifier(model)
    config = {"architecture": name, **config}
    backbone = TorchvisionBackbone(model.eval(), _transform(config), dim, f"torchvision:{name}", "torchvision", config)
    backbone.train_transform = _train_transform(config)
    return backbone


def from_folder(folder: Path, meta: dict[str, Any]) -> TorchvisionBackbone:
    from headstart.io import load_tensors

    config = meta["pretrained_config"]
    model, _ = _build(config["architecture"], pretrained=False)
    dim = _strip_classifier(model)
    model.load_state_dict(load_tensors(folder / WEIGHTS_FILE))
    backbone = TorchvisionBackbone(model.eval(), _transform(config), dim, meta["spec"], "torchvision", config)
    backbone.train_transform = _train_transform(config)
    return backbone
