"""``distill(teacher_run, data, student=...)``: a teacher run -> a fitted student classifier.

The student trains through :func:`headstart.train.train` (see
:mod:`headstart.distill.base` for how the teacher takes part); the result is a
``TransferClassifier`` like ``fit``'s, whose ``save`` writes a normal run
folder (``predict``, ``evaluate`` and ``export`` work on it), plus what the
distillation did in ``distilled_``.

The student does the teacher's task (:class:`TaskPlan`): classes, a regression
(the student trains on the target standardised with its training rows' mean and
SD, matches the teacher's standardised output by MSE and is saved in the
target's units, as ``fit`` saves one) or a multi-label target (the student
matches each label's sigmoid probability by BCE; its thresholds are tuned again
on the validation rows cut from the training rows, as ``fit`` tunes them). The
run folder records the task.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from headstart.data import Dataset, stratified_split
from headstart.data.targets import as_task
from headstart.distill.base import UNLABELLED, DistillModel, DistillStrategy, PairRows, RowIndex, TeacherTable
from headstart.distill.registry import make_method
from headstart.distill.students import count_parameters, make_student, same_inputs
from headstart.errors import HeadstartError
from headstart.heads import lp_ft_head, random_head, standardise
from headstart.train.targets import Targets

HEAD_INITS = ("probe", "teacher", "random")
LABELS_ALONE = {  # what method "none" trains on, per task
    "classification": "cross-entropy on the labels alone",
    "regression": "MSE on the standardised target alone",
    "multilabel": "BCE on the label sets alone",
}


@dataclass
class TaskPlan:
    """What a student of one task trains towards: its training and validation rows (indices into the
    labelled data) and their targets (class codes, the standardised numbers, or 0/1 label rows), the
    head's width, what picks the best epoch, and a regression target's mean and SD."""

    task: str
    width: int
    tr_idx: np.ndarray
    va_idx: np.ndarray | None
    y: np.ndarray  # every labelled row's target, in the form the loop trains on
    monitor: str = "accuracy"
    mean: float = 0.0
    std: float = 1.0

    def rows(self, idx: np.ndarray | None, extra: int = 0) -> Any:
        """The loop's targets of rows ``idx`` followed by ``extra`` unlabelled (transfer-set) rows."""
        if idx is None:
            return None
        y = self.y[idx]
        if extra:
            blank = np.full((extra, *y.shape[1:]), UNLABELLED if self.task == "classification" else np.nan)
            y = np.concatenate([y, blank.astype(y.dtype)])
        return y if self.task == "classification" else Targets.values(y)

    def hooks(self) -> dict[str, Any]:
        """The loop's validation hook, and its loss on the labels alone (method ``none``)."""
        from headstart.train import tasks

        if self.task == "regression":
            return {"val_fn": tasks.regression_validation, "loss_fn": tasks.regression_loss("mse")}
        if self.task == "multilabel":
            return {"val_fn": tasks.multilabel_validation, "loss_fn": tasks.multilabel_loss()}
        return {}


def task_plan(teacher: Any, data: Dataset, val_size: float, seed: int) -> TaskPlan:
    """The :class:`TaskPlan` of the teacher's task on ``data`` (already in that task's form): classes
    stratified into a validation split (when every class has 2 rows and there are 10), numbers and
    label sets split at random (``fit``'s split: :func:`headstart.fit_targets.validation_rows`)."""
    from headstart import fit_targets

    task = teacher.task_
    if task == "classification":
        codes = teacher._encode(data.labels, data.source)  # one clear line for a label the teacher lacks
        n_classes = len(teacher.classes_)
        present = np.bincount(codes, minlength=n_classes)
        present = present[present > 0]
        if val_size and present.min() >= 2 and len(data) >= 10:
            tr_idx, va_idx = stratified_split(data.labels, val_size, seed)
        else:
            tr_idx, va_idx = np.arange(len(data)), None
        return TaskPlan(task, n_classes, tr_idx, va_idx, codes)
    fit_targets.check_labels(data)
    tr_idx, va_idx = fit_targets.validation_rows(data, val_size, seed)
    if task == "regression":
        y = np.asarray(data.labels, dtype=np.float64)
        mean, std = float(y[tr_idx].mean()), float(y[tr_idx].std()) or 1.0
        return TaskPlan(task, 1, tr_idx, va_idx, ((y - mean) / std).astype(np.float32), "r2", mean, std)
    y = np.asarray(data.labels, dtype=np.float32)
    return TaskPlan(task, int(y.shape[1]), tr_idx, va_idx, y, "mean_ap")


