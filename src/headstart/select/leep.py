"""LEEP: the log expected empirical prediction of a source classifier's head.

Paper: C. V. Nguyen, T. Hassner, M. Seeger, C. Archambeau, "LEEP: A New Measure
to Evaluate Transferability of Learned Representations", ICML 2020.

With theta(x_i) (Z,) the source model's class probabilities on target input
x_i (e.g. the softmax of an ImageNet head) and y_i the target label:

    P(y, z) = 1/N sum_{i: y_i = y} theta(x_i)_z     (empirical joint, C x Z)
    P(y | z) = P(y, z) / sum_y' P(y', z)
    LEEP = 1/N sum_i log sum_z P(y_i | z) theta(x_i)_z

the average log-likelihood of the "expected empirical predictor" that maps
source classes to target classes through P(y | z). LEEP <= 0; 0 when source
classes determine the target labels, -H(Y) (the empirical label entropy) when
the source probabilities say nothing about the labels.

Shapes: source_probs (N, Z), rows summing to 1; labels (N,) any hashable
values; returns a float, higher = better.

Example:
    >>> import numpy as np
    >>> y = np.array([0, 0, 1, 1])
    >>> aligned = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> leep(aligned, y)
    0.0
    >>> round(leep(np.full((4, 2), 0.5), y), 4)  # uninformative: -log 2
    -0.6931
"""

from __future__ import annotations

import numpy as np

from headstart.select.registry import SCORES


@SCORES.register("leep", order=40, inputs="source_probs")
def leep(source_probs: np.ndarray, labels: np.ndarray) -> float:
    """LEEP of source-task probabilities (N, Z) for target ``labels`` (N,); higher = better.

    >>> P = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
    >>> y = np.array([0, 0, 1, 1])
    >>> round(leep(P, y), 3)
    -0.295
    """
    theta = np.asarray(source_probs, dtype=np.float64)
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    y = y.ravel()
    N = theta.shape[0]
    onehot = np.eye(int(y.max()) + 1)[y]  # (N, C)
    joint = (onehot.T @ theta) / N  # P(y, z), (C, Z)
    marginal = joint.sum(0)  # P(z)
    # A source class no row gives mass to has an undefined P(y | z); its theta is 0 everywhere.
    cond = np.divide(joint, marginal, out=np.zeros_like(joint), where=marginal > 0)
    eep = np.einsum("nz,nz->n", theta, cond[y])  # sum_z P(y_i | z) theta_iz
    return float(np.mean(np.log(eep)))
