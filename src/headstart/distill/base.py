"""What every distillation method shares: the teacher-and-student model that the
one training loop trains, the strategy wrapper that adds a loss's own
parameters (FitNets' projection) to the optimiser, and the hard-label term.

Distillation goes through :func:`headstart.train.train` unchanged:

- the model is a :class:`DistillModel`: its forward returns the student's logits
  (what the loop scores and validates), and in training mode it also runs the
  frozen teacher on the same batch and keeps both sides' outputs for the loss;
- ``loss_fn`` is :attr:`DistillModel.objective` (a ``TargetsLoss``): the
  method's loss on the student's logits, the batch's Targets and the kept outputs;
- the strategy is the student's fine-tuning strategy wrapped by
  :class:`DistillStrategy` (same groups, same freezing, plus the loss's
  parameters at the head's learning rate).

Rows of an unlabelled transfer set carry the class code ``UNLABELLED`` (``-1``;
NaN for a regression or multi-label target: ``Targets.labelled`` is False for
them): the hard-label term skips them, the teacher's targets cover every row.

Regression and multi-label teachers (``task``): the student's outputs are one
standardised number (the teacher's head is standardised with the student's
training rows' mean and SD first: :func:`headstart.heads.standardise`) or one
logit per label, and the losses match them by MSE or by BCE on the teacher's
per-label probabilities (:func:`headstart.distill.logits.soft_loss`); the
hard term is MSE or BCE on the true targets (:func:`hard_loss`).

Several teachers (an ensemble, as Hinton et al. 2015 distilled one) act as one:
their logits are ``log`` of the mean of their class probabilities, so the
targets at ``T = 1`` are the ensemble's averaged prediction (a regression: the
mean output; multi-label: the logit of each label's mean probability). They
must share their input preprocessing; the features kept are the first teacher's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from headstart.strategies.with_module import WithModule
from headstart.train.targets import UNLABELLED as UNLABELLED  # re-exported: the code of transfer-set rows
from headstart.train.targets import Targets, TargetsLoss, as_targets


class Outputs(NamedTuple):
    """One side's outputs on a batch: logits ``(B, K)`` and pooled features ``(B, D)``."""

    logits: torch.Tensor
    features: torch.Tensor


TASKS = ("classification", "regression", "multilabel")


def hard_loss(logits: torch.Tensor, targets: Targets | torch.Tensor) -> torch.Tensor:
    """The loss on the true targets over the labelled rows of the batch (0 when there are none):
    cross-entropy of class codes; MSE of numbers ``(B,)`` (the standardised regression target, on the
    first output); BCE with logits of 0/1 label rows ``(B, L)``.

    ``targets``: the batch's :class:`Targets`, or its class codes ``(B,)``."""
    targets = as_targets(targets)
    labelled = targets.labelled
    if not bool(labelled.any()):
        return logits.sum() * 0.0
    y = targets.y[labelled]
    if not y.is_floating_point():
        return F.cross_entropy(logits[labelled], y)
    if y.ndim == 1:
        return F.mse_loss(logits[labelled][:, 0].float(), y)
    return F.binary_cross_entropy_with_logits(logits[labelled].float(), y)


