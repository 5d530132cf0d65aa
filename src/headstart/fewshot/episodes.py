"""N-way K-shot Q-query episodes over any labelled rows, and the evaluator.

An episode draws ``ways`` classes, then ``shots + queries`` distinct rows of each
(Vinyals et al. 2016; Snell et al. 2017). The evaluator runs ``episodes`` of
them (600 by default, the usual figure in the literature) and reports the mean
accuracy with a 95% confidence interval, ``1.96 * std / sqrt(episodes)``
(:func:`headstart.stats.mean_ci` with ``method="normal"``: the normal interval
the few-shot literature reports; at 600 episodes Student t is 0.2% wider).
Everything is a pure function of ``seed``: episode ``e`` of seed ``s`` is the
same on every machine, whatever ran before.

Example:
    >>> import numpy as np
    >>> from headstart.fewshot import ProtoNet, evaluate_episodes
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(10), 30)
    >>> X = rng.normal(size=(10, 8))[y] * 4 + rng.normal(size=(300, 8))
    >>> r = evaluate_episodes(X, y, ProtoNet(), ways=5, shots=1, episodes=100)
    >>> r.mean > 0.8
    True
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from headstart.errors import HeadstartError
from headstart.stats import mean_ci


@dataclass
class Episode:
    """Row indices of one episode; ``support_y``/``query_y`` are 0..ways-1 and
    ``classes[j]`` is the original class code of episode class ``j``."""

    support: np.ndarray
    support_y: np.ndarray
    query: np.ndarray
    query_y: np.ndarray
    classes: np.ndarray


class EpisodeSampler:
    """Draws episodes from ``labels`` (any hashable labels, one per row).

    Classes with fewer than ``shots + queries`` rows are never drawn (an
    episode needs that many distinct rows per class); ``queries=None`` takes
    every remaining row of each drawn class as a query (up to 15 by default).
    """

    def __init__(self, labels: Any, ways: int, shots: int, queries: int = 15) -> None:
        labels = np.asarray(labels)
        if ways < 2:
            raise HeadstartError(f"an episode needs at least 2 ways, got {ways}")
        if shots < 1 or queries < 1:
            raise HeadstartError(f"shots and queries must be at least 1, got {shots} and {queries}")
        _, codes = np.unique(labels, return_inverse=True)
        self.codes = codes.reshape(-1)
        self.ways, self.shots, self.queries = int(ways), int(shots), int(queries)
        order = np.argsort(self.codes, kind="stable")
        bounds = np.flatnonzero(np.diff(self.codes[order])) + 1
        per_class = np.split(order, bounds)
        need = self.shots + self.queries
        self.rows = [r for r in per_class if len(r) >= need]
        self.class_codes = np.array([self.codes[r[0]] for r in self.rows], dtype=int)
        if len(self.rows) < self.ways:
            raise HeadstartError(
                f"{self.ways}-way {self.shots}-shot episodes with {self.queries} queries need {self.ways} classes "
                f"with at least {need} rows each; only {len(self.rows)} of {len(per_class)} classes have that many"
            )

    def episode(self, seed: int, index: int) -> Episode:
        """Episode ``index`` of ``seed`` (a pure function of the two)."""
        rng = np.random.default_rng([seed, index])
        chosen = rng.choice(len(self.rows), self.ways, replace=False)
        need = self.shots + self.queries
        picks = np.stack([self.rows[c][rng.choice(len(self.rows[c]), need, replace=False)] for c in chosen])
        labels = np.repeat(np.arange(self.ways), self.shots)
        return Episode(
            support=picks[:, : self.shots].reshape(-1),
            support_y=labels,
            query=picks[:, self.shots :].reshape(-1),
            query_y=np.repeat(np.arange(self.ways), self.queries),
            classes=self.class_codes[chosen],
        )

    def episodes(self, seed: int, n: int) -> Iterator[Episode]:
        for i in range(n):
            yield self.episode(seed, i)


@dataclass
class EpisodeResult:
    """Accuracy over episodes: the mean, the 95% CI half-width, each episode's figure."""

    method: str
    ways: int
    shots: int
    queries: int
    accuracies: np.ndarray = field(repr=False)
    seconds: float = 0.0

    @property
    def episodes(self) -> int:
        return int(len(self.accuracies))

    @property
    def final(self) -> np.ndarray:
        """Each episode's figure (a subclass with several figures per episode picks the one reported)."""
        return np.asarray(self.accuracies)

    @property
    def mean(self) -> float:
        return float(np.mean(self.final))

    @property
    def ci95(self) -> float:
        if self.episodes < 2:
            return float("nan")
        return mean_ci(self.final, method="normal").half_width

    def details(self) -> dict[str, Any]:
        """What a subclass adds to :meth:`to_dict` (before ``seconds``)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "ways": self.ways,
            "shots": self.shots,
            "queries": self.queries,
            "episodes": self.episodes,
            "accuracy": self.mean,
            "ci95": self.ci95,
            **self.details(),
            "seconds": self.seconds,
        }

    def __str__(self) -> str:
        return (
            f"{self.method}: {self.ways}-way {self.shots}-shot {self.mean:.4f} ± {self.ci95:.4f} "
            f"(95% CI, {self.episodes} episodes{self.more()})"
        )

    def more(self) -> str:
        """What a subclass adds to the one-line summary."""
        return ""


def evaluate_episodes(
    features: np.ndarray,
    labels: Any,
    method: Any,
    ways: int = 5,
    shots: int = 1,
    queries: int = 15,
    episodes: int = 600,
    seed: int = 0,
) -> EpisodeResult:
    """Mean accuracy ± 95% CI of ``method`` (a few-shot method or its registry
    name) over ``episodes`` episodes drawn from ``(features, labels)``.

    ``features``: ``(N, D)`` embeddings (e.g. from the features cache);
    ``method``: anything with ``fit(X, y)`` and ``predict(X)`` on embeddings.
    """
    from headstart.fewshot.registry import get_method

    method = get_method(method) if isinstance(method, str) else method
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or len(features) != len(np.asarray(labels)):
        raise HeadstartError(f"features must be (N, D) with one label per row, got {features.shape}")
    if episodes < 1:
        raise HeadstartError(f"episodes must be at least 1, got {episodes}")
    sampler = EpisodeSampler(labels, ways, shots, queries)
    accs = np.empty(episodes, dtype=np.float64)
    start = time.perf_counter()
    for i, ep in enumerate(sampler.episodes(seed, episodes)):
        method.fit(features[ep.support], ep.support_y)
        accs[i] = np.mean(method.predict(features[ep.query]) == ep.query_y)
    name = getattr(method, "name", type(method).__name__)
    return EpisodeResult(name, ways, shots, queries, accs, time.perf_counter() - start)
