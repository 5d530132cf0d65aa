"""``local:FOLDER`` backbones: a folder written by ``Backbone.save`` (no network).

The folder holds ``backbone.json`` (which loader, the original spec, the
preprocessing config) and the weights in safetensors (or a transformers folder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from headstart.backbones.base import BACKBONE_JSON, Backbone
from headstart.backbones.registry import register_source
from headstart.errors import HeadstartError


@register_source("local", needs="a folder saved by headstart (backbone.json + safetensors)")
def load(name: str, pretrained: bool = True, **kwargs: Any) -> Backbone:
    """``local:FOLDER``: a backbone saved by headstart (``backbone.json`` + safetensors)."""
    folder = Path(name).expanduser()
    meta_file = folder / BACKBONE_JSON
    if not meta_file.is_file():
        raise HeadstartError(f"{folder} is not a saved headstart backbone (no {BACKBONE_JSON})")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise HeadstartError(
            f"{meta_file} is not valid JSON ({e.__class__.__name__}): the saved backbone is damaged"
        ) from None
    if not isinstance(meta, dict):
        raise HeadstartError(f"{meta_file} is not a JSON object: the saved backbone is damaged")
    try:
        return _load(folder, meta, meta_file, kwargs)
    except HeadstartError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError, OSError) as e:
        # A backbone.json that lacks a key, or weights that do not fit the architecture it names.
        what = f"{e.__class__.__name__}: {str(e).splitlines()[0][:100]}" if str(e).strip() else e.__class__.__name__
        raise HeadstartError(f"{folder} is a damaged saved backbone ({what}); save or fit it again") from None


def _load(folder: Path, meta: dict[str, Any], meta_file: Path, kwargs: dict[str, Any]) -> Backbone:
    loader = meta.get("loader")
    if loader in ("hf-text", "hf-vision"):
        from headstart.backbones.hf import from_pretrained_folder

        cfg = meta["pretrained_config"]
        extra = {k: cfg[k] for k in ("pooling", "normalize", "max_length") if k in cfg} if loader == "hf-text" else {}
        # Safetensors only: a pickled pytorch_model.bin put in a run folder is never read.
        backbone = from_pretrained_folder(folder, meta["spec"], safetensors_only=True, **{**extra, **kwargs})
        if cfg.get("tokenizer"):
            # The tokenizer now loads from this folder; its name is still the one it was saved under,
            # so the saved backbone's pretrained_config (and feature-cache key) is the original's.
            backbone.pretrained_config = backbone.pretrained_config.updated(tokenizer=cfg["tokenizer"])
    elif loader == "timm":
        from headstart.backbones.timm import from_folder

        backbone = from_folder(folder, meta)
    elif loader == "torchvision":
        from headstart.backbones.torchvision import from_folder

        backbone = from_folder(folder, meta)
    elif loader == "scratch":
        from headstart.backbones.scratch import from_folder

        backbone = from_folder(folder, meta)
    elif loader == "attentive":
        from headstart.backbones.attentive import from_folder

        return from_folder(folder, meta)
    elif loader == "sequence":
        from headstart.backbones.sequence import from_folder

        backbone = from_folder(folder, meta, pool=kwargs.get("pool"))
    elif loader == "gaf":
        from headstart.backbones.gaf import from_folder

        backbone = from_folder(folder, meta)
    elif loader == "identity":
        from headstart.backbones.embedded import IdentityBackbone

        backbone = IdentityBackbone(meta["feature_dim"])
    else:
        raise HeadstartError(f"{meta_file}: unknown loader '{loader}'")
    backbone.source = meta.get("source", backbone.source)
    if meta.get("layer"):
        from headstart.backbones.layers import LayerBackbone

        return LayerBackbone(backbone, int(meta["layer"]))
    return backbone
