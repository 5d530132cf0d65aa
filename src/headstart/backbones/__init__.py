"""Backbones: one surface over every pretrained model, a registry keyed by source.

>>> from headstart.backbones import load_backbone
>>> bb = load_backbone("minilm")            # embedded, offline
>>> bb.forward_features(bb.preprocess(["hello"])).shape
torch.Size([1, 384])
"""

# Importing each source module registers it.
from headstart.backbones import embedded, hf, local, scratch, timm, torchvision  # noqa: F401
from headstart.backbones.base import Backbone, ParamGroup, group_parameters
from headstart.backbones.registry import (
    DEFAULTS,
    list_embedded,
    list_sources,
    load_backbone,
    load_backbone_for,
    register_embedded,
    register_source,
)

__all__ = [
    "DEFAULTS",
    "Backbone",
    "ParamGroup",
    "group_parameters",
    "list_embedded",
    "list_sources",
    "load_backbone",
    "load_backbone_for",
    "register_embedded",
    "register_source",
]