def probe_head(
    plan: TaskPlan, backbone: Any, tr: Dataset, seed: int, val_size: float, **extract_options: Any
) -> nn.Linear:
    """LP-FT's head for the task on ``backbone``'s features of the training rows ``tr``: the linear probe
    (classes), ridge (the standardised target) or one binary probe per label, as ``fit`` starts from."""
    from headstart.features import extract
    from headstart.fit_targets import per_label_probe
    from headstart.heads import ridge_probe

    if plan.task == "classification":
        return lp_ft_head(backbone, tr, plan.y[plan.tr_idx], plan.width, extract_options=extract_options, seed=seed)
    feats = extract(backbone, tr, **extract_options).features
    if plan.task == "regression":
        return ridge_probe(feats, tr.labels)[0]  # on the standardised scale: the same mean and SD
    return per_label_probe(feats, tr.labels, None, None, {"seed": seed, "val_size": val_size})[0]


def finish_head(
    plan: TaskPlan, head: nn.Module, backbone: Any, va: Dataset | None, **extract_options: Any
) -> tuple[nn.Module, dict[str, Any]]:
    """The trained head as the run folder keeps it, and the task's ``targets``: a regression's in the
    target's units; multi-label thresholds tuned on the validation rows (cut from the training rows)."""
    from headstart.fit_targets import thresholds_on
    from headstart.heads import unstandardise

    if plan.task == "regression":
        return unstandardise(head, plan.mean, plan.std), {"mean": plan.mean, "std": plan.std, "loss": "mse"}
    if plan.task == "multilabel":
        from headstart.features import extract

        feats = None if va is None else extract(backbone, va, **extract_options).features
        cuts, how = thresholds_on(head, feats, None if va is None else va.labels, None, plan.width)
        return head, {"thresholds": cuts, "thresholds_from": how, "pos_weight": None}
    return head, {}


def teacher_tables(
    backbones: list[Any], data: Dataset, transfer: Dataset | None, max_length: int | None, **options: Any
) -> list[np.ndarray]:
    """Each teacher backbone's pooled features of every labelled row of ``data`` followed by the transfer set:
    what ``cache_teacher`` looks up. The rows do not depend on the seed's validation split, so with the
    feature cache on (``options`` go to :func:`headstart.features.extract`) every run on the same data
    reads the same files; calling this first fills them."""
    from headstart.features import extract

    rows = list(data.inputs) + (list(transfer.inputs) if transfer is not None else [])
    table_data = Dataset(rows, None, data.modality, source=f"{data.source} (+ transfer), for the teacher")
    return [extract(b, table_data, max_length=max_length, **options).features for b in backbones]


