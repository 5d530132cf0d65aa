"""``hf:ID_OR_FOLDER`` backbones: transformers ``AutoModel`` for text (and vision).

Text models pool token states into one vector. When the folder is a
sentence-transformers model, its own recipe is honoured: the pooling mode in
``1_Pooling/config.json`` (mean / cls / max), the ``Normalize`` module in
``modules.json``, and ``max_seq_length`` in ``sentence_bert_config.json``;
plain models default to mean pooling over non-padding tokens. The option ``pool``
(``minilm?pool=attention``) replaces the recipe's pooling by one of
:mod:`headstart.pooling`'s (``last``, ``meanmax``, ``attention``: a learned query over
the tokens with the padding mask, trained with the head as the ``pool`` parameter group).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from headstart.backbones.base import Backbone, ParamGroup, PretrainedConfig, as_tokens, group_parameters, pool_groups
from headstart.backbones.registry import register_source
from headstart.errors import HeadstartError
from headstart.hub import resolve_hf
from headstart.pooling import LEARNED, POOLS, Pooling

SENTENCE_POOLINGS = ("mean", "cls", "max")  # a sentence-transformers recipe's, computed here
POOLINGS = SENTENCE_POOLINGS + tuple(p for p in POOLS if p not in SENTENCE_POOLINGS)
POOL_FILE = "pool.safetensors"  # a learned pooling's weights, beside the transformers folder


def sentence_transformers_recipe(folder: Path) -> dict[str, Any]:
    """Read pooling / normalisation / max length from a sentence-transformers folder."""
    recipe: dict[str, Any] = {}
    modules = folder / "modules.json"
    if not modules.is_file():
        return recipe
    entries = json.loads(modules.read_text())
    for entry in entries:
        kind = entry.get("type", "")
        if kind.endswith("Pooling"):
            cfg_file = folder / entry.get("path", "") / "config.json"
            if cfg_file.is_file():
                cfg = json.loads(cfg_file.read_text())
                if cfg.get("pooling_mode_cls_token"):
                    recipe["pooling"] = "cls"
                elif cfg.get("pooling_mode_max_tokens"):
                    recipe["pooling"] = "max"
                else:
                    recipe["pooling"] = "mean"
        elif kind.endswith("Normalize"):
            recipe["normalize"] = True
    st_cfg = folder / "sentence_bert_config.json"
    if st_cfg.is_file():
        max_len = json.loads(st_cfg.read_text()).get("max_seq_length")
        if max_len:
            recipe["max_length"] = int(max_len)
    return recipe


class HFTextBackbone(Backbone):
    """A transformers encoder + tokenizer, pooled to one vector per text."""

    modality = "text"
    source = "hf"

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Any,
        spec: str,
        pooling: str = "mean",
        normalize: bool = False,
        max_length: int = 256,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise HeadstartError(f"pooling must be one of {', '.join(POOLINGS)}, got '{pooling}'")
        if getattr(model, "pooler", None) is not None:
            # We pool the token states ourselves; BERT's pooler would be a block of
            # weights that never gets a gradient (a dead top group, DDP's unused params).
            model.pooler = None
        self.model = model
        self.tokenizer = tokenizer
        self.spec = spec
        self.feature_dim = int(model.config.hidden_size)
        # headstart.pooling's kinds (last, meanmax, attention) as a module, registered after the model
        self.pool = None if pooling in SENTENCE_POOLINGS else Pooling(pooling, self.feature_dim)
        if self.pool is not None:
            self.feature_dim = self.pool.out_dim(self.feature_dim)
        self.pretrained_config = PretrainedConfig(
            tokenizer=Path(str(getattr(tokenizer, "name_or_path", ""))).name,
            max_length=int(max_length),
            pooling=pooling,
            normalize=bool(normalize),
        )

    @property
    def max_length(self) -> int:
        return int(self.pretrained_config.max_length)

    def prepare(self, raw: Sequence[str], max_length: int | None = None) -> tuple[list[list[int]], np.ndarray]:
        """Tokenize every text once (the fast tokenizer runs them in parallel),
        truncated but unpadded; returns (token ids per text, their lengths)."""
        ids = self.tokenizer(
            list(raw),
            truncation=True,
            max_length=min(max_length or self.max_length, self.max_length),
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]
        return ids, np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))

    def collate(self, ids: Sequence[list[int]]) -> dict[str, torch.Tensor]:
        """Pad a batch of token-id lists to its own longest one."""
        width = max(len(x) for x in ids)
        input_ids = np.full((len(ids), width), self.tokenizer.pad_token_id or 0, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, x in enumerate(ids):
            input_ids[row, : len(x)] = x
            mask[row, : len(x)] = 1
        batch = {"input_ids": torch.from_numpy(input_ids), "attention_mask": torch.from_numpy(mask)}
        if "token_type_ids" in self.tokenizer.model_input_names:
            batch["token_type_ids"] = torch.zeros_like(batch["input_ids"])
        return batch

    def preprocess(self, raw: Sequence[str]) -> dict[str, torch.Tensor]:
        return self.collate(self.prepare(raw)[0])

    @property
    def has_tokens(self) -> bool:
        return True

    def forward_tokens(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token states ``(B, T, D)`` (the last layer's) and the attention mask ``(B, T)``."""
        out = self.model(**batch)
        return out.last_hidden_state, batch["attention_mask"]

    def forward_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        tokens, mask = self.forward_tokens(batch)
        pooling = self.pretrained_config.pooling
        if self.pool is not None:
            pooled = self.pool(tokens, mask.bool())
        elif pooling == "cls":
            pooled = tokens[:, 0]
        elif pooling == "max":
            pooled = tokens.masked_fill(~mask.bool().unsqueeze(-1), torch.finfo(tokens.dtype).min).amax(1)
        else:
            m = mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * m).sum(1) / m.sum(1).clamp_min(1e-9)
        return F.normalize(pooled, dim=-1) if self.pretrained_config.normalize else pooled

    def param_groups(self) -> list[ParamGroup]:
        """The transformer's groups, input to output; a learned pooling is the ``pool`` group
        (it trains with the head, as a sequence backbone's does)."""
        pooled = pool_groups(self.pool)
        if not pooled:
            return group_parameters(self)
        mine = {id(p) for g in pooled for p in g.params}  # named as without the pooling, then the pool group
        groups = [ParamGroup(g.name, [p for p in g.params if id(p) not in mine]) for g in group_parameters(self)]
        return [g for g in groups if g.params] + pooled

    def save(self, folder: str | Path) -> Path:
        from headstart.io import save_tensors

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)
        if self.pool is not None and self.pool.kind in LEARNED:
            save_tensors(folder / POOL_FILE, self.pool.state_dict())
        self._write_meta(folder, {"loader": "hf-text"})
        return folder


