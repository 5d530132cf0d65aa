"""Scratch vs transfer: did the pretrained weights help, at which label budgets?

At each label budget (a fraction of the training rows, or k rows per class)
and for each seed (a different stratified draw of those rows), every arm is
trained on the same rows and scored on the same held-out rows:

- ``transfer``: the pretrained backbone with the chosen strategy;
- ``scratch``: the same architecture from random weights, with the same
  strategy and training budget (epochs, learning rate, rows);
- ``classic``: where cheap, a baseline without any network (TF-IDF + logistic
  regression for text, raw 32x32 pixels + logistic regression for images);
- mitigation arms, when asked for (negative transfer's remedies):
  ``layers`` transfers only the lower blocks (``SPEC@blockK``, K chosen by
  LogME on the training rows: no held-out label is read), ``l2sp`` fine-tunes
  with the L2-SP penalty (fine-tuning strategies only).

Imbalanced classes: ``imbalance`` (a :mod:`headstart.imbalance` method, or
``"auto"``) trains every arm with it, the classic baseline included, and
``metric="balanced_accuracy"`` scores every arm by balanced accuracy instead
of accuracy (the plot, the CIs, the tests and the verdict all use it).

Regression and multi-label targets (``train.task``): the same loop, arms, paired tests and verdict,
through the task's :class:`Scorer` (the default ``metric="accuracy"`` means the task's own figure;
budgets draw random rows, no class to stratify by):

- regression, by R^2 (``metric="r2"``): the probe arms and the classic baseline by ridge regression
  with the penalty chosen by leave-one-out CV (:func:`headstart.heads.ridge_probe`);
- multi-label, by micro-F1 (``metric="micro_f1"``): the probe arms by ``fit``'s per-label probes with
  thresholds tuned on rows cut from the drawn training rows, the classic baseline one-vs-rest
  logistic regression on the same classic inputs (TF-IDF for text) at threshold 0.5.

Per budget: each arm's mean accuracy with a 95% confidence interval
(Student t over the seeds), and a paired t-test of transfer minus scratch
(pairs share their training rows); both from :mod:`headstart.stats`. The verdict at a budget is "transfer
helps" / "negative transfer" only when that test rejects equality at 5%
(two-sided); otherwise "no significant difference". A gain inside the noise
is never called a win. The overall verdict is "transfer helps" when it helps
at every budget, "negative transfer" when it hurts at every budget, and says
which budgets otherwise.

    >>> result = compare(train, test, "efficientnet-lite0", budgets=[0.1, 0.5, 1.0], seeds=3)
    >>> result.verdict
    'transfer helps'
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from headstart.backbones import load_backbone
from headstart.backbones.layers import LayerBackbone
from headstart.data import Dataset, stratified_sample
from headstart.data.targets import as_task
from headstart.errors import HeadstartError
from headstart.features import extract, extract_many
from headstart.stats import mean_ci, paired_t

ALPHA = 0.05
METRICS = ("accuracy", "balanced_accuracy", "r2", "micro_f1")
REMEDIES = ("layers", "l2sp")  # the mitigation arms for negative transfer (module docstring)


@dataclass
class Budget:
    """One training-set size: its label, and the rows drawn for each seed."""

    label: str
    rows: list[np.ndarray]  # row indices into the training data, one array per seed


@dataclass
class BudgetResult:
    label: str
    n_rows: int
    accuracy: dict[str, list[float]]  # arm -> accuracy per seed
    seconds: dict[str, list[float]]  # arm -> training seconds per seed
    t: float = 0.0
    p: float = 1.0
    verdict: str = ""

    def summary(self, arm: str) -> tuple[float, float]:
        return mean_ci(self.accuracy[arm])


@dataclass
class CompareResult:
    backbone: str
    strategy: str
    arms: list[str]
    budgets: list[BudgetResult]
    seeds: list[int]
    n_test: int
    verdict: str = ""
    reading: str = ""
    target: float | None = None
    time_to_target: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    metric: str = "accuracy"
    imbalance: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "backbone": self.backbone,
            "strategy": self.strategy,
            "arms": self.arms,
            "seeds": self.seeds,
            "n_test": self.n_test,
            "verdict": self.verdict,
            "reading": self.reading,
            "target": self.target,
            "time_to_target": self.time_to_target,
            "notes": self.notes,
            "metric": self.metric,
            "imbalance": self.imbalance,
            "budgets": [],
        }
        for b in self.budgets:
            row = {"label": b.label, "rows": b.n_rows, "t": b.t, "p": b.p, "verdict": b.verdict, "arms": {}}
            for arm in self.arms:
                m, ci = b.summary(arm)
                row["arms"][arm] = {"mean": m, "ci95": ci, "accuracy": b.accuracy[arm], "seconds": b.seconds[arm]}
            out["budgets"].append(row)
        return out


def make_budgets(
    labels: np.ndarray, budgets: Sequence[float], seeds: Sequence[int], per_class: bool = False
) -> list[Budget]:
    """Stratified training subsets: ``budgets`` are fractions of the rows (0 < f <= 1)
    or, with ``per_class``, rows per class (each class keeps at least one row)."""
    out = []
    classes, counts = np.unique(labels.astype(str), return_counts=True)
    n = len(labels)
    for b in budgets:
        if per_class:
            k = int(b)
            if k < 1:
                raise HeadstartError(f"a per-class budget is a whole number of rows >= 1, got {b}")
            size = int(sum(min(k, c) for c in counts))
            label = f"{k}/class"
        else:
            if not 0 < b <= 1:
                raise HeadstartError(f"a budget is a fraction of the training rows in (0, 1], got {b}")
            size = max(len(classes), int(round(b * n)))
            label = f"{b:.0%}"
        rows = []
        for s in seeds:
            if per_class:
                rng = np.random.default_rng([s, size])
                idx = np.concatenate(
                    [rng.permutation(np.flatnonzero(labels.astype(str) == c))[: int(b)] for c in classes]
                )
                rows.append(np.sort(idx))
            elif size >= n:
                rows.append(np.arange(n))
            else:
                rows.append(np.sort(stratified_sample(labels, size, s)))
        out.append(Budget(label, rows))
    return out


# ------------------------------------------------------------------ the arms
def _score(pred: np.ndarray, y: np.ndarray, metric: str) -> float:
    if metric == "balanced_accuracy":  # as headstart.metrics reports it
        from sklearn.metrics import balanced_accuracy_score

        return float(balanced_accuracy_score(y, pred))
    return float(np.mean(pred == y))


def probe_score(
    Xtr: np.ndarray,
    ytr: np.ndarray,
    Xte: np.ndarray,
    yte: np.ndarray,
    seed: int,
    n_classes: int,
    imbalance: Any = None,
    metric: str = "accuracy",
) -> float:
    """``metric`` (``"accuracy"`` or ``"balanced_accuracy"``) on ``(Xte, yte)`` of a
    linear probe fitted on ``(Xtr, ytr)`` (class codes ``0..n_classes-1``);
    ``imbalance``: a :mod:`headstart.imbalance` method (``Auto`` is resolved on
    these rows), ``None``: plain training. Every probe is fitted by
    :func:`headstart.imbalance.fit_probe`."""
    from headstart.imbalance import Auto, Method, fit_probe

    method = Method() if imbalance is None else imbalance  # Method(): plain training, LinearProbe(seed=seed)
    if isinstance(method, Auto):
        method = method.choose(Xtr, ytr, n_classes, {}, [str(c) for c in range(n_classes)])[0]
    head = fit_probe(method, Xtr, ytr, n_classes, {"seed": seed})[0].head_
    with torch.no_grad():
        pred = head(torch.from_numpy(np.ascontiguousarray(Xte, dtype=np.float32))).argmax(1).numpy()
    return _score(pred, yte, metric)


def ridge_score(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray) -> float:
    """R^2 on ``(Xte, yte)`` of ridge regression fitted on ``(Xtr, ytr)`` (the regression probe)."""
    from headstart.heads import ridge_probe, unstandardise

    head, info = ridge_probe(Xtr, ytr)
    with torch.no_grad():
        pred = unstandardise(head, info["mean"], info["std"])(torch.from_numpy(np.ascontiguousarray(Xte, np.float32)))
    residual = float(((pred[:, 0].double().numpy() - yte) ** 2).sum())
    total = float(((yte - yte.mean()) ** 2).sum())
    return 1.0 - residual / total if total > 0 else float("nan")


TASK_METRIC = {"regression": "r2", "multilabel": "micro_f1"}  # how compare scores a task other than classes


def _check_task(train: Dataset, metric: str, per_class: bool, imbalance: Any, mitigations: Sequence[str]) -> str:
    """The metric of ``train``'s task (classification: ``metric``; ``"accuracy"``, the default, means the
    task's own figure); what a regression or multi-label target cannot do is one line."""
    task = train.task
    if task == "classification":
        if metric in TASK_METRIC.values():
            which = next(t for t, m in TASK_METRIC.items() if m == metric)
            raise HeadstartError(f"metric '{metric}' scores a {which} target; the labels are classes")
        return metric
    for given, what in ((per_class, "--shots (rows per class)"), (imbalance, "--imbalance"),
                        (list(mitigations), "--mitigate")):  # fmt: skip
        if given:
            raise HeadstartError(f"{what} works on classes; the task is {task}: leave it out")
    own = TASK_METRIC[task]
    if metric not in ("accuracy", own):
        raise HeadstartError(f"a {task} target is scored by {own}, not '{metric}'")
    return own


