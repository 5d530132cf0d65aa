"""Knowledge distillation: a fitted teacher run -> a student run, through the one training loop.

One loss per file (the CLI's ``--method`` choices are these keys):

- ``logits``: Hinton et al. 2015, softened logits with temperature and the ``T^2`` factor;
- ``features``: FitNets (Romero et al. 2015), a learned projection of the
  student's features onto the teacher's, plus the logit term;
- ``self``: born-again networks (Furlanello et al. 2018), a student of the
  teacher's own architecture;
- ``none``: the same student trained on the labels alone (the baseline).

    >>> import headstart as hs
    >>> from headstart.distill import distill
    >>> student = distill("runs/teacher", hs.load("train.tsv"), student="layers:3")
    >>> student.save("runs/student")
"""

from __future__ import annotations

from headstart.distill.base import DistillLoss, DistillModel, DistillStrategy, Outputs, PairRows
from headstart.distill.features import FeatureKD
from headstart.distill.logits import LogitKD, soft_kl, soft_loss
from headstart.distill.registry import BASELINE, METHODS, list_methods, make_method
from headstart.distill.run import distill
from headstart.distill.self_distill import SelfDistill
from headstart.distill.students import Student, make_student

__all__ = [
    "BASELINE",
    "METHODS",
    "DistillLoss",
    "DistillModel",
    "DistillStrategy",
    "FeatureKD",
    "LogitKD",
    "Outputs",
    "PairRows",
    "SelfDistill",
    "Student",
    "distill",
    "list_methods",
    "make_method",
    "make_student",
    "soft_kl",
    "soft_loss",
]
