"""How ``TransferClassifier.fit`` trains: the strategy it picks, the linear probe on
cached features, and the fine-tuning run (validation split, LP-FT head,
imbalance and debiasing hooks, one training job from
:func:`headstart.train.job.build_job`).

Each function takes plain values (the estimator's options in ``params``) and
fills a :class:`~headstart.runfolder.RunState`, which the classifier adopts.
In fine-tuning the order of what draws random numbers is fixed (the validation
split from ``seed``, the model from a forked RNG seeded with ``seed``, the
loop's own ``set_seed``), so a run is reproducible bit for bit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from headstart.data import Dataset, stratified_split
from headstart.errors import HeadstartError
from headstart.runfolder import RunState


def new_state(data: Dataset, classes: Any, counts: np.ndarray) -> RunState:
    """The :class:`RunState` of a model trained on ``data`` (its rows, columns, class counts and groups),
    to be filled by the training that follows."""
    return RunState(
        params={},
        backbone={},
        classes=list(classes),
        modality=data.modality,
        columns=dict(data.columns),
        n_features=0,
        n_train=len(data),
        class_counts=[int(n) for n in counts],
        groups=training_groups(data),
    )


def kept_probe(state: RunState) -> bool:
    """A check found that training did not beat the linear probe: the recipe's probe check after
    fine-tuning's first epoch, or the attentive probe's over its epochs."""
    extras = state.extras
    return bool(
        (extras.get("recipe") or {}).get("kept_probe") or (extras.get("attentive_probe") or {}).get("kept_probe")
    )


def probe_instead(state: RunState, data: Dataset, params: dict[str, Any]) -> tuple[RunState, Any]:
    """When a check kept the probe: a run state that keeps what ``state`` recorded of the check (its
    ``extras``) and nothing of the training it stopped, and the linear-probe strategy to fit."""
    fresh = new_state(data, state.classes, np.asarray(state.class_counts))
    fresh.extras = dict(state.extras)
    return fresh, choose_strategy({**params, "strategy": "linear-probe"}, data)


def probe_options(params: dict[str, Any]) -> dict[str, Any]:
    """The linear probe's options among the estimator's."""
    return {k: params[k] for k in ("C", "class_weight", "val_size", "seed")}


def choose_strategy(params: dict[str, Any], data: Dataset) -> Any:
    """The strategy object for ``params["strategy"]``: ``auto`` on a table (no backbone to
    fine-tune) is the probe, ``head`` trains the head through the loop (the columns as they are:
    a task's own loss, e.g. a multi-label ``loss=asymmetric``); another fine-tuning strategy there
    is one clear line."""
    from headstart.strategies import make_strategy

    name = params["strategy"]
    if name == "linear-probe":
        if learned_pooling(params["backbone"]):
            raise HeadstartError(
                f"backbone '{getattr(params['backbone'], 'spec', params['backbone'])}' pools with attention, "
                "which is learned with the head: use --strategy head (encoder frozen) or a fine-tuning "
                "strategy, not linear-probe"
            )
        return make_strategy("linear-probe", **probe_options(params))
    strategy = make_strategy(name, **(params["strategy_options"] or {}))  # unknown names fail here
    if data.modality == "tabular" and name != "head":
        if name == "auto":
            return make_strategy("linear-probe", **probe_options(params))
        raise HeadstartError(f"strategy '{name}' fine-tunes a backbone; tabular data has none")
    return strategy


def learned_pooling(backbone: Any) -> bool:
    """Whether ``backbone`` (a name or a Backbone) pools with parameters (``?pool=attention``)."""
    from headstart.backbones.registry import split_options
    from headstart.pooling import LEARNED

    if isinstance(backbone, str):
        return "?" in backbone and split_options(backbone)[1].get("pool") in LEARNED
    config = backbone.pretrained_config if hasattr(backbone, "pretrained_config") else {}
    return config.get("pooling") in LEARNED


def training_groups(data: Dataset) -> dict[str, list[str]] | None:
    """The training rows' groups by column: the audit refuses a group the model never saw."""
    if data.group is None:
        return None
    from headstart.data import group_labels

    labels, present = group_labels(data.group)
    return {data.columns.get("group", "group"): sorted(set(labels[present].tolist()))}


def fit_probe(
    state: Any,
    params: dict[str, Any],
    strategy: Any,
    method: Any,
    features: np.ndarray,
    codes: np.ndarray,
    names: list[str],
) -> nn.Linear:
    """The linear probe on cached ``features`` (with an imbalance method: the probe it trains);
    what it chose goes in ``state``. Returns the head."""
    if method is None:
        strategy.fit(features, codes, len(names))
    else:
        from headstart.imbalance import fit_probe as fit_imbalanced
        from headstart.imbalance import plan as imbalance_plan

        probe = probe_options(params)
        method, why = imbalance_plan.resolve_auto(method, features, codes, len(names), probe, names, False)
        strategy, note = fit_imbalanced(method, features, codes, len(names), probe)
        state.imbalance = imbalance_plan.record(method, params["imbalance"], note, why, names, state.class_counts)
    state.C, state.val_scores, state.n_features = strategy.C_, dict(strategy.val_scores_), int(features.shape[1])
    return strategy.head_


def fit_cached(
    state: RunState,
    backbone: Any,
    data: Dataset,
    codes: np.ndarray,
    names: list[str],
    params: dict[str, Any],
    strategy: Any,
    method: Any,
    features: Callable[[Any, Dataset, str], np.ndarray],
    timings: dict[str, Any],
) -> tuple[Any, nn.Linear]:
    """A head on frozen, cached features: the linear probe on pooled ones (:func:`fit_probe`), or
    the attentive probe on token features (:func:`fit_attentive`). Returns (the backbone, the head)."""
    if strategy.uses_tokens:
        return fit_attentive(state, backbone, data, codes, names, params, strategy, method, timings)
    feats = features(backbone, data, "fit")
    start = time.perf_counter()
    head = fit_probe(state, params, strategy, method, feats, codes, names)
    timings["head_seconds"] = time.perf_counter() - start
    return backbone, head


def fit_attentive(
    state: RunState,
    backbone: Any,
    data: Dataset,
    codes: np.ndarray,
    names: list[str],
    params: dict[str, Any],
    strategy: Any,
    method: Any,
    timings: dict[str, Any],
) -> tuple[Any, nn.Linear]:
    """The attentive probe on ``backbone``'s cached token features; the backbone it returns is
    ``backbone`` with the trained pool on top (:class:`~headstart.backbones.attentive.AttentiveBackbone`,
    saved in the run folder's ``backbone/``), the head its linear layer."""
    from headstart.backbones.attentive import AttentiveBackbone
    from headstart.features import EXTRACT_OPTIONS, extract_tokens

    if method is not None:
        raise HeadstartError(
            f"strategy 'attentive-probe' takes no imbalance method ('{params['imbalance']}'): "
            f"use --strategy linear-probe or a fine-tuning strategy with --imbalance"
        )
    if not backbone.has_tokens:
        raise HeadstartError(
            f"strategy 'attentive-probe' reads token or patch features; backbone '{backbone.spec}' has only "
            f"pooled ones: use a text encoder (minilm, hf:...), a timm model or efficientnet-lite0"
        )
    ext = extract_tokens(backbone, data, **{k: params[k] for k in EXTRACT_OPTIONS}, max_length=params["max_length"])
    timings["fit_features_seconds"], timings["fit_features_cached"] = ext.seconds, ext.cached
    strategy.fit(ext.tokens, ext.lengths, codes, len(names), progress=params["progress"])
    wrapped = AttentiveBackbone(backbone, strategy.pool_)
    state.history, state.best_epoch, state.n_features = strategy.history_, strategy.best_epoch_, wrapped.feature_dim
    state.fine_tuned = True  # the pool's weights are new: the run folder keeps backbone/ (backbone + pool)
    chosen = {**strategy.chosen_, "tokens": list(ext.tokens.shape)}
    if strategy.kept_start_:  # attention did not beat its start (mean pooling + the probe): the probe
        chosen["kept_probe"] = True
    state.extras = {**state.extras, "attentive_probe": chosen}
    timings["head_seconds"] = strategy.seconds_
    return wrapped, strategy.head_


def save_scored(
    clf: Any, source: str, train: Dataset, test: Dataset, how: str, sample: int | None, seed: int, run_dir: Path
) -> dict[str, Any]:
    """Score ``clf`` on the held-out rows beside the trivial baseline (the majority class, the
    training mean), write the run folder with those metrics and what the rows were; returns the metrics.
    ``headstart fit`` and ``headstart auto`` both end a fit here."""
    from headstart.metrics import majority_baseline, mean_baseline

    metrics = clf.evaluate(test)
    if clf.task_ == "classification":
        metrics["majority_baseline"] = majority_baseline(train.labels, test.labels)
    elif clf.task_ == "regression":
        metrics["mean_baseline"] = mean_baseline(train.labels, test.labels)
    metrics["evaluated_on"] = how
    summary = {
        "source": source,
        "train_rows": len(train),
        "eval_rows": len(test),
        "class_counts": {str(k): v for k, v in train.class_counts().items()},
        "sample": sample,
        "seed": seed,
        "evaluated_on": how,
    }
    clf.save(run_dir, metrics=metrics, data=summary)
    return metrics


def train_config(p: dict[str, Any], monitor: str) -> Any:
    """The loop's :class:`~headstart.train.TrainConfig` from the estimator's options ``p``; ``monitor``
    picks the best epoch."""
    from headstart.train import TrainConfig

    return TrainConfig(
        epochs=p["epochs"],
        lr=p["lr"],
        batch_size=p["train_batch_size"],
        max_length=p["max_length"],
        patience=p["patience"],
        precision=p["precision"],
        seed=p["seed"],
        # LP-FT: a head that starts from the probe's solution moves at the backbone's pace.
        head_lr_factor=1.0 if p["head_init"] == "probe" else 10.0,
        num_workers=p["num_workers"],
        monitor=monitor,
    )


def freeze_bn(p: dict[str, Any]) -> bool | None:
    """``build_job``'s ``freeze_bn`` from the estimator's ``batch_norm`` option (``None``: the model decides)."""
    return {"auto": None, "freeze": True, "update": False}[p.get("batch_norm", "auto")]


def with_batch_norm(identity: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    """``identity`` plus the ``batch_norm`` option where it is not the default (runs from before it resume)."""
    return identity if p.get("batch_norm", "auto") == "auto" else {**identity, "batch_norm": p["batch_norm"]}


def split_validation(
    data: Dataset, codes: np.ndarray, val_size: float, seed: int, n_classes: int
) -> tuple[Dataset, Dataset | None, np.ndarray, np.ndarray | None]:
    """(train, val, train codes, val codes): a stratified ``val_size`` of the training rows picks the
    best epoch, when every class has 2 rows and there are 10 in all; else no validation rows."""
    counts = np.bincount(codes, minlength=n_classes)
    if val_size and counts.min() >= 2 and len(data) >= 10:
        tr_idx, va_idx = stratified_split(data.labels, val_size, seed)  # = data.train_test_split
        return data.subset(tr_idx), data.subset(va_idx), codes[tr_idx], codes[va_idx]
    return data, None, codes, None


def fine_tune(
    state: RunState,
    backbone: Any,
    data: Dataset,
    codes: np.ndarray,
    names: list[str],
    params: dict[str, Any],
    strategy: Any,
    method: Any,
    mitigation: Any,
    features: Callable[[Any, Dataset, str], np.ndarray],
    run_dir: str | Path | None = None,
    resume: bool = False,
    probe_check: bool = False,
    refit: bool = False,
) -> tuple[Any, nn.Linear]:
    """Fine-tune ``backbone`` + a head on ``data`` (class ``codes``; ``names`` the class keys) with
    ``strategy``, an imbalance ``method`` and a debiasing ``mitigation`` (either may be ``None``).
    Returns (the backbone, the head); the history and what the methods did go in ``state``.

    ``params`` are ``TransferClassifier``'s options; ``features(backbone, rows, stage)`` extracts
    (cached) features, for the LP-FT head and the methods that work on them. ``probe_check``: the
    starting model (the probe's head) must be beaten by one validation row at the first epoch, else
    training stops and ``state.extras["recipe"]["kept_probe"]`` says so (:mod:`headstart.recipe`).
    ``refit`` (with ``probe_check``): once fine-tuning has paid, train again from the pretrained weights
    on every training row for the best epoch's count (:func:`_refit`; the run folder's ``refit/``)."""
    from headstart.imbalance import plan as imbalance_plan
    from headstart.recipe import margin, note
    from headstart.train.job import build_job

    p = params
    seed, n_classes = p["seed"], len(names)
    # Imbalanced classes: the best epoch is the one with the best balanced accuracy.
    config = train_config(p, "accuracy" if method is None else "balanced_accuracy")
    tr, va, tr_codes, va_codes = split_validation(data, codes, p["val_size"], seed, n_classes)
    tr_counts = np.bincount(tr_codes, minlength=n_classes)
    if probe_check and va is not None and p["head_init"] == "probe":
        config.start_margin = margin(len(va))
    lp_ft = p["head_init"] == "probe" and not resume
    tr_features = features(backbone, tr, "probe") if lp_ft else None
    probe = probe_options(p)
    init_method, why = method, None
    if method is not None:
        taken = mitigation is not None  # debiasing samples the batches by group
        method, why = imbalance_plan.resolve_auto(method, tr_features, tr_codes, n_classes, probe, names, True, taken)
        rows = method.resample_rows(tr_codes, seed)  # random over- / under-sampling
        if rows is not None:
            tr, tr_codes = tr.subset(rows), tr_codes[rows]
            tr_features = tr_features[rows] if tr_features is not None else None
        # The LP-FT head is trained like the fine-tuning run: resampled rows are
        # its training rows already, two-stage's first stage samples naturally,
        # and a post-hoc change waits for the end of fine-tuning.
        init_method = None if (rows is not None or method.two_stage) else method
    head = None
    if lp_ft:
        # LP-FT (Kumar et al. 2022): start from the linear probe's head, so the
        # backbone is not first pushed around by a random head's gradients.
        head = lp_ft_head(tr_features, tr_codes, n_classes, init_method, p)
    targets: Any = tr_codes
    group_codes, group_names, column = None, [], data.columns.get("group", "group")
    if mitigation is not None:
        # Debiasing: each training row's Targets carry its group code (headstart.train.targets).
        from headstart.fairness.base import encode_groups, with_groups

        group_codes, group_names = encode_groups(tr.group, tr.source, column)
        targets = with_groups(tr_codes, group_codes)
    identity = {
        "backbone": backbone.spec,
        "strategy": f"{p['strategy']} {p['strategy_options'] or {}}",
        "data": data.fingerprint(),
        "pretrained": p["pretrained"],
    }
    job = build_job(
        backbone,
        n_classes,
        tr,
        targets,
        config,
        strategy,
        val_data=va,
        val_codes=va_codes,
        identity=with_batch_norm(identity, p),
        head=head,
        freeze_bn=freeze_bn(p),
    )
    job.notes += note(state.extras.get("recipe"))
    if method is not None:
        job.identity["imbalance"] = f"{p['imbalance']} {p['imbalance_options'] or {}}"
        job.hooks = {"loss_fn": method.loss(tr_counts), "batch_sampler": method.batch_sampler(tr_counts)}
        if method.needs_validation and va is None:
            raise HeadstartError(
                f"imbalance '{method.name}' tunes on validation rows cut from the training rows: "
                f"set val_size > 0 (--val-size) with at least 2 rows of every class"
            )
    if mitigation is not None:
        _add_debias(job, mitigation, p, method, tr_codes, group_codes, n_classes, len(group_names))
    # The pretrained weights, for a refit on every row once fine-tuning has paid.
    pretrained = {k: v.detach().clone() for k, v in backbone.state_dict().items()} if refit else None
    result = job.run(run_dir, resume, p["progress"])
    if pretrained is not None and result.start is not None and not result.kept_start and result.best_epoch >= 1:
        first = result
        job, result = _refit(job, pretrained, first.best_epoch, data, codes, n_classes, features, p, run_dir, resume)
        refitted = {"rows": len(data), "epochs": first.best_epoch, "history": result.history}
        state.extras["recipe"] = {**state.extras.get("recipe", {}), "refitted": refitted}
        result.start, result.history, result.best_epoch = first.start, first.history, first.best_epoch
        result.seconds += first.seconds
    # Back to the CPU: the head scores features that extract() returns as
    # numpy arrays, and extract() moves the backbone to its device itself.
    model = job.model.cpu().eval()
    backbone, head = model.backbone.eval().requires_grad_(False), model.head.requires_grad_(False)
    state.history, state.best_epoch, state.n_features = result.history, result.best_epoch, int(backbone.feature_dim)
    if result.start is not None:
        check = {
            "start": result.start,
            "margin": config.start_margin,
            "kept_probe": result.kept_start,
            "epochs_run": result.history,
        }
        state.extras["recipe"] = {**state.extras.get("recipe", {}), **check}
    # A learned pooling (attention) trains with the head: the backbone changed even when frozen.
    changed = strategy.name != "head" or learned_pooling(backbone)
    state.fine_tuned, state.timings = changed, {"train_seconds": result.seconds}
    if method is not None:
        two_stage = {"C": p["C"], "val_size": p["val_size"], "seed": seed}

        def tuned(rows: Dataset, stage: str) -> np.ndarray:
            return features(backbone, rows, stage)

        head, state.C, note = imbalance_plan.finish(
            method, head, tuned, data, codes, va, va_codes, tr_counts, n_classes, two_stage
        )
        state.imbalance = imbalance_plan.record(
            method, p["imbalance"], note, why, names, np.asarray(state.class_counts)
        )
    if mitigation is not None:
        from headstart.fairness.plan import record

        state.fairness = record(mitigation, column, group_names, group_codes)
    return backbone, head


def lp_ft_head(features: np.ndarray, codes: np.ndarray, n_classes: int, method: Any, p: dict[str, Any]) -> nn.Linear:
    """The linear probe's head on ``features`` (the estimator's ``C``, class weights and seed; an
    imbalance ``method`` or ``None``): where LP-FT's fine-tuning starts."""
    from headstart.heads import fit_linear_probe

    probe = probe_options(p)
    options = {k: probe[k] for k in ("C", "class_weight", "seed")}
    return fit_linear_probe(features, codes, n_classes, method, **options).head_


def _refit(
    job: Any,
    pretrained: dict[str, Any],
    epochs: int,
    data: Dataset,
    codes: np.ndarray,
    n_classes: int,
    features: Callable[[Any, Dataset, str], np.ndarray],
    p: dict[str, Any],
    run_dir: str | Path | None,
    resume: bool,
) -> tuple[Any, Any]:
    """The fine-tune of ``job`` again, on every training row (``data``: the validation rows too) from the
    ``pretrained`` backbone weights and a probe head fitted on every row, for ``epochs`` (the best
    epoch's count; the schedule over those); no validation rows, so its last epoch is the model. Returns
    (the new job, its result); checkpoints in ``run_dir/refit`` (resumable)."""
    from dataclasses import replace

    from headstart.train.job import build_job

    backbone = job.model.backbone
    backbone.load_state_dict(pretrained)
    head = lp_ft_head(features(backbone, data, "probe"), codes, n_classes, None, p)
    config = replace(job.config, epochs=epochs, start_margin=None)
    refit = build_job(
        backbone,
        n_classes,
        data,
        codes,
        config,
        job.strategy,
        identity={**job.identity, "refit": f"{len(data)} rows, {epochs} epochs"},
        head=head,
        freeze_bn=freeze_bn(p),
    )
    refit.notes = [f"[bold]refit[/bold] on all {len(data)} training rows for {epochs} epochs (the best epoch's count)"]
    folder = None if run_dir is None else Path(run_dir) / "refit"
    return refit, refit.run(folder, resume, p["progress"])


def _add_debias(
    job: Any,
    mitigation: Any,
    p: dict[str, Any],
    method: Any,
    codes: np.ndarray,
    groups: Any,
    n_classes: int,
    n_groups: int,
) -> None:
    """The debiasing method's loss, batch sampler and wrapped model on ``job``."""
    job.identity["debias"] = f"{p['debias']} {p['debias_options'] or {}}"
    if job.hooks.get("batch_sampler") is not None:  # it reads plain class codes
        raise HeadstartError(
            f"imbalance '{method.name}' chooses the training batches by class: it cannot run with "
            f"debias '{mitigation.name}'; use one of them (or a loss-based imbalance method)"
        )
    sampler = mitigation.batch_sampler(codes, groups)
    job.hooks["loss_fn"] = mitigation.loss(job.hooks.get("loss_fn"), n_classes, n_groups)
    if sampler is not None:
        job.hooks["batch_sampler"] = sampler
    job.wrap(*mitigation.wrap(job.model, job.strategy, n_classes, n_groups))
