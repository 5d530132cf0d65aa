"""Siamese verification for one-shot learning (Koch, Zemel & Salakhutdinov,
"Siamese Neural Networks for One-shot Image Recognition", ICML DL workshop 2015),
on embeddings.

A pair head scores whether two embeddings show the same class:

    p(same | a, b) = sigmoid(w2 . relu(W1 [|a - b|, a * b] + b1) + b2)

trained with binary cross-entropy on balanced same / different pairs. For a
few-shot episode the query is compared with every support item and goes to
the class whose items it matches best on average. The head learns what
"same" means on classes that have several examples (``pretrain`` on base
classes: the usual setting); without that, ``fit`` trains it on the support
set's own pairs, which needs at least 2 shots. Embeddings ``(N, D)``, pair
features ``(P, 2D)``, scores ``(Q, S)``.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(8), 10)
    >>> X = rng.normal(size=(8, 4))[y] * 3 + rng.normal(size=(80, 4)) * 0.3
    >>> s = Siamese(steps=100).pretrain(X[y < 6], y[y < 6])
    >>> (s.fit(X[[60, 70]], np.array([6, 7])).predict(X[[61, 71]]) == [6, 7]).all()
    np.True_
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from headstart.errors import HeadstartError
from headstart.fewshot.registry import METHODS


class PairHead(nn.Module):
    """``[|a - b|, a * b]`` -> one logit of "same class"."""

    def __init__(self, dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([(a - b).abs(), a * b], dim=-1)).squeeze(-1)


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def random_pairs(codes: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` pairs of row indices, half same-class, half different: ``(i, j, same)``."""
    by_class = [np.flatnonzero(codes == c) for c in np.unique(codes)]
    multi = [r for r in by_class if len(r) >= 2]
    if not multi or len(by_class) < 2:
        raise HeadstartError("Siamese training needs a class with 2+ examples and at least 2 classes")
    half = n // 2
    same_cls = rng.integers(len(multi), size=half)
    same = np.array([rng.choice(multi[c], 2, replace=False) for c in same_cls]).reshape(-1, 2)
    i = rng.integers(len(codes), size=n - half)
    j = rng.integers(len(codes), size=n - half)
    keep = codes[i] != codes[j]
    diff = np.stack([i[keep], j[keep]], 1)
    pairs = np.concatenate([same, diff])
    target = np.concatenate([np.ones(len(same)), np.zeros(len(diff))])
    return pairs[:, 0], pairs[:, 1], target


@METHODS.register(order=50, trains=True)
class Siamese:
    """A pair-verification head over embeddings, used one-shot by comparison.

    >>> Siamese(steps=50).pretrained_  # train the pair head on base classes first (pretrain)
    False
    """

    name = "siamese"

    def __init__(self, hidden: int = 128, steps: int = 300, batch: int = 256, lr: float = 1e-3, seed: int = 0) -> None:
        self.hidden, self.steps, self.batch, self.lr, self.seed = hidden, steps, batch, lr, seed
        self.head_: PairHead | None = None
        self.pretrained_ = False

    def _train(self, X: np.ndarray, y: np.ndarray) -> PairHead:
        _, codes = np.unique(np.asarray(y), return_inverse=True)
        rng = np.random.default_rng(self.seed)
        torch.manual_seed(self.seed)
        head = PairHead(X.shape[1], self.hidden)
        opt = torch.optim.Adam(head.parameters(), lr=self.lr)
        feats = torch.from_numpy(_normalize(np.asarray(X, dtype=np.float32)))
        for _ in range(self.steps):
            i, j, target = random_pairs(codes, self.batch, rng)
            loss = nn.functional.binary_cross_entropy_with_logits(
                head(feats[i], feats[j]), torch.as_tensor(target, dtype=torch.float32)
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
        return head.eval()

    def pretrain(self, X: np.ndarray, y: np.ndarray) -> Siamese:
        """Train the pair head on base classes (not the episode's classes)."""
        self.head_ = self._train(X, y)
        self.pretrained_ = True
        return self

    def fit(self, X: np.ndarray, y: np.ndarray) -> Siamese:
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y)
        if not self.pretrained_:
            if np.bincount(np.unique(y, return_inverse=True)[1]).max() < 2:
                raise HeadstartError(
                    "siamese: one-shot needs a pair head trained on other classes first (Siamese().pretrain(X, y)); "
                    "without it the support set needs 2+ examples of a class"
                )
            self.head_ = self._train(X, y)
        self.support_ = torch.from_numpy(_normalize(X))
        self.classes_, self.codes_ = np.unique(y, return_inverse=True)
        return self

    @torch.no_grad()
    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Mean "same class" logit of each query against each class's support items, ``(Q, K)``."""
        assert self.head_ is not None
        q = torch.from_numpy(_normalize(np.asarray(X, dtype=np.float32)))
        Q, S = len(q), len(self.support_)
        logits = self.head_(q[:, None, :].expand(Q, S, -1), self.support_[None, :, :].expand(Q, S, -1)).numpy()
        onehot = np.eye(len(self.classes_), dtype=np.float32)[self.codes_]
        return (logits @ onehot) / onehot.sum(0)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.decision_function(X).argmax(1)]
