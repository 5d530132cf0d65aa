"""Pooling a sequence of token states ``(B, T, D)`` with its padding mask ``(B, T)`` into ``(B, D)``.

One module, four kinds, every one of them blind to the padding:

- ``mean``: the mean over the real steps;
- ``max``: the maximum over the real steps;
- ``last``: the state at each row's last real step (what a unidirectional RNN's final
  hidden state is: GE2E's own embedding);
- ``meanmax``: ``mean`` and ``max`` side by side (``2 D``);
- ``segments``: the mean over each of :data:`SEGMENTS` equal stretches of the real steps, side by
  side (``SEGMENTS * D``): where along the sequence a pattern occurs is kept (the global kinds
  forget it; on shape outlines such as ArrowHead's, the position is what tells the classes apart);
- ``attention``: a learned query scores each step (additive attention,
  ``w^T tanh(W h_t)``), the padded steps get no weight, and the output is the
  weighted mean. Its scoring layer starts at zero, so it starts as ``mean`` and
  learns from there. Its parameters are the backbone's ``pool`` parameter group,
  which trains with the head (``headstart.strategies.base``): with the encoder
  frozen (``--strategy head``) only the query and the head learn; the linear probe,
  which never trains the backbone, refuses it.

    >>> import torch
    >>> h = torch.tensor([[[1.0], [3.0], [100.0]]]); m = torch.tensor([[True, True, False]])
    >>> [Pooling(k, 1)(h, m).item() for k in ("mean", "max", "last")]
    [2.0, 3.0, 3.0]
    >>> Pooling("attention", 1)(h, m).item()  # starts as the mean
    2.0
"""

from __future__ import annotations

import torch
from torch import nn

from headstart.errors import HeadstartError, did_you_mean

POOLS: tuple[str, ...] = ("mean", "max", "last", "attention", "meanmax", "segments")
SEGMENTS = 8  # stretches of ``segments`` pooling
LEARNED: tuple[str, ...] = ("attention",)  # kinds with parameters (trained with the head)
POOL_GROUP = "pool"  # the name of their parameter group


def check_pool(kind: str) -> str:
    if kind not in POOLS:
        raise HeadstartError(f"unknown pooling '{kind}'{did_you_mean(kind, POOLS)} (one of {', '.join(POOLS)})")
    return kind


class Pooling(nn.Module):
    """``(tokens (B, T, D), mask (B, T) bool) -> (B, D)``; see the module docstring."""

    def __init__(self, kind: str, dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.kind = check_pool(kind)
        if self.kind == "attention":
            self.proj = nn.Linear(dim, min(hidden, dim))
            self.score = nn.Linear(min(hidden, dim), 1, bias=False)
            nn.init.zeros_(self.score.weight)  # uniform weights at the start: the mean

    def out_dim(self, dim: int) -> int:
        return {"meanmax": 2 * dim, "segments": SEGMENTS * dim}.get(self.kind, dim)

    def weights(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Attention weights ``(B, T)`` (zero on padding, rows sum to 1)."""
        scores = self.score(torch.tanh(self.proj(tokens))).squeeze(-1).float()
        scores = scores.masked_fill(~mask, float("-inf"))
        return torch.softmax(scores, dim=1).to(tokens.dtype)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask = mask.bool()
        if self.kind == "meanmax":
            return torch.cat([self._mean(tokens, mask), self._max(tokens, mask)], dim=-1)
        if self.kind == "mean":
            return self._mean(tokens, mask)
        if self.kind == "segments":
            return self._segments(tokens, mask)
        if self.kind == "max":
            return self._max(tokens, mask)
        if self.kind == "last":
            last = (mask.sum(1) - 1).clamp_min(0)
            return tokens[torch.arange(tokens.shape[0], device=tokens.device), last]
        w = self.weights(tokens, mask)
        return (w.unsqueeze(-1) * tokens).sum(1)

    @staticmethod
    def _mean(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1).to(tokens.dtype)
        return (tokens * m).sum(1) / m.sum(1).clamp_min(1.0)

    @staticmethod
    def _segments(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Step ``t`` of a row of ``L`` real steps is in stretch ``floor(t * SEGMENTS / L)``; a row shorter
        than :data:`SEGMENTS` leaves some stretches empty (zeros)."""
        lengths = mask.sum(1, keepdim=True).clamp_min(1)
        t = torch.arange(tokens.shape[1], device=tokens.device)[None, :]
        which = (t * SEGMENTS) // lengths  # (B, T)
        member = (which[..., None] == torch.arange(SEGMENTS, device=tokens.device)) & mask[..., None]
        m = member.to(tokens.dtype)  # (B, T, K)
        sums = torch.einsum("btk,btd->bkd", m, tokens)
        return (sums / m.sum(1).clamp_min(1.0)[..., None]).flatten(1)

    @staticmethod
    def _max(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return tokens.masked_fill(~mask.unsqueeze(-1), torch.finfo(tokens.dtype).min).amax(1)
