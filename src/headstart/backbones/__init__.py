"""Backbones: one surface over every pretrained model, a registry keyed by source.

>>> from headstart.backbones import load_backbone
>>> bb = load_backbone("minilm")            # embedded, offline
>>> bb.forward_features(bb.preprocess(["hello"])).shape
torch.Size([1, 384])
"""

# The registries import every module of this package (each source registers itself) when first asked.
from headstart.backbones.base import Backbone, ParamGroup, group_parameters
from headstart.backbones.registry import (
    DEFAULTS,
    EMBEDDED,
    SOURCES,
    list_embedded,
    list_sources,
    load_backbone,
    load_backbone_for,
    load_backbones,
    register_embedded,
    register_source,
)

__all__ = [
    "DEFAULTS",
    "EMBEDDED",
    "SOURCES",
    "Backbone",
    "ParamGroup",
    "group_parameters",
    "list_embedded",
    "list_sources",
    "load_backbone",
    "load_backbone_for",
    "load_backbones",
    "register_embedded",
    "register_source",
]