def classic_features(train: Dataset, test: Dataset) -> tuple[np.ndarray, np.ndarray] | None:
    """(train, test) inputs of the classic baseline, or None where there is none.

    Text: TF-IDF (vocabulary from the training rows only). Images: pixels of a
    32x32 RGB thumbnail, scaled to [0, 1]. Tables: the columns as they are. Audio:
    MFCC mean + std. Time series: the values, each channel interpolated to 64 steps.
    """
    if train.modality == "text":
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = TfidfVectorizer(min_df=1, sublinear_tf=True).fit(list(train.inputs))
        return (
            vec.transform(list(train.inputs)).toarray().astype(np.float32),
            vec.transform(list(test.inputs)).toarray().astype(np.float32),
        )
    if train.modality == "image":
        from headstart.backbones.vision import to_pil

        def pixels(data: Dataset) -> np.ndarray:
            return np.stack(
                [
                    np.asarray(to_pil(x).convert("RGB").resize((32, 32)), dtype=np.float32).ravel() / 255
                    for x in data.inputs
                ]
            )

        return pixels(train), pixels(test)
    if train.modality == "tabular":
        return np.asarray(train.inputs, dtype=np.float32), np.asarray(test.inputs, dtype=np.float32)
    if train.modality == "audio":  # MFCC mean and std over time, both sides at the training rate
        from headstart.data import at_rate

        rate = train.sample_rate or 16000
        return mfcc_summary(train.inputs, rate), mfcc_summary(at_rate(test, rate), rate)
    if train.modality == "timeseries":  # every channel linearly interpolated to 64 steps
        return resampled_values(train.inputs), resampled_values(test.inputs)
    return None


