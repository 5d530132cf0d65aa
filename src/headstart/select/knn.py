"""Leave-one-out k-nearest-neighbour accuracy under cosine similarity.

A non-parametric transferability score: the fraction of points whose k
nearest other points (cosine similarity on L2-normalised features, the point
itself excluded) vote for its own label. Cheap, assumption-free, and a close
proxy for how a nearest-neighbour or prototype head would do; used as a
baseline score e.g. by Kornblith, Shlens, Le, "Do Better ImageNet Models
Transfer Better?", CVPR 2019 and in few-shot evaluation.

    acc = 1/N sum_i [ vote_k(i) = y_i ],
    vote_k(i) = argmax_c #{ j in kNN(i), j != i : y_j = c }

Ties between classes go to the class whose neighbours have the larger summed
similarity. The N x N similarity matrix is never held whole: rows come in
chunks (``chunk`` x N floats at a time), so N = 5000 takes well under a second.

Shapes: features (N, D) float, labels (N,) any hashable values; returns a
float in [0, 1], higher = better.

Example:
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> knn_accuracy(X, np.array(["a", "a", "b", "b"]))
    1.0
"""

from __future__ import annotations

import numpy as np

from headstart.select.registry import SCORES


@SCORES.register("knn", order=30, inputs="features")
def knn_accuracy(features: np.ndarray, labels: np.ndarray, k: int = 1, chunk: int = 1024) -> float:
    """Leave-one-out k-NN accuracy (cosine) of ``features`` (N, D) for ``labels`` (N,).

    >>> X = np.array([[0.0, 1], [0.1, 1], [1, 0], [1, 0.1]])
    >>> y = np.array([0, 0, 1, 1])
    >>> knn_accuracy(X, y)
    1.0
    """
    X = np.asarray(features, dtype=np.float64)
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    y = y.ravel()
    N = X.shape[0]
    if not 1 <= k < N:
        raise ValueError(f"k must be between 1 and N - 1 = {N - 1}, got {k}")
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    X = X / np.where(norms > 0, norms, 1.0)  # an all-zero row stays zero (similarity 0 to all)
    C = int(y.max()) + 1
    correct = 0
    for start in range(0, N, chunk):
        stop = min(start + chunk, N)
        sim = X[start:stop] @ X.T  # (b, N)
        rows = np.arange(stop - start)
        sim[rows, rows + start] = -np.inf  # leave the point itself out
        if k == 1:
            pred = y[sim.argmax(1)]
        else:
            nn = np.argpartition(-sim, k - 1, axis=1)[:, :k]  # (b, k), unordered
            nn_sim = np.take_along_axis(sim, nn, 1)
            votes = np.zeros((stop - start, C))
            np.add.at(votes, (rows[:, None], y[nn]), 1.0)
            tie = np.zeros((stop - start, C))
            np.add.at(tie, (rows[:, None], y[nn]), nn_sim)
            # Similarities lie in [-1, 1], so k of them sum to less than k in size:
            # scaled by 1 / (2k + 1), they break ties without overturning a vote.
            pred = (votes + tie / (2 * k + 1)).argmax(1)
        correct += int((pred == y[start:stop]).sum())
    return correct / N
