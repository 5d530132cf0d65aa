"""Linear probe: multinomial logistic regression on frozen (cached) features.

Solved full-batch in torch with L-BFGS (strong-Wolfe line search) on
standardised features, which keeps the problem well conditioned so that a few
dozen iterations reach the optimum. The objective, as scikit-learn's (same ``C``):

    mean_i  w_i * CE(softmax(W z_i + b), y_i)  +  ||W||^2 / (2 C n)

(the penalty doubled for two classes, see ``fit_logistic``)
with ``z`` the standardised features, ``w`` optional class weights and no
penalty on the bias. When ``C`` is not given it is chosen on a stratified
validation split (k-fold cross-validation for small sets) cut from the training
rows, never from the data you report on. The grid is walked from strong to weak
regularisation, each fit warm-started from the previous one; the best held-out
accuracy wins, ties broken by held-out log-likelihood. The final head is
refitted on all training rows and folded back to act on raw features:
``logits = x @ W'.T + b'``.

Two hooks serve imbalanced data (``headstart.imbalance``): ``loss`` replaces
the (weighted) cross-entropy by any differentiable ``loss(logits, y)`` (focal,
logit-adjusted), then solved by L-BFGS with autograd gradients; ``resample``
rewrites the training rows of every fit (each fold's and the final one: the
held-out rows stay as they are), e.g. SMOTE on the standardised features.
``scoring`` says which held-out figure picks C.

Example:
    >>> import numpy as np
    >>> from headstart.strategies.linear_probe import LinearProbe
    >>> X = np.random.randn(200, 8).astype("float32"); y = (X[:, 0] > 0).astype(int)
    >>> head = LinearProbe(C=1.0).fit(X, y, n_classes=2).head_
    >>> head(torch.from_numpy(X)).shape
    torch.Size([200, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from headstart.data.splits import stratified_sample, stratified_split
from headstart.errors import HeadstartError
from headstart.strategies.registry import STRATEGIES

# Half-decade grid, walked from strong to weak regularisation.
# From 1e-6 (the strong end matters for small, high-dimensional sets) to 1e2.
DEFAULT_CS: tuple[float, ...] = tuple(float(f"{10 ** (e / 2):.3g}") for e in range(-12, 5))
SELECTION_ROWS = 10_000  # C is chosen on at most this many training rows (see _select_C)
CV_ROWS = 5_000  # up to this many rows, C is chosen by k-fold cross-validation
# Largest gradient entry at which L-BFGS stops. Looser than scikit-learn's 1e-4:
# on the benchmarks (docs/BENCHMARKS.md) held-out accuracy moves by under 0.3
# points while the number of evaluations halves.
DEFAULT_TOL = 1e-3
CHUNK_ROWS = 1024  # rows per block of the fused logits + gradient pass (CPU)
COMPACT_BYTES = 8 << 20  # above this, Z is held as float16 on CPU (see fit_logistic)


def class_weights(y: np.ndarray, n_classes: int, mode: Any) -> np.ndarray | None:
    """Per-class weights: ``None``, ``"balanced"`` (n / (k n_c)), or a dict class -> weight."""
    if mode is None:
        return None
    if isinstance(mode, str):
        if mode != "balanced":
            raise HeadstartError(f"class_weight must be None, 'balanced' or a dict, got '{mode}'")
        counts = np.bincount(y, minlength=n_classes).astype(np.float64)
        return np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)
    weights = np.ones(n_classes)
    for k, v in dict(mode).items():
        weights[int(k)] = float(v)
    return weights


def _lbfgs(params: list[torch.Tensor], max_iter: int, tol: float) -> torch.optim.LBFGS:
    """The probe's optimiser: full-batch L-BFGS with a strong-Wolfe line search."""
    return torch.optim.LBFGS(
        params,
        lr=1,
        max_iter=max_iter,
        tolerance_grad=tol,
        tolerance_change=1e-9,
        history_size=10,
        line_search_fn="strong_wolfe",
    )