def mfcc_summary(waves: Sequence[np.ndarray], rate: float) -> np.ndarray:
    """20 MFCCs (40 mel bands, 25 ms windows every 10 ms; librosa), their mean and std over time."""
    import librosa

    out = []
    for x in waves:
        n_fft, hop = int(0.025 * rate), int(0.010 * rate)
        x = np.pad(x, (0, max(0, n_fft - len(x))))
        m = librosa.feature.mfcc(y=x, sr=rate, n_mfcc=20, n_fft=n_fft, hop_length=hop, n_mels=40)
        out.append(np.concatenate([m.mean(1), m.std(1)]))
    return np.asarray(out, dtype=np.float32)


def resampled_values(series: Sequence[np.ndarray], steps: int = 64) -> np.ndarray:
    """Each ``(T, C)`` series, every channel interpolated to ``steps`` points, flattened."""
    grid = np.linspace(0, 1, steps)
    rows = []
    for x in series:
        t = np.linspace(0, 1, len(x)) if len(x) > 1 else np.zeros(1)
        rows.append(np.concatenate([np.interp(grid, t, x[:, c]) for c in range(x.shape[1])]))
    return np.asarray(rows, dtype=np.float32)


def best_layer_by_logme(spec: str, data: Dataset, codes: np.ndarray, seed: int, **extract_kw: Any) -> str:
    """The block K whose features LogME rates highest on the training rows (labels of training rows only)."""
    from headstart.backbones.base import find_blocks
    from headstart.select.logme import logme

    full = load_backbone(spec, modality=data.modality)
    found = find_blocks(full)
    if found is None:
        raise HeadstartError(f"backbone '{spec}' has no blocks to choose from: the 'layers' remedy does not apply")
    ks = range(1, len(found[1]))  # the last block is (almost) the whole network
    layers = [LayerBackbone(full, k).eval() for k in ks]  # one forward pass serves every layer
    extractions = extract_many(layers, data, **extract_kw)
    scores = {k: logme(e.features.astype(np.float64), codes) for k, e in zip(ks, extractions, strict=True)}
    best = max(scores, key=scores.get)
    return f"{spec}@block{best}"


