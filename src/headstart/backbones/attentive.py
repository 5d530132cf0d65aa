"""Attentive pooling: learned queries cross-attend over a backbone's token features.

``AttentivePool(dim, queries=Q)``: ``Q`` learned query vectors attend (multi-head
cross-attention, keys = values = the layer-normed tokens, padding masked out)
over the ``(B, T, D)`` token or patch features of a backbone; the ``Q`` outputs
are layer-normed and concatenated to one ``(B, Q * D)`` vector (``with_mean``
adds the masked mean of the tokens, the pooled feature a linear probe reads).
This is the attentive probe of Chen et al. ("Context Autoencoder", 2022), El-Nouby
et al. ("AIM", 2024) and Bardes et al. ("V-JEPA", 2024): a linear probe reads one
pooled vector; an attentive probe chooses, per input, which tokens to read.

``AttentiveBackbone(inner, pool)`` is a Backbone whose pooled features are the
pool's output over ``inner``'s tokens: what the ``attentive-probe`` strategy
leaves behind (predict, evaluate, export and ``local:`` loading treat it as any
backbone), and, with ``with_attention(backbone)``, a fine-tuning head: the
pool is its top parameter group, so every fine-tuning strategy trains it.

    >>> pool = AttentivePool(8, queries=2)
    >>> pool(torch.randn(3, 5, 8), torch.ones(3, 5, dtype=torch.bool)).shape
    torch.Size([3, 16])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from headstart.backbones.base import Backbone, ParamGroup, WrappedBackbone
from headstart.errors import HeadstartError

ATTENTION_FILE = "attention.safetensors"


def default_heads(dim: int) -> int:
    """The most attention heads of (8, 6, 4, 2, 1) that divide ``dim``."""
    return next(h for h in (8, 6, 4, 2, 1) if dim % h == 0)


class AttentivePool(nn.Module):
    """``Q`` learned queries attend over ``(B, T, D)`` tokens -> ``(B, Q * D)`` (+ ``D`` with ``with_mean``).

    Light multi-head attention pooling: keys are a projection of the layer-normed
    tokens (``heads`` x ``key_dim``), values are the tokens themselves, head ``h``
    weighting its own ``D / heads`` channels; each query's output is a convex
    combination of the tokens. Queries start at zero, so attention starts uniform:
    the pool starts as mean pooling, the linear probe's feature, and learns from
    there which tokens to weight. Outputs are standardised with the training
    rows' mean-pooled mean and spread (buffers ``center`` / ``scale``, set by the
    trainer). A first version with full projections (``nn.MultiheadAttention``,
    590k weights at D=384) overfit 1,700 rows within 5 epochs (docs/BENCHMARKS.md).

    ``keep_weights = True`` keeps the last batch's attention weights ``(B, Q, T)`` in
    ``weights_`` (averaged over heads): what ``predict --explain`` saves."""

    def __init__(
        self,
        dim: int,
        queries: int = 4,
        heads: int | None = None,
        key_dim: int = 32,
        dropout: float = 0.0,
        with_mean: bool = False,
    ) -> None:
        super().__init__()
        heads = heads or default_heads(dim)
        if queries < 1 or key_dim < 1 or dim % heads:
            raise HeadstartError(
                f"attention: queries and key_dim must be >= 1 and heads must divide {dim}, "
                f"got {queries}, {key_dim}, {heads}"
            )
        self.dim, self.n_queries, self.heads, self.key_dim = int(dim), int(queries), int(heads), int(key_dim)
        self.dropout, self.with_mean = float(dropout), bool(with_mean)
        self.norm = nn.LayerNorm(dim)
        self.key = nn.Linear(dim, heads * key_dim)
        self.queries = nn.Parameter(torch.zeros(queries, heads, key_dim))
        self.drop = nn.Dropout(dropout)
        self.register_buffer("center", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        self.out_dim = (queries + int(with_mean)) * dim
        self.keep_weights = False
        self.weights_: torch.Tensor | None = None

    def options(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "queries": self.n_queries,
            "heads": self.heads,
            "key_dim": self.key_dim,
            "dropout": self.dropout,
            "with_mean": self.with_mean,
        }

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, d = tokens.shape
        mask = mask.bool().clone()
        mask[:, 0] = True  # a row with no real token attends to its first position, never to nothing (NaN)
        k = self.key(self.norm(tokens)).view(b, t, self.heads, self.key_dim)
        logits = torch.einsum("qhk,bthk->bqht", self.queries, k) / self.key_dim**0.5
        weights = logits.masked_fill(~mask[:, None, None, :], float("-inf")).softmax(-1)
        if self.keep_weights:
            self.weights_ = weights.mean(2).detach()
        values = tokens.view(b, t, self.heads, d // self.heads)
        out = torch.einsum("bqht,bthc->bqhc", self.drop(weights), values).reshape(b, self.n_queries, d)
        z = ((out - self.center) / self.scale).flatten(1)
        if self.with_mean:
            m = mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * m).sum(1) / m.sum(1).clamp_min(1.0)
            z = torch.cat([z, (mean - self.center) / self.scale], dim=1)
        return z


class AttentiveBackbone(WrappedBackbone):
    """``inner``'s tokens, attentively pooled by ``pool``: features ``(B, pool.out_dim)``."""

    source = "attentive"

    def __init__(self, inner: Backbone, pool: AttentivePool) -> None:
        super().__init__()
        if not inner.has_tokens:
            inner.forward_tokens(None)  # its one-line refusal
        self.inner, self.pool = inner, pool
        self.spec = f"{inner.spec}+attention"
        self.modality, self.pretrained = inner.modality, inner.pretrained
        self.feature_dim = pool.out_dim
        self.pretrained_config = inner.pretrained_config.updated(attention=pool.options())
        self.train_transform = inner.train_transform
        for attr in ("transform", "tokenizer", "max_length"):  # what Rows reads off a backbone
            if hasattr(inner, attr):
                setattr(self, attr, getattr(inner, attr))

    @property
    def has_tokens(self) -> bool:
        return True

    def forward_tokens(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inner.forward_tokens(batch)

    def forward_features(self, batch: Any) -> torch.Tensor:
        tokens, mask = self.inner.forward_tokens(batch)
        return self.pool(tokens.float(), mask)

    def param_groups(self) -> list[ParamGroup]:
        return [*self.inner.param_groups(), ParamGroup("attention", list(self.pool.parameters()))]

    def save(self, folder: str | Path) -> Path:
        from headstart.io import save_tensors

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.inner.save(folder / "inner")
        save_tensors(folder / ATTENTION_FILE, self.pool.state_dict())
        self._write_meta(folder, {"loader": "attentive", "attention": self.pool.options()})
        return folder


def with_attention(backbone: Backbone, **options: Any) -> AttentiveBackbone:
    """``backbone`` with a fresh attentive pool on its tokens (``queries``, ``heads``, ``dropout``,
    ``with_mean``): fine-tune it with any strategy and the pool trains as the top group."""
    return AttentiveBackbone(backbone, AttentivePool(backbone.feature_dim, **options))


def from_folder(folder: Path, meta: dict[str, Any]) -> AttentiveBackbone:
    """What :meth:`AttentiveBackbone.save` wrote (``local:FOLDER``)."""
    from headstart.backbones.local import load
    from headstart.io import load_tensors

    inner = load(str(folder / "inner"))
    pool = AttentivePool(**meta["attention"])
    pool.load_state_dict(load_tensors(folder / ATTENTION_FILE))
    return AttentiveBackbone(inner, pool)


def _thumbnail(x: Any, side: int = 96) -> str:
    """An image as a small square PNG data URI (its centre crop, as the evaluation transform sees it)."""
    import base64
    import io

    from headstart.backbones.vision import to_pil

    im = to_pil(x)
    s = min(im.size)
    left, top = (im.width - s) // 2, (im.height - s) // 2
    im = im.crop((left, top, left + s, top + s)).resize((side, side))
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@torch.no_grad()
def attention_maps(backbone: AttentiveBackbone, inputs: Sequence[Any], batch_size: int = 32) -> list[dict[str, Any]]:
    """Per input, where the pool looked: its attention weights over the tokens (averaged over the
    queries and heads, summing to 1). Text: ``tokens`` (the tokenizer's pieces) and ``weights``;
    images: ``grid`` ``[h, w]``, ``weights`` row-major over the feature map (a ViT's class / register
    tokens left out, the rest renormalised) and ``image`` (a thumbnail data URI)."""
    import math

    items, _ = backbone.prepare(list(inputs))
    was = backbone.training
    backbone.eval()
    backbone.pool.keep_weights = True
    out: list[dict[str, Any]] = []
    try:
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            tokens, mask = backbone.inner.forward_tokens(backbone.collate(chunk))
            backbone.pool(tokens.float(), mask)
            weights = backbone.pool.weights_.mean(1)  # (B, T)
            for i, row in enumerate(chunk):
                n = int(mask[i].sum())
                w = weights[i, :n]
                if backbone.modality == "text":
                    pieces = backbone.tokenizer.convert_ids_to_tokens(list(row))[:n]
                    out.append({"kind": "text", "tokens": pieces, "weights": [round(float(v), 5) for v in w]})
                    continue
                side = math.isqrt(n)
                w = w[n - side * side :]
                w = w / w.sum().clamp_min(1e-12)
                record = {"kind": "image", "grid": [side, side], "weights": [round(float(v), 5) for v in w]}
                out.append({**record, "image": _thumbnail(inputs[start + i])})
    finally:
        backbone.pool.keep_weights = False
        backbone.pool.weights_ = None
        backbone.train(was)
    return out