def distill(
    teacher: Any,
    data: Dataset,
    student: str | None = None,
    method: str = "logits",
    method_options: dict[str, Any] | None = None,
    transfer: Dataset | None = None,
    *,
    strategy: str = "full",
    strategy_options: dict[str, Any] | None = None,
    epochs: int = 3,
    lr: float = 5e-5,
    train_batch_size: int = 32,
    max_length: int | None = None,
    val_size: float = 0.1,
    patience: int = 0,
    precision: str = "auto",
    seed: int = 0,
    num_workers: int | None = None,
    run_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
    batch_size: int = 64,
    device: str | None = None,
    cache: bool = True,
    cache_dir: str | None = None,
    teacher_name: str | None = None,
    head_init: str = "probe",
    cache_teacher: bool = False,
) -> Any:
    """Train ``student`` on labelled ``data`` (+ an unlabelled ``transfer`` set) against ``teacher``.

    Args:
        teacher: a run folder (or a fitted TransferClassifier) to learn from,
            or a list of them: an ensemble, whose mean class probabilities are
            the targets (same classes and input preprocessing; the student is
            made from the first; not with ``method="features"``).
        data: labelled training rows; ``val_size`` of them pick the best epoch.
        student: ``layers:K``, ``layers:0,2,4``, ``self`` or a backbone spec
            (see :mod:`headstart.distill.students`); default: the method's
            (``self`` for ``method="self"``).
        method: ``logits``, ``features``, ``self``, or ``none`` (labels alone).
        method_options: the loss's options (``{"temperature": 2, "alpha": 0.7}``).
        transfer: extra inputs without labels, scored by the teacher only.
        strategy, strategy_options, epochs, lr, ...: the student's training
            (as in ``TransferClassifier``).
        teacher_name: what to record as the teacher when ``teacher`` is a classifier.
        head_init: where the student's head starts: ``"probe"`` (a linear probe
            on the student's own features of the labelled training rows, as
            ``fit``'s LP-FT; the default), ``"teacher"`` (a copy of the
            teacher's head; ``layers:K`` students only) or ``"random"``.
        cache_teacher: run each teacher's backbone once over ``data`` and the
            transfer set (through the feature cache when ``cache``, so runs
            with other seeds or students reuse it) and look its features up
            per batch, instead of running it on every batch of every epoch.
            Only where the teacher sees fixed inputs: text, or images the
            teacher preprocesses apart from the student's augmentation. The
            targets match the per-batch ones to float rounding (other padding).
    """
    from headstart.classifier import TransferClassifier, load_run
    from headstart.strategies import make_strategy
    from headstart.train import TrainConfig
    from headstart.train.data import Rows
    from headstart.train.job import build_job

    if head_init not in HEAD_INITS:
        raise HeadstartError(f"head_init must be one of {', '.join(HEAD_INITS)}, got '{head_init}'")
    loss = make_method(method, **(method_options or {}))
    base_strategy = make_strategy(strategy, **(strategy_options or {}))
    if base_strategy.uses_cached_features:
        raise HeadstartError(f"strategy '{strategy}' trains a head on cached features: a student needs fine-tuning")
    members = list(teacher) if isinstance(teacher, (list, tuple)) else [teacher]
    if not members:
        raise HeadstartError("distill needs a teacher: a run folder, or a list of them for an ensemble")
    named = all(isinstance(t, (str, Path)) for t in members)
    teacher_run = ", ".join(map(str, members)) if named else teacher_name
    teacher_clfs = [load_run(t) if isinstance(t, (str, Path)) else t for t in members]
    teacher_clf = teacher_clfs[0]
    task = teacher_clf.task_
    for other in teacher_clfs[1:]:
        if other.task_ != task:
            raise HeadstartError(f"ensemble teachers must share their task: {task} vs {other.task_}")
        if list(other.classes_) != list(teacher_clf.classes_):
            raise HeadstartError(
                f"ensemble teachers must share their classes: {list(teacher_clf.classes_)} vs {list(other.classes_)}"
            )
        if not same_inputs(teacher_clf.backbone_, other.backbone_):
            raise HeadstartError(
                f"ensemble teachers must take the same inputs: '{other.backbone_.spec}' preprocesses differently "
                f"from '{teacher_clf.backbone_.spec}'"
            )
    if len(teacher_clfs) > 1 and method == "features":
        raise HeadstartError("feature distillation matches one teacher's features: give a single teacher")
    spec = student or (loss.default_student if loss is not None else None)
    if spec is None:
        raise HeadstartError("choose a student: layers:K (the teacher's blocks), self, or a backbone spec")
    if teacher_clf.modality_ not in ("text", "image"):
        raise HeadstartError(f"the teacher is a {teacher_clf.modality_} model: distillation needs a text or image one")
    if task != "classification" and "temperature" in (method_options or {}):
        raise HeadstartError(
            f"temperature softens class probabilities; a {task} teacher's outputs are matched as they are "
            f"(MSE or BCE): leave out temperature"
        )
    names = [str(c) for c in teacher_clf.classes_] if task == "multilabel" else None
    data = as_task(data, task, names)  # the teacher's task; multi-label: its labels, in its order
    data.require_labels()
    if data.modality != teacher_clf.modality_:
        raise HeadstartError(f"the teacher takes {teacher_clf.modality_} inputs, {data.source} is {data.modality}")
    if transfer is not None:
        if loss is None:
            raise HeadstartError("a transfer set has no labels: only a distillation method (not 'none') can use it")
        if transfer.modality != data.modality:
            raise HeadstartError(f"transfer set {transfer.source} is {transfer.modality}, the data is {data.modality}")
    plan = task_plan(teacher_clf, data, val_size, seed)
    made = make_student(spec, teacher_clf, seed)
    if head_init == "teacher" and made.head is None:
        raise HeadstartError(f"head_init 'teacher' copies the teacher's head: only a layers:K student can (got {spec})")

    tr_idx, va_idx = plan.tr_idx, plan.va_idx
    tr, va = data.subset(tr_idx), None if va_idx is None else data.subset(va_idx)
    n_labelled = len(tr)
    extract_options = dict(batch_size=batch_size, device=device, cache=cache, cache_dir=cache_dir, progress=progress)
    head = None
    if head_init == "teacher":
        head = made.head if task != "regression" else standardise(made.head, plan.mean, plan.std)
    elif head_init == "probe":
        # LP-FT (Kumar et al. 2022): a head fitted to the student's own features. A copy
        # of the teacher's head scores another network's features: on SST-2 a 3-layer
        # MiniLM cut from its teacher scores 50% with it, 77-80% with a probe.
        head = probe_head(plan, made.backbone, tr, seed, val_size, **extract_options)
    n_transfer = len(transfer) if transfer is not None else 0
    if n_transfer:
        tr = Dataset(list(tr.inputs) + list(transfer.inputs), None, data.modality, source=f"{data.source} + transfer")
    tr_codes, va_codes = plan.rows(tr_idx, n_transfer), plan.rows(va_idx)
    config = TrainConfig(
        epochs=epochs,
        lr=lr,
        batch_size=train_batch_size,
        max_length=max_length,
        patience=patience,
        precision=precision,
        seed=seed,
        head_lr_factor=1.0 if head is not None else 10.0,
        num_workers=num_workers,
        monitor=plan.monitor,
    )
    start_head = head if head is not None else random_head(made.backbone.feature_dim, plan.width, seed)
    job = build_job(
        made.backbone, plan.width, tr, tr_codes, config, base_strategy, val_data=va, val_codes=va_codes, head=start_head
    )
    job.hooks.update(plan.hooks())  # the task's validation, and its loss on the labels alone
    model, train_rows = job.model, job.train_rows
    t_backbone = teacher_clf.backbone_
    shared_batch = same_inputs(made.backbone, t_backbone)
    if loss is not None:
        backbones = [t.backbone_ for t in teacher_clfs]
        if cache_teacher:
            if shared_batch and data.modality == "image" and config.augment:
                raise HeadstartError(
                    "cache_teacher: this teacher sees the student's augmented images, new on every batch; "
                    "it can only be run per batch"
                )
            tables = teacher_tables(backbones, data, transfer, max_length, **extract_options)
            backbones = [TeacherTable(f, f"{b.spec} (looked up)") for f, b in zip(tables, backbones, strict=True)]
            where = np.concatenate([tr_idx, len(data) + np.arange(len(tr) - len(tr_idx))])
            train_rows = PairRows(train_rows, RowIndex(where))
        elif not shared_batch:
            t_rows = Rows(tr, t_backbone, tr_codes, train=False, augment=False, max_length=max_length)
            train_rows = PairRows(train_rows, t_rows)
        heads = [t.head_ if task != "regression" else standardise(t.head_, plan.mean, plan.std) for t in teacher_clfs]
        ensemble = [nn.ModuleDict({"backbone": b, "head": h}) for b, h in zip(backbones, heads, strict=True)]
        net = DistillModel(model, ensemble, loss, task=task)
        job.wrap(net, DistillStrategy(base_strategy))
        job.hooks["loss_fn"] = net.objective
        job.train_rows = train_rows
    job.identity = {
        "task": task,
        "teacher": teacher_run or getattr(t_backbone, "spec", "?"),
        "student": spec,
        "method": f"{method} {method_options or {}}",
        "strategy": f"{strategy} {strategy_options or {}}",
        "head_init": head_init,
        "data": data.fingerprint(),
        "transfer": transfer.fingerprint() if transfer is not None else None,
    }
    if cache_teacher:
        job.identity["teacher_outputs"] = "looked up"
    result = job.run(run_dir, resume, progress)

    model.cpu().eval()
    backbone = model.backbone
    final_head, targets = finish_head(plan, model.head, backbone.eval(), va, **extract_options)
    info = {
        "task": task,
        "teacher": teacher_run,
        "teacher_backbone": getattr(t_backbone, "spec", None),
        "teachers": len(teacher_clfs),
        "teacher_parameters": sum(count_parameters(t.backbone_) + count_parameters(t.head_) for t in teacher_clfs),
        "student": spec,
        "student_kind": made.kind,
        "student_description": made.description,
        "student_layers": made.layers,
        "head_init": head_init,
        "cache_teacher": cache_teacher,
        "student_parameters": count_parameters(backbone) + count_parameters(model.head),
        "method": method,
        "loss": loss.describe() if loss is not None else LABELS_ALONE[task],
        "method_options": loss.options() if loss is not None else {},
        "shared_batch": shared_batch if loss is not None else None,
        "labelled_rows": n_labelled,
        "transfer_rows": n_transfer,
        "validation_rows": len(va) if va is not None else 0,
        "best_epoch": result.best_epoch,
        "train_seconds": result.seconds,
    }
    clf = TransferClassifier.from_trained(
        backbone,
        final_head,
        teacher_clf.classes_,
        data,
        history=result.history,
        best_epoch=result.best_epoch,
        seconds=result.seconds,
        columns=teacher_clf.columns_,
        extras={"distill": info},
        targets=targets,
        task=task,
        strategy=strategy,
        strategy_options=strategy_options,
        epochs=epochs,
        lr=lr,
        train_batch_size=train_batch_size,
        max_length=max_length,
        patience=patience,
        precision=precision,
        val_size=val_size,
        seed=seed,
        num_workers=num_workers,
        batch_size=batch_size,
        device=device,
        cache=cache,
        cache_dir=cache_dir,
        progress=progress,
    )
    return clf