def compare(
    train: Dataset,
    test: Dataset,
    backbone: str,
    *,
    budgets: Sequence[float] = (0.05, 0.1, 0.25, 0.5, 1.0),
    per_class: bool = False,
    seeds: int | Sequence[int] = 3,
    strategy: str = "linear-probe",
    classic: bool = True,
    mitigations: Sequence[str] = (),
    target: float | None = None,
    fit_options: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    imbalance: str | None = None,
    imbalance_options: dict[str, Any] | None = None,
    metric: str = "accuracy",
    **extract_kw: Any,
) -> CompareResult:
    """Train every arm at every budget and seed; see the module docstring.

    ``fit_options`` go to :class:`headstart.TransferClassifier` for the
    fine-tuning arms (epochs, lr, train_batch_size, ...); ``extract_kw`` to
    :func:`headstart.features.extract` (batch_size, device, cache, cache_dir).
    ``imbalance`` / ``imbalance_options``: the imbalance method every arm
    trains with; ``metric``: ``"accuracy"`` or ``"balanced_accuracy"`` (a
    regression is scored by ``r2``, a multi-label target by ``micro_f1``).
    """
    from headstart.classifier import TransferClassifier

    train.require_labels()
    test.require_labels()
    metric = _check_task(train, metric, per_class, imbalance, mitigations)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if len(seed_list) < 2:
        raise HeadstartError("compare needs at least 2 seeds for a confidence interval and a test")
    if metric not in METRICS:
        raise HeadstartError(f"unknown metric '{metric}' (valid: {', '.join(METRICS)})")
    method = None
    if imbalance is not None:
        from headstart.imbalance import make_method

        method = make_method(imbalance, **(imbalance_options or {}))
    elif imbalance_options:
        raise HeadstartError("imbalance options given without an imbalance method")
    unknown = [m for m in mitigations if m not in REMEDIES]
    if unknown:
        raise HeadstartError(f"unknown remedy '{unknown[0]}' (valid: {', '.join(REMEDIES)})")
    probe = strategy == "linear-probe"
    if "l2sp" in mitigations and probe:
        raise HeadstartError("the l2sp remedy fine-tunes: use it with a fine-tuning --strategy (e.g. full)")
    say = progress or (lambda _msg: None)
    scorer = make_scorer(train, test, metric, method, fine_tuning=not probe)
    plan = scorer.budgets(train, budgets, seed_list, per_class)
    result = CompareResult(backbone, strategy, [], [], seed_list, len(test), metric=metric, imbalance=imbalance)

    # What each arm needs, computed once (probe arms: features of every row).
    arms: dict[str, dict[str, Any]] = {
        "transfer": {"spec": backbone, "pretrained": True, "strategy": strategy},
        "scratch": {"spec": backbone, "pretrained": False, "strategy": strategy},
    }
    if "layers" in mitigations:
        say("choosing the layer to transfer by LogME on the training rows")
        layer = best_layer_by_logme(backbone, train, scorer.ytr, seed_list[0], **extract_kw)
        arms[f"remedy: {layer.split('@')[-1]} only"] = {"spec": layer, "pretrained": True, "strategy": strategy}
        result.notes.append(f"the 'layers' remedy transfers {layer} (highest LogME on the training rows)")
    if "l2sp" in mitigations:
        arms["remedy: l2sp"] = {"spec": backbone, "pretrained": True, "strategy": "l2sp"}
    features: dict[tuple[str, bool, int], tuple[np.ndarray, np.ndarray]] = {}

    def probe_features(spec: str, pretrained: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
        key = (spec, pretrained, seed if not pretrained else 0)
        if key not in features:
            bb = load_backbone(spec, modality=train.modality, pretrained=pretrained, seed=key[2])
            features[key] = (extract(bb, train, **extract_kw).features, extract(bb, test, **extract_kw).features)
        return features[key]

    baseline = classic_features(train, test) if classic else None
    arm_names = list(arms) + (["classic"] if baseline is not None else [])
    result.arms = arm_names
    task_kw = scorer.fit_options(imbalance, imbalance_options)
    extract_fit_kw = {k: v for k, v in extract_kw.items() if k in ("batch_size", "device", "cache", "cache_dir")}
    for budget in plan:
        br = BudgetResult(
            budget.label, int(len(budget.rows[0])), {a: [] for a in arm_names}, {a: [] for a in arm_names}
        )
        for seed, rows in zip(seed_list, budget.rows, strict=True):
            for name, arm in arms.items():
                start = time.perf_counter()
                if arm["strategy"] == "linear-probe":
                    # Random weights are drawn per seed: the scratch arm's spread includes its initialisation.
                    Xtr, Xte = probe_features(arm["spec"], arm["pretrained"], seed)
                    score = scorer.probe(Xtr, Xte, rows, seed)
                else:
                    clf = TransferClassifier(
                        backbone=arm["spec"],
                        pretrained=arm["pretrained"],
                        strategy=arm["strategy"],
                        seed=seed,
                        progress=False,
                        **task_kw,
                        **(fit_options or {}),
                        **extract_fit_kw,
                    )
                    score = scorer.fitted(clf.fit(train.subset(rows)), test)
                br.accuracy[name].append(score)
                br.seconds[name].append(time.perf_counter() - start)
            if baseline is not None:
                start = time.perf_counter()
                br.accuracy["classic"].append(scorer.classic(baseline[0], baseline[1], rows, seed))
                br.seconds["classic"].append(time.perf_counter() - start)
        judge(br)
        result.budgets.append(br)
        m_t, ci_t = br.summary("transfer")
        m_s, ci_s = br.summary("scratch")
        say(
            f"{budget.label:>8s} ({br.n_rows} rows): transfer {scorer.label}{m_t:.3f}±{ci_t:.3f}, "
            f"scratch {m_s:.3f}±{ci_s:.3f}"
        )
    result.verdict, result.reading = overall_verdict(result.budgets)
    result.target = target if target is not None else default_target(result)
    result.time_to_target = {a: time_to_target(result, a, result.target) for a in arm_names}
    return result


# ------------------------------------------------------------ per-task scoring
@dataclass
class Scorer:
    """How :func:`compare` scores its arms on one task: the draws of training rows per budget, the probe on
    cached features, the classic baseline, and a fitted classifier's figure; one loop serves every task.

    Classification (this class): class codes ``ytr`` / ``yte``, stratified budgets, the linear probe
    (with the imbalance ``method``) and the classic inputs + the same probe, scored by ``metric``."""

    metric: str
    ytr: np.ndarray
    yte: np.ndarray
    n_classes: int = 0
    method: Any = None
    label: str = ""  # how the progress line names the figure ("" for accuracy)

    def budgets(self, train: Dataset, budgets: Sequence[float], seeds: Sequence[int], per_class: bool) -> list[Budget]:
        return make_budgets(train.labels, budgets, seeds, per_class)

    def probe(self, Xtr: np.ndarray, Xte: np.ndarray, rows: np.ndarray, seed: int) -> float:
        return probe_score(Xtr[rows], self.ytr[rows], Xte, self.yte, seed, self.n_classes, self.method, self.metric)

    def classic(self, Xtr: np.ndarray, Xte: np.ndarray, rows: np.ndarray, seed: int) -> float:
        return self.probe(Xtr, Xte, rows, seed)

    def fit_options(self, imbalance: str | None, imbalance_options: dict[str, Any] | None) -> dict[str, Any]:
        """The fine-tuning arms' TransferClassifier options that the task sets."""
        return {"imbalance": imbalance, "imbalance_options": imbalance_options}

    def fitted(self, clf: Any, test: Dataset) -> float:
        return float(clf.evaluate(test, resamples=0)[self.metric])


class RegressionScorer(Scorer):
    """A regression: random budgets (no class to stratify by), ridge with the penalty by leave-one-out CV
    for the probe and the classic inputs alike (:func:`ridge_score`), every arm by R^2."""

    def budgets(self, train: Dataset, budgets: Sequence[float], seeds: Sequence[int], per_class: bool) -> list[Budget]:
        return make_budgets(np.zeros(len(train)), budgets, seeds)

    def probe(self, Xtr: np.ndarray, Xte: np.ndarray, rows: np.ndarray, seed: int) -> float:
        return ridge_score(Xtr[rows], self.ytr[rows], Xte, self.yte)

    def fit_options(self, imbalance: str | None, imbalance_options: dict[str, Any] | None) -> dict[str, Any]:
        return {"task": "regression"}


@dataclass
class MultilabelScorer(RegressionScorer):
    """A multi-label target: random budgets in which every label has a positive and a negative row; the
    probe is ``fit``'s (one binary linear probe per label, C by CV, thresholds tuned on a validation split
    cut from the drawn rows: ``TransferClassifier(backbone="identity", task="multilabel")`` on the cached
    features); the classic baseline one-vs-rest logistic regression (scikit-learn, C = 1) at threshold 0.5;
    every arm by micro-F1."""

    names: list[str] | None = None

    def budgets(self, train: Dataset, budgets: Sequence[float], seeds: Sequence[int], per_class: bool) -> list[Budget]:
        plan = super().budgets(train, budgets, seeds, per_class)
        for budget in plan:
            for rows in budget.rows:
                pos = self.ytr[rows].sum(0)
                bad = np.flatnonzero((pos == 0) | (pos == len(rows)))
                if len(bad):
                    name = self.names[bad[0]] if self.names else str(bad[0])
                    which = "no row" if pos[bad[0]] == 0 else "every row"
                    raise HeadstartError(
                        f"budget {budget.label}: label '{name}' is on {which} of the {len(rows)} rows drawn; "
                        f"use larger --budgets"
                    )
        return plan

    def probe(self, Xtr: np.ndarray, Xte: np.ndarray, rows: np.ndarray, seed: int) -> float:
        from headstart.classifier import TransferClassifier

        clf = TransferClassifier(backbone="identity", task="multilabel", seed=seed, cache=False, progress=False)
        clf.fit(np.ascontiguousarray(Xtr[rows], np.float32), self.ytr[rows])
        return float(clf.evaluate(np.ascontiguousarray(Xte, np.float32), self.yte, resamples=0)[self.metric])

    def classic(self, Xtr: np.ndarray, Xte: np.ndarray, rows: np.ndarray, seed: int) -> float:
        return one_vs_rest_score(Xtr[rows], self.ytr[rows], Xte, self.yte)

    def fit_options(self, imbalance: str | None, imbalance_options: dict[str, Any] | None) -> dict[str, Any]:
        return {"task": "multilabel"}


def one_vs_rest_score(Xtr: np.ndarray, Ytr: np.ndarray, Xte: np.ndarray, Yte: np.ndarray) -> float:
    """Micro-F1 on ``(Xte, Yte)`` of one-vs-rest logistic regression fitted on ``(Xtr, Ytr)`` (0/1 label
    matrices; scikit-learn's ``OneVsRestClassifier(LogisticRegression())``), each label at probability 0.5."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.multiclass import OneVsRestClassifier

    model = OneVsRestClassifier(LogisticRegression(max_iter=1000)).fit(Xtr, Ytr)
    pred = (model.predict_proba(Xte) >= 0.5).astype(np.int64)
    return float(f1_score(Yte, pred, average="micro", zero_division=0))


def make_scorer(train: Dataset, test: Dataset, metric: str, method: Any = None, fine_tuning: bool = False) -> Scorer:
    """The :class:`Scorer` of ``train``'s task (``metric`` already checked by :func:`_check_task`); class labels
    are coded over training and held-out rows, a held-out class training never saw is one line."""
    if train.task == "regression":
        y = (np.asarray(train.labels, np.float64), np.asarray(test.labels, np.float64))
        return RegressionScorer(metric, *y, label="R^2 ")
    if train.task == "multilabel":
        names = list(train.label_names or [])
        held = as_task(test, "multilabel", names) if test.label_names != names else test
        return MultilabelScorer(
            metric, np.asarray(train.labels), np.asarray(held.labels), label="micro-F1 ", names=names
        )
    classes = np.unique(np.concatenate([train.labels.astype(str), test.labels.astype(str)]))
    index = {c: i for i, c in enumerate(classes)}
    ytr = np.array([index[v] for v in train.labels.astype(str)])
    yte = np.array([index[v] for v in test.labels.astype(str)])
    unseen = sorted(set(test.labels.astype(str)) - set(train.labels.astype(str)))
    if unseen:
        raise HeadstartError(f"held-out labels never seen in training: {', '.join(unseen[:5])}")
    if method is not None:
        from headstart.imbalance import check_method

        check_method(method, np.bincount(ytr, minlength=len(classes)), list(classes), fine_tuning=fine_tuning)
    return Scorer(metric, ytr, yte, len(classes), method)


def judge(br: BudgetResult) -> None:
    """The paired t-test of transfer - scratch at one budget, and its verdict (5%, two-sided)."""
    br.t, br.p = paired_t(br.accuracy["transfer"], br.accuracy["scratch"])
    if br.p < ALPHA:
        br.verdict = "transfer helps" if br.t > 0 else "negative transfer"
    else:
        br.verdict = "no significant difference"


def overall_verdict(budgets: list[BudgetResult]) -> tuple[str, str]:
    helps = [b.label for b in budgets if b.verdict == "transfer helps"]
    hurts = [b.label for b in budgets if b.verdict == "negative transfer"]
    stats = "; ".join(f"{b.label}: t={b.t:+.2f}, p={b.p:.3g}" for b in budgets)
    df = len(budgets[0].accuracy["transfer"]) - 1
    if len(helps) == len(budgets):
        verdict = "transfer helps"
    elif len(hurts) == len(budgets):
        verdict = "negative transfer"
    elif helps and not hurts:
        verdict = f"transfer helps at {', '.join(helps)}; no significant difference elsewhere"
    elif hurts and not helps:
        verdict = f"negative transfer at {', '.join(hurts)}; no significant difference elsewhere"
    elif helps and hurts:
        verdict = f"mixed: transfer helps at {', '.join(helps)}, hurts at {', '.join(hurts)}"
    else:
        verdict = "no significant difference"
    return verdict, f"paired t-test of transfer - scratch per budget (df={df}, two-sided 5%): {stats}"


def default_target(result: CompareResult) -> float:
    """95% of the best mean accuracy any arm reached."""
    best = max(b.summary(a)[0] for b in result.budgets for a in result.arms)
    return round(0.95 * best, 4)


def time_to_target(result: CompareResult, arm: str, target: float) -> dict[str, Any] | None:
    """The smallest budget at which ``arm``'s mean accuracy reaches ``target``: rows and training seconds."""
    for b in sorted(result.budgets, key=lambda b: b.n_rows):
        if b.summary(arm)[0] >= target:
            return {"budget": b.label, "rows": b.n_rows, "seconds": float(np.mean(b.seconds[arm]))}
    return None


def plot_learning_curves(result: CompareResult, path: str | Path, title: str = "") -> Path:
    """Accuracy vs training rows per arm (mean with its 95% CI), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from headstart.io import atomic_write_bytes

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    xs = [b.n_rows for b in result.budgets]
    for arm in result.arms:
        means = np.array([b.summary(arm)[0] for b in result.budgets])
        cis = np.array([b.summary(arm)[1] for b in result.budgets])
        cis = np.where(np.isfinite(cis), cis, 0.0)
        ax.plot(xs, means, marker="o", label=arm)
        ax.fill_between(xs, means - cis, means + cis, alpha=0.2)
    if result.target is not None:
        ax.axhline(result.target, color="grey", linestyle=":", linewidth=1, label=f"target {result.target:.3f}")
    ax.set_xscale("log")
    ax.set_xticks(xs, [f"{b.n_rows}\n{b.label}" for b in result.budgets])
    ax.minorticks_off()
    ax.set_xlabel("labelled training rows (log scale)")
    ax.set_ylabel(f"held-out {result.metric.replace('_', ' ')} ({result.n_test} rows)")
    import textwrap

    heading = title or f"scratch vs transfer: {result.backbone} ({result.strategy})\nverdict: {result.verdict}"
    ax.set_title("\n".join(textwrap.fill(line, 80) for line in heading.splitlines()), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path