def image_processor_config(processor: Any) -> PretrainedConfig:
    """The preprocessing recipe of a transformers image processor: the size the
    model sees (the centre crop when the processor crops, else its resize) as
    ``[3, H, W]``, ``image_mean`` / ``image_std``, and its resampling filter by
    name; the processor's own ``size`` (a dict) is kept in ``extra``."""
    from PIL import Image

    size = getattr(processor, "size", None)
    seen = getattr(processor, "crop_size", None) if getattr(processor, "do_center_crop", False) else size
    seen = dict(seen or {})
    side = seen.get("shortest_edge")
    height, width = seen.get("height", side), seen.get("width", side)
    resample = getattr(processor, "resample", None)
    return PretrainedConfig(
        input_size=[3, int(height), int(width)] if height and width else None,
        mean=[float(v) for v in processor.image_mean] if getattr(processor, "image_mean", None) else None,
        std=[float(v) for v in processor.image_std] if getattr(processor, "image_std", None) else None,
        interpolation=Image.Resampling(int(resample)).name.lower() if resample is not None else None,
        extra={"size": dict(size)} if size else {},
    )


class HFVisionBackbone(Backbone):
    """A transformers image encoder + its image processor (pooler output, else mean)."""

    modality = "image"
    source = "hf"

    def __init__(self, model: nn.Module, processor: Any, spec: str) -> None:
        super().__init__()
        self.model = model
        self.processor = processor
        self.spec = spec
        cfg = model.config
        self.feature_dim = int(getattr(cfg, "hidden_size", 0) or cfg.hidden_sizes[-1])
        self.pretrained_config = image_processor_config(processor)

    def preprocess(self, raw: Sequence[Any]) -> torch.Tensor:
        from headstart.backbones.vision import to_pil

        return self.processor(images=[to_pil(x) for x in raw], return_tensors="pt")["pixel_values"]

    @property
    def has_tokens(self) -> bool:
        return True

    def forward_tokens(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The last hidden state as tokens (ViT: CLS + patches; a conv net: its map's positions)."""
        return as_tokens(self.model(pixel_values=batch).last_hidden_state)

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        out = self.model(pixel_values=batch)
        pooled = getattr(out, "pooler_output", None)
        if pooled is None:
            pooled = out.last_hidden_state.mean(1)
        return pooled.flatten(1)

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder, safe_serialization=True)
        self.processor.save_pretrained(folder)
        self._write_meta(folder, {"loader": "hf-vision"})
        return folder


def from_pretrained_folder(
    folder: Path,
    spec: str,
    pretrained: bool = True,
    trust_remote_code: bool = False,
    pooling: str | None = None,
    normalize: bool | None = None,
    max_length: int | None = None,
    safetensors_only: bool = False,
    pool: str | None = None,
) -> Backbone:
    """Build a text or vision backbone from a local transformers folder (``safetensors_only``:
    refuse a folder whose weights are not in safetensors, as in a run folder's ``backbone/``).
    ``pool`` (the spec option) is ``pooling`` by its sequence-backbone name."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        config = transformers.AutoConfig.from_pretrained(folder, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as e:
        raise HeadstartError(f"{folder} is not a transformers model folder ({str(e).splitlines()[0][:120]})") from None
    kw = {"trust_remote_code": trust_remote_code}
    if pretrained:
        if safetensors_only and not any(folder.glob("*.safetensors")):
            raise HeadstartError(
                f"{folder} has no safetensors weights (headstart never loads pickled weights from a saved backbone)"
            )
        weights = {"use_safetensors": True} if safetensors_only else {}
        model = transformers.AutoModel.from_pretrained(folder, **kw, **weights)
    else:
        model = transformers.AutoModel.from_config(config, **kw)
    has_tokenizer = any((folder / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json", "vocab.txt"))
    if has_tokenizer:
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, **kw)
        recipe = sentence_transformers_recipe(folder)
        limit = getattr(config, "max_position_embeddings", 512) or 512
        backbone = HFTextBackbone(
            model,
            tokenizer,
            spec,
            pooling=pool or pooling or recipe.get("pooling", "mean"),
            normalize=recipe.get("normalize", False) if normalize is None else normalize,
            max_length=min(max_length or recipe.get("max_length", limit), limit),
        )
        if backbone.pool is not None and (folder / POOL_FILE).is_file():  # a saved, trained pooling
            from headstart.io import load_tensors

            backbone.pool.load_state_dict(load_tensors(folder / POOL_FILE))
        return backbone
    if (folder / "preprocessor_config.json").is_file():
        processor = transformers.AutoImageProcessor.from_pretrained(folder, **kw)
        return HFVisionBackbone(model, processor, spec)
    raise HeadstartError(f"{folder} has neither a tokenizer nor an image processor; cannot preprocess its inputs")


@register_source("hf", needs="transformers; the model in the Hugging Face cache, a local folder, or network")
def load(name: str, pretrained: bool = True, **kwargs: Any) -> Backbone:
    """``hf:ID``: a Hugging Face model (transformers) from the cache, a local folder or the network."""
    folder = resolve_hf(name)
    return from_pretrained_folder(folder, f"hf:{name}", pretrained=pretrained, **kwargs)