class DistillLoss(nn.Module):
    """Base of the distillation losses: ``forward(student, teacher, targets) -> scalar``.

    ``student`` and ``teacher`` are :class:`Outputs`; ``targets`` the batch's
    :class:`Targets` (or its class codes), ``UNLABELLED`` for unlabelled rows:
    :func:`hard_loss` reads them. ``project`` maps the student's pooled
    features before they are kept (identity except for feature distillation).
    """

    name: ClassVar[str] = ""
    default_student: ClassVar[str | None] = None  # what --student means when not given
    task: str = "classification"  # the teacher's task: DistillModel sets it

    def setup(self, student_dim: int, teacher_dim: int) -> None:
        """Called once with the two feature sizes, before training."""

    def project(self, features: torch.Tensor) -> torch.Tensor:
        return features

    def forward(self, student: Outputs, teacher: Outputs, targets: Targets | torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


def ensemble_logits(logits: list[torch.Tensor], task: str = "classification") -> torch.Tensor:
    """Several teachers' logits ``(B, K)`` -> ``log`` of their mean class probabilities (one teacher: its own);
    a regression: the mean output; multi-label: the logit of each label's mean probability."""
    if len(logits) == 1:
        return logits[0]
    if task == "regression":
        return torch.stack(logits).mean(0)
    if task == "multilabel":
        return torch.logit(torch.stack([torch.sigmoid(z) for z in logits]).mean(0), eps=1e-7)
    log_probs = torch.stack([F.log_softmax(z, dim=1) for z in logits])
    return torch.logsumexp(log_probs, dim=0) - math.log(len(logits))


class DistillModel(nn.Module):
    """A student ``TransferModel`` trained against a frozen teacher (or several: see the module docstring).

    The teacher (``backbone`` + ``head``, or a list of them) is kept outside the
    module's parameters: it is never trained, checkpointed or handed to the
    optimiser; it follows the batch to its device on first use. ``backbone`` and ``head``
    are the student's, so strategies see the student as they would in ``fit``.
    A batch is either one input for both networks (same preprocessing) or a
    ``(student_input, teacher_input)`` pair (see :class:`PairRows`), where the
    teacher's input may be row indices into a :class:`TeacherTable`.
    """

    def __init__(
        self,
        student: nn.Module,
        teacher: nn.Module | list[nn.Module],
        loss: DistillLoss,
        task: str = "classification",
    ) -> None:
        super().__init__()
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        self.student = student
        self.loss = loss
        self.task = loss.task = task
        teachers = list(teacher) if isinstance(teacher, (list, tuple)) else [teacher]
        for t in teachers:
            t.eval().requires_grad_(False)
        object.__setattr__(self, "_teachers", teachers)  # not submodules: see the docstring
        self._kept: tuple[Outputs, Outputs] | None = None
        loss.setup(int(student.backbone.feature_dim), int(teachers[0].backbone.feature_dim))

    @property
    def backbone(self) -> nn.Module:
        return self.student.backbone

    @property
    def head(self) -> nn.Module:
        return self.student.head

    @property
    def teacher(self) -> nn.Module:
        """The (first) teacher."""
        return self._teachers[0]

    def train(self, mode: bool = True) -> DistillModel:
        super().train(mode)
        for t in self._teachers:
            t.eval()
        return self

    def forward(self, batch: Any) -> torch.Tensor:
        pair = isinstance(batch, tuple)
        s_batch, t_batch = batch if pair else (batch, batch)
        features = self.student.backbone.forward_features(s_batch).float()
        logits = self.student.head(self.student.dropout(features))
        if not self.training:
            self._kept = None
            return logits
        t_logits, t_features = [], []
        with torch.no_grad():
            for teacher in self._teachers:
                if next(teacher.parameters()).device != logits.device:
                    teacher.to(logits.device)
                t_features.append(teacher.backbone.forward_features(t_batch).float())
                t_logits.append(teacher.head(t_features[-1]))
        projected = self.loss.project(features)
        if projected is not features:
            # Keep the projection on the path to the output: DDP's unused-parameter
            # search walks back from what forward returns.
            logits = logits + 0.0 * projected.sum()
        self._kept = (Outputs(logits, projected), Outputs(ensemble_logits(t_logits, self.task), t_features[0]))
        return logits

    @property
    def objective(self) -> TargetsLoss:
        """The loop's ``loss_fn``: ``objective(logits, targets)``, the distillation
        loss of the last training forward against the batch's :class:`Targets`."""
        return TargetsLoss(self._objective)

    def _objective(self, logits: torch.Tensor, targets: Targets) -> torch.Tensor:
        if self._kept is None:
            raise RuntimeError("objective() needs a training-mode forward first")
        student, teacher = self._kept
        self._kept = None
        return self.loss(Outputs(logits, student.features), teacher, targets)


class PairRows(torch.utils.data.Dataset):
    """Training rows for a student and a teacher that preprocess differently:
    row ``i`` -> ((student input, teacher input), the student rows' Targets of row ``i``).

    The teacher sees its evaluation preprocessing (no augmentation); the student
    its training one.
    """

    def __init__(self, student_rows: Any, teacher_rows: Any) -> None:
        self.student_rows, self.teacher_rows = student_rows, teacher_rows
        self.modality = student_rows.modality
        self.lengths = student_rows.lengths
        self.codes = student_rows.codes

    def __len__(self) -> int:
        return len(self.student_rows)

    def __getitem__(self, i: int) -> tuple[Any, Targets]:
        s, targets = self.student_rows[i]
        t, _ = self.teacher_rows[i]
        return (s, t), targets

    def collate(self, rows: list[tuple[Any, Targets]]) -> tuple[Any, Targets]:
        s_batch, targets = self.student_rows.collate([(r[0][0], r[1]) for r in rows])
        t_batch, _ = self.teacher_rows.collate([(r[0][1], r[1]) for r in rows])
        return (s_batch, t_batch), targets


class TeacherTable(nn.Module):
    """A teacher backbone replaced by its pooled features, computed once: ``forward_features(row indices)``.

    With ``distill(cache_teacher=True)`` the teacher's input in each batch is
    the rows' indices into this table (see :class:`RowIndex`); the teacher's
    head still runs on the looked-up features. The table is a buffer, so it
    follows the teacher to its device.
    """

    def __init__(self, features: np.ndarray, spec: str) -> None:
        super().__init__()
        self.register_buffer("table", torch.as_tensor(np.asarray(features, dtype=np.float32)))
        self.feature_dim = int(self.table.shape[1])
        self.spec = spec

    def forward_features(self, rows: torch.Tensor) -> torch.Tensor:
        return self.table[rows]


class RowIndex(torch.utils.data.Dataset):
    """The teacher's side of :class:`PairRows` when its outputs are looked up: row
    ``i`` -> its row ``where[i]`` in the :class:`TeacherTable`; a batch of them is a ``LongTensor``."""

    def __init__(self, where: np.ndarray) -> None:
        self.where = np.asarray(where, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.where)

    def __getitem__(self, i: int) -> tuple[int, None]:
        return int(self.where[i]), None

    def collate(self, rows: list[tuple[int, Any]]) -> tuple[torch.Tensor, None]:
        return torch.tensor([r[0] for r in rows], dtype=torch.long), None


@dataclass
class DistillStrategy(WithModule):
    """The student's fine-tuning strategy, plus the loss's parameters (at the head's LR)."""

    group: ClassVar[str] = "distill"

    def module(self, model: Any) -> nn.Module:
        return model.loss

    def note(self) -> str:
        return "distilled from the teacher"
