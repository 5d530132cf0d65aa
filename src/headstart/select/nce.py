"""NCE: negative conditional entropy of the target labels given the source labels.

Paper: A. T. Tran, C. V. Nguyen, T. Hassner, "Transferability and Hardness of
Supervised Classification Tasks", ICCV 2019.

Each target input gets a source label z_i = argmax_z theta(x_i)_z (the source
model's prediction). From the empirical joint P(y, z) of (y_i, z_i):

    H(Y | Z) = - sum_{y, z} P(y, z) log P(y | z),   NCE = -H(Y | Z).

NCE <= 0; 0 when the source prediction determines the target label, -H(Y)
when source predictions and target labels are independent.

Shapes: source_probs (N, Z) (probabilities or logits: only the argmax is
used); labels (N,) any hashable values; returns a float, higher = better.

Example:
    >>> import numpy as np
    >>> y = np.array([0, 0, 1, 1])
    >>> nce(np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9]]), y)
    0.0
    >>> round(nce(np.array([[0.9, 0.1], [0.1, 0.9], [0.9, 0.1], [0.1, 0.9]]), y), 4)  # -log 2
    -0.6931
"""

from __future__ import annotations

import numpy as np

from headstart.select.registry import SCORES


@SCORES.register("nce", order=50, inputs="source_probs")
def nce(source_probs: np.ndarray, labels: np.ndarray) -> float:
    """-H(Y | Z), Z the argmax of ``source_probs`` (N, Z), Y the target ``labels`` (N,); higher = better.

    >>> P = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
    >>> y = np.array([0, 0, 1, 1])
    >>> round(nce(P, y), 3)  # the argmax of P gives away every label
    0.0
    """
    z = np.asarray(source_probs).argmax(1)
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    y = y.ravel()
    N = y.size
    joint = np.zeros((int(y.max()) + 1, np.asarray(source_probs).shape[1]))
    np.add.at(joint, (y, z), 1.0)
    joint /= N
    marginal = joint.sum(0, keepdims=True)  # P(z)
    nz = joint > 0
    cond = joint[nz] / np.broadcast_to(marginal, joint.shape)[nz]  # P(y | z) where P(y, z) > 0
    # -H = sum P(y, z) log P(y | z); + 0.0 turns -0.0 into 0.0
    return float(np.sum(joint[nz] * np.log(cond))) + 0.0
