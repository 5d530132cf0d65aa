"""Meta-learning: learn an initialisation (or a metric) from many small tasks so that a
few gradient steps on a new task's support set classify its queries.

Methods (:data:`METHODS`): ``maml`` (second order, Finn et al. 2017), ``fomaml`` (first
order), ``reptile`` (Nichol et al. 2018), ``anil`` (inner loop on the head only, Raghu et
al. 2020), ``protomaml`` (head initialised from prototypes, Triantafillou et al. 2020),
``protonet`` (Snell et al. 2017, the episodic baseline through the same command). Each is
one file; meta-training runs through the one loop (:func:`meta_train`), and
:func:`evaluate` adapts on each test episode's support set, step by step.
"""

from __future__ import annotations

from headstart.meta.base import MetaBatches, MetaMethod, MetaModel, evaluate, meta_train
from headstart.meta.registry import METHODS

__all__ = ["METHODS", "MetaBatches", "MetaMethod", "MetaModel", "evaluate", "meta_train"]