def fit_with_loss(
    Z: torch.Tensor,
    y: torch.Tensor,
    n_classes: int,
    C: float,
    loss: Any,
    init: tuple[torch.Tensor, torch.Tensor] | None = None,
    max_iter: int = 100,
    tol: float = DEFAULT_TOL,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``loss(Z @ W.T + b, y) + ||W||^2 / (2 C n)`` (penalty doubled for two
    classes, as in ``fit_logistic``) minimised by L-BFGS with autograd
    gradients; returns (W, b, function evaluations). For losses without the
    fused closed-form gradient: focal, logit-adjusted."""
    if not C > 0:
        raise HeadstartError(f"C must be positive, got {C}")
    n, d = Z.shape
    Z = Z.float()
    W = (init[0].clone() if init else torch.zeros(n_classes, d)).requires_grad_(True)
    b = (init[1].clone() if init else torch.zeros(n_classes)).requires_grad_(True)
    reg = (2.0 if n_classes == 2 else 1.0) / (C * n)
    opt = _lbfgs([W, b], max_iter, tol)
    evals = 0

    def closure() -> torch.Tensor:
        nonlocal evals
        evals += 1
        opt.zero_grad()
        value = loss(torch.addmm(b, Z, W.T), y) + 0.5 * reg * (W * W).sum()
        value.backward()
        return value

    opt.step(closure)
    return W.detach(), b.detach(), evals


def fit_logistic(
    Z: torch.Tensor,
    y: torch.Tensor,
    n_classes: int,
    C: float,
    sample_weight: torch.Tensor | None = None,
    init: tuple[torch.Tensor, torch.Tensor] | None = None,
    max_iter: int = 100,
    tol: float = DEFAULT_TOL,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Minimise the regularised multinomial log-loss; returns (W, b, function evaluations).

    The gradient is written out (softmax minus one-hot) rather than taken by
    autograd, in one fused pass over ``Z`` (see the comment in the body). ``tol`` bounds the largest entry of
    the gradient of the mean loss, as scikit-learn's ``tol`` does for lbfgs.

    With two classes the softmax head's two weight rows converge to ``w/2`` and
    ``-w/2``, so the penalty is doubled to keep ``C`` the same as
    scikit-learn's binary ``C`` (penalty ``||w||^2 / (2 C n)`` on the logit
    difference).
    """
    if not C > 0:
        raise HeadstartError(f"C must be positive, got {C}")
    n, d = Z.shape
    W = init[0].clone() if init else torch.zeros(n_classes, d, dtype=Z.dtype, device=Z.device)
    b = init[1].clone() if init else torch.zeros(n_classes, dtype=Z.dtype, device=Z.device)
    # Class-major layout (K x rows): the logits of a block are W @ Z_block.T, and
    # the reductions run along contiguous rows. On CPU this is ~1.7x faster per
    # block than rows-major logits (measured: 240 vs 400 us for 1024 x 384, K=10).
    Yt = F.one_hot(y, n_classes).to(Z.dtype).T.contiguous()
    yrow = y.unsqueeze(0)
    wrow = torch.full((n,), 1.0 / n, dtype=Z.dtype, device=Z.device) if sample_weight is None else sample_weight / n
    wrow = wrow.unsqueeze(0)
    reg = (2.0 if n_classes == 2 else 1.0) / (C * n)
    opt = _lbfgs([W, b], max_iter, tol)
    evals = 0
    # One fused pass over Z per evaluation, a block of rows at a time: each block
    # is multiplied for the logits and again for the gradient while it is still
    # in cache. On 2 CPU cores this is ~2x faster than two whole-matrix products
    # (skinny N x D by D x K products run far below the machine's peak).
    step = n if Z.is_cuda else CHUNK_ROWS
    blocks = [(s, min(s + step, n)) for s in range(0, n, step)]
    # Large inputs on CPU are memory-bound (one read of Z per evaluation): keep Z
    # as float16 (half the bytes; standardised features lose nothing that matters,
    # relative rounding 5e-4) and widen each block to float32 in a reused buffer.
    # Loss and gradient stay exact for the stored data, so L-BFGS is unaffected.
    compact = not Z.is_cuda and Z.numel() * Z.element_size() > COMPACT_BYTES
    Zs = Z.to(torch.float16) if compact else Z
    buffer = torch.empty(min(step, n), d, dtype=Z.dtype) if compact else None

    @torch.no_grad()
    def closure() -> torch.Tensor:
        nonlocal evals
        evals += 1
        grad_W = W * reg
        grad_b = torch.zeros_like(b)
        loss = torch.zeros((), dtype=Z.dtype, device=Z.device)
        bias = b.unsqueeze(1)
        for s, e in blocks:
            Zc = buffer[: e - s].copy_(Zs[s:e]) if compact else Z[s:e]
            wc = wrow[:, s:e]
            logits = torch.addmm(bias, W, Zc.T)  # K x B
            lse = torch.logsumexp(logits, 0, keepdim=True)
            loss += ((lse - logits.gather(0, yrow[:, s:e])) * wc).sum()
            # softmax - one-hot, weighted, in place on the logits buffer
            residual = logits.sub_(lse).exp_().sub_(Yt[:, s:e]).mul_(wc)
            grad_W.addmm_(residual, Zc)
            grad_b += residual.sum(1)
        W.grad, b.grad = grad_W, grad_b
        return loss + 0.5 * reg * (W * W).sum()

    opt.step(closure)
    return W, b, evals


SCORINGS = ("accuracy", "balanced_accuracy", "macro_f1")


def held_out_score(pred: torch.Tensor, y: torch.Tensor, n_classes: int, scoring: str) -> float:
    """Accuracy, balanced accuracy (mean recall) or macro-F1 over the classes present in ``y``."""
    if scoring == "accuracy":
        return (pred == y).float().mean().item()
    present = [k for k in range(n_classes) if (y == k).any()]
    recalls = [(pred[y == k] == k).float().mean().item() for k in present]
    if scoring == "balanced_accuracy":
        return float(np.mean(recalls))
    f1s = []
    for k, recall in zip(present, recalls, strict=True):
        predicted = (pred == k).sum().item()
        precision = ((pred == k) & (y == k)).sum().item() / predicted if predicted else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return float(np.mean(f1s))


@STRATEGIES.register(order=10)
@dataclass
class LinearProbe:
    """Logistic regression on frozen, cached features; ``fit`` sets ``head_``, ``C_``, ``val_scores_``.

    >>> import numpy as np
    >>> X, y = np.r_[np.zeros((10, 2)), np.ones((10, 2))], np.repeat([0, 1], 10)
    >>> LinearProbe(C=1.0).fit(X, y, n_classes=2).head_.out_features
    2
    """

    C: float | None = None
    Cs: Sequence[float] = DEFAULT_CS
    class_weight: Any = None
    val_size: float = 0.2
    cv: int = 5
    cv_repeats: int = 2
    max_iter: int = 200
    tol: float = DEFAULT_TOL
    seed: int = 0
    loss: Any = None
    resample: Any = None
    scoring: str | None = None
    head_: nn.Linear | None = field(default=None, init=False, repr=False)
    C_: float | None = field(default=None, init=False)
    val_scores_: dict[float, float] = field(default_factory=dict, init=False)
    n_evals_: int = field(default=0, init=False)

    name = "linear-probe"
    uses_cached_features = True
    uses_tokens = False

    def _weights(self, y: torch.Tensor, n_classes: int) -> torch.Tensor | None:
        w = class_weights(y.numpy(), n_classes, self.class_weight)
        return None if w is None else torch.as_tensor(w, dtype=torch.float32)[y]

    def _scoring(self) -> str:
        """The held-out figure that picks C (balanced accuracy with class weights by default)."""
        scoring = self.scoring or ("balanced_accuracy" if self.class_weight is not None else "accuracy")
        if scoring not in SCORINGS:
            raise HeadstartError(f"scoring must be one of {', '.join(SCORINGS)}, got '{scoring}'")
        return scoring

    def _training_rows(self, Z: torch.Tensor, y: torch.Tensor, n_classes: int, seed: int) -> tuple[Any, ...]:
        """(Z, y, sample weights) of one fit, after ``resample`` when given."""
        if self.resample is not None:
            Z, y = self.resample(Z, y, seed)
        return Z, y, self._weights(y, n_classes)

    def _solve(
        self,
        rows: tuple[Any, ...],
        n_classes: int,
        C: float,
        init: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        Z, y, weights = rows
        if self.loss is None:
            return fit_logistic(Z, y, n_classes, C, weights, init=init, max_iter=self.max_iter, tol=self.tol)
        return fit_with_loss(Z, y, n_classes, C, self.loss, init=init, max_iter=self.max_iter, tol=self.tol)

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> LinearProbe:
        """``X`` (N, D) features, ``y`` (N,) integer class codes in [0, n_classes)."""
        X = torch.as_tensor(np.ascontiguousarray(X), dtype=torch.float32)
        y_t = torch.as_tensor(np.asarray(y), dtype=torch.long)
        if X.ndim != 2 or len(X) != len(y_t):
            raise HeadstartError(f"features must be (N, D) with one label per row, got {tuple(X.shape)} and {len(y_t)}")
        if self.C is not None and not self.C > 0:
            raise HeadstartError(f"C must be positive, got {self.C}")
        if self.loss is not None and self.class_weight is not None:
            raise HeadstartError("give class weights to the loss, not as class_weight, when the probe has a loss")
        self._scoring()
        # Plain means: torch.var_mean over rows costs 4x more here (20 vs 5 ms for 16k x 384).
        mean = X.mean(0)
        Z = X - mean
        std = Z.square().mean(0).sqrt_().clamp_min_(1e-6)
        Z.div_(std)

        best_C, init = self.C, None
        self.val_scores_ = {}
        if best_C is None:
            best_C, init = self._select_C(Z, y_t, n_classes)
        rows = self._training_rows(Z, y_t, n_classes, self.seed)
        W, b, self.n_evals_ = self._solve(rows, n_classes, best_C, init)
        # Fold the standardisation into the head so it reads raw features.
        W_raw = W / std
        head = nn.Linear(X.shape[1], n_classes)
        with torch.no_grad():
            head.weight.copy_(W_raw)
            head.bias.copy_(b - W_raw @ mean)
        self.head_, self.C_ = head.requires_grad_(False), float(best_C)
        return self

    def _select_C(
        self, Z: torch.Tensor, y: torch.Tensor, n_classes: int
    ) -> tuple[float, tuple[torch.Tensor, torch.Tensor] | None]:
        """Walk the C grid upward on held-out rows and keep the best C.

        Small training sets (up to ``CV_ROWS`` rows) use stratified k-fold
        cross-validation repeated ``cv_repeats`` times with fresh folds, larger
        ones a single stratified split of ``val_size``: on a few hundred rows one
        split, or even one k-fold partition, picks C with a point or two of noise
        (hymenoptera, 243 rows: one 5-fold partition chose C=1e-5, two chose C=1).
        The score is held-out accuracy (balanced accuracy with class weights;
        ``scoring`` chooses another), ties broken by the held-out log-likelihood; against C it is nearly
        always single-peaked, so on large sets the walk stops three grid points
        past the best: the expensive weakly-regularised fits are skipped when the
        peak is early. Small sets walk the whole grid. C is chosen on at most ``SELECTION_ROWS`` training
        rows (stratified): with the penalty scaled by 1/n the best C moves little
        with n, and the final fit on all rows starts from the chosen solution.
        Returns (C, warm start for the final fit).
        """
        yn = y.numpy()
        counts = np.bincount(yn, minlength=n_classes)
        if counts.min() < 2 or len(y) < 10:
            return 1.0, None  # too few rows to hold any out: the middle of the grid
        small = len(y) <= CV_ROWS
        folds = self._folds(yn, int(min(self.cv, counts.min())) if small else 1)
        # Small sets: fits are cheap, walk the whole grid (accuracy plateaus are
        # noisy). Large sets: stop three points past the best.
        patience = len(self.Cs) if small else 3
        scoring = self._scoring()
        inits: list[Any] = [None] * len(folds)
        best, best_score, best_init, worse = None, (-np.inf, -np.inf), None, 0
        # Each fold's training rows (resampled) and sample weights, made once for the whole grid.
        train_rows = [self._training_rows(Z[tr], y[tr], n_classes, self.seed + f) for f, (tr, _) in enumerate(folds)]
        val_weights = [self._weights(y[va], n_classes) for _, va in folds]
        for C in sorted(self.Cs):
            accs: list[float] = []
            lls: list[float] = []
            for f, (_, va) in enumerate(folds):
                yva = y[va]
                W, b, _ = self._solve(train_rows[f], n_classes, C, inits[f])
                inits[f] = (W, b)
                # Accuracy (or ``scoring``) first; the held-out log-likelihood
                # breaks ties, since accuracy on a few hundred rows is flat over
                # whole stretches of the grid.
                logits = torch.addmm(b, Z[va], W.T)
                nll = F.cross_entropy(logits, yva, reduction="none")
                weights = val_weights[f]
                accs.append(held_out_score(logits.argmax(1), yva, n_classes, scoring))
                lls.append(-float(nll.mean() if weights is None else (nll * weights).sum() / weights.sum()))
            score = (round(float(np.mean(accs)), 9), float(np.mean(lls)))
            self.val_scores_[float(C)] = score[0]
            if score > best_score:
                best, best_score, best_init, worse = C, score, inits[0], 0
            else:
                worse += 1
                if worse >= patience:
                    break
        return float(best), best_init

    def _folds(self, y: np.ndarray, k: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """k stratified folds (k >= 2), or one ``val_size`` split capped at SELECTION_ROWS."""
        if k < 2:
            tr, va = stratified_split(y, self.val_size, self.seed)
            if len(tr) > SELECTION_ROWS:
                tr = tr[stratified_sample(y[tr], SELECTION_ROWS, self.seed)]
            return [(torch.as_tensor(tr), torch.as_tensor(va))]
        rng = np.random.default_rng(self.seed)
        out = []
        for _ in range(self.cv_repeats):
            fold = np.empty(len(y), dtype=int)
            for c in np.unique(y):
                idx = rng.permutation(np.flatnonzero(y == c))
                fold[idx] = np.arange(len(idx)) % k
            out += [
                (torch.as_tensor(np.flatnonzero(fold != f)), torch.as_tensor(np.flatnonzero(fold == f)))
                for f in range(k)
            ]
        return out
