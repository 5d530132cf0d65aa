"""``cross-attention``: cross-domain attention, target rows attending to source rows
(after the cross-domain attention of CDTrans, Xu et al., "CDTrans: Cross-domain
Transformer for Unsupervised Domain Adaptation", ICLR 2022, on pooled features).

Each target row's feature queries the batch's source features:

    a = softmax(q(f_t) k(f_s)^T / sqrt(d))        (B_t, B_s), rows sum to 1
    m_t = a f_s                                    the target row's source neighbourhood

and three terms use it:

- alignment: ``1 - cos(f_t, m_t)``: target features are pulled towards the
  source rows they attend to (the attention learns which those are);
- consistency: ``CE(logits_t, argmax v_t)`` over the target rows with a confident,
  agreeing pseudo-label. By default (``bank > 0``) each target row attends to the
  batch's source rows plus a memory of the last ``bank`` source rows
  (:class:`~headstart.adapt.base.SourceBank`: detached features and their *true*
  class codes), and ``v_t`` is the attention-weighted vote of those labels (a soft
  kNN over the source; ``vote="cosine"``: ``softmax(cos(f_t, f_s) / temperature)``,
  ``vote="attention"``: the learned ``q`` / ``k``). A row keeps its pseudo-label when
  ``max v_t >= threshold`` and (``agree``) the classifier predicts the same class
  (CDTrans's two-way filtering), and only from training progress ``start`` on.
  With ``bank=0``, ``v_t = a softmax(logits_s)``: the batch's source *predictions*
  (the first version; without the threshold it collapsed MNIST -> USPS to 0.21);
- adversarial: DANN's discriminator behind gradient reversal (``adversarial``
  weight; 0 turns it off), which aligns the domains as a whole.

    transfer = adversarial * BCE_domain + lambda_p * (align * alignment + consistency * consistency)

``lambda_p`` ramps as DANN's (:func:`~headstart.train.grl.dann_schedule`): the
source predictions are poor early on. The last batch's attention weights are kept
in ``weights_`` ``(B_t, B_s)``, the share of its target rows given a pseudo-label
in ``kept_``. The defaults (``align=0.1``, ``bank=2048``, cosine vote, ``agree``,
``start=0.125``) were chosen on USPS -> MNIST only (docs/BENCHMARKS.md).

Shapes: ``f_s`` ``(B_s, D)``, ``f_t`` ``(B_t, D)``, logits ``(B, K)`` -> scalar.

Example:
    >>> import torch
    >>> from headstart.adapt.cross_attention import CrossDomainAttention
    >>> loss = CrossDomainAttention(hidden=16, dim=8).build(feature_dim=8, n_classes=3)
    >>> loss.step += 50  # halfway through training (the terms ramp in from 0)
    >>> loss.total_steps = 100
    >>> f_s = torch.randn(6, 8, requires_grad=True)
    >>> loss(f_s, torch.randn(6, 8), torch.randn(6, 3), torch.randn(6, 3)).backward()
    >>> f_s.grad.abs().sum() > 0
    tensor(True)
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from headstart.adapt.base import DomainLoss, SourceBank, discriminator, domain_bce
from headstart.adapt.registry import METHODS
from headstart.errors import HeadstartError
from headstart.train.grl import GradientReversal, dann_schedule

VOTES = ("attention", "cosine")


def attended_labels(weights: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """``(B_t, K)``: each target row's attention-weighted vote of the attended rows'
    class codes (``weights`` ``(B_t, N)``, rows summing to 1; ``labels`` ``(N,)``): a soft kNN.

    >>> import torch
    >>> attended_labels(torch.tensor([[0.7, 0.2, 0.1]]), torch.tensor([2, 0, 2]), 3).tolist()
    [[0.20000000298023224, 0.0, 0.800000011920929]]
    """
    return weights @ F.one_hot(labels, n_classes).to(weights.dtype)


def pseudo_labels(
    vote: torch.Tensor, logits_t: torch.Tensor | None, threshold: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(label (B_t,), keep (B_t,) bool)``: the vote's class, kept where the vote
    reaches ``threshold`` and, given ``logits_t``, where the classifier's own target
    prediction is that class too (two-way filtering, after CDTrans).

    >>> import torch
    >>> vote = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.1, 0.9]])
    >>> label, keep = pseudo_labels(vote, torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]), 0.8)
    >>> label.tolist(), keep.tolist()
    ([0, 0, 1], [True, False, False])
    """
    confidence, label = vote.max(1)
    keep = confidence >= threshold
    if logits_t is not None:
        keep = keep & (logits_t.argmax(1) == label)
    return label, keep


@METHODS.register(order=60)
class CrossDomainAttention(DomainLoss):
    """Cross-domain attention: target features attend to source features (alignment + consistency + DANN)

    Args:
        weight: the transfer loss's weight.
        dim: the query / key width of the attention.
        align: weight of the alignment term (target towards its attended source rows).
        consistency: weight of the consistency term (target prediction vs its attended pseudo-label).
        threshold: how much the attended vote must agree for a target row's pseudo-label.
        adversarial: weight of DANN's domain-adversarial term (0: none).
        hidden: the discriminator's hidden width.
        bank: how many recent source rows (features and true labels, detached) the target rows
            attend to for their pseudo-labels (0: the batch's source rows and their predictions).
        vote: what ranks the bank's rows for the vote: ``attention`` (the learned query / key)
            or ``cosine`` (feature cosine similarity over ``temperature``).
        temperature: the cosine vote's softmax temperature.
        agree: keep a pseudo-label only where the classifier predicts the same class.
        start: training progress (0..1) before which the consistency term is off.
        lr: the attention's and discriminator's learning rate (default: the head's).

    >>> CrossDomainAttention(dim=16).build(feature_dim=8, n_classes=2).dim
    16
    """

    name: ClassVar[str] = "cross-attention"
    has_parameters: ClassVar[bool] = True
    uses_source_labels: ClassVar[bool] = True

    def __init__(
        self,
        weight: float = 1.0,
        dim: int = 64,
        align: float = 0.1,
        consistency: float = 1.0,
        adversarial: float = 1.0,
        hidden: int = 500,
        threshold: float = 0.8,
        bank: int = 2048,
        vote: str = "cosine",
        temperature: float = 0.05,
        agree: bool = True,
        start: float = 0.125,
        lr: float | None = None,
    ) -> None:
        super().__init__(weight, lr)
        self.threshold = float(threshold)
        if dim < 1 or hidden < 1 or min(align, consistency, adversarial) < 0:
            raise HeadstartError(
                f"cross-attention: dim and hidden must be >= 1 and the weights >= 0, got {dim}, {hidden}, "
                f"{align}, {consistency}, {adversarial}"
            )
        if bank < 0 or vote not in VOTES or temperature <= 0 or not 0 <= start <= 1:
            raise HeadstartError(
                f"cross-attention: bank must be >= 0, vote one of {', '.join(VOTES)}, temperature > 0 and "
                f"start in [0, 1], got {bank}, '{vote}', {temperature}, {start}"
            )
        self.dim, self.hidden = int(dim), int(hidden)
        self.align, self.consistency, self.adversarial = float(align), float(consistency), float(adversarial)
        self.bank_size, self.vote, self.temperature = int(bank), vote, float(temperature)
        self.agree, self.start = bool(agree), float(start)
        self.grl = GradientReversal(0.0)
        self.weights_: torch.Tensor | None = None
        self.kept_: float = 0.0  # the share of the last batch's target rows given a pseudo-label

    def build(self, feature_dim: int, n_classes: int) -> CrossDomainAttention:
        self.n_classes = n_classes
        self.norm = nn.LayerNorm(feature_dim)
        self.query = nn.Linear(feature_dim, self.dim)
        self.key = nn.Linear(feature_dim, self.dim)
        if self.adversarial > 0:
            self.discriminator = discriminator(feature_dim, self.hidden)
        if self.bank_size > 0:
            self.bank = SourceBank(self.bank_size, feature_dim)
        return self

    def attention(self, f_t: torch.Tensor, f_s: torch.Tensor) -> torch.Tensor:
        """``(B_t, B_s)`` weights: how much each target row attends to each source row."""
        q, k = self.query(self.norm(f_t)), self.key(self.norm(f_s))
        return torch.softmax(q @ k.T / self.dim**0.5, dim=1)

    @torch.no_grad()
    def bank_vote(self, f_t: torch.Tensor, f_s: torch.Tensor, y_s: torch.Tensor) -> torch.Tensor:
        """``(B_t, K)``: each target row's vote over the batch's and the bank's source rows
        (their true class codes), then the batch's source rows join the bank."""
        stored, codes = self.bank.rows()
        keys = torch.cat([f_s.detach().float(), stored.to(f_s.device)])
        labels = torch.cat([y_s, codes.to(y_s.device)])
        if self.vote == "attention":
            w = self.attention(f_t.detach().float(), keys)
        else:
            sim = F.normalize(f_t.detach().float(), dim=1) @ F.normalize(keys, dim=1).T
            w = torch.softmax(sim / self.temperature, dim=1)
        self.bank.push(f_s, y_s)
        return attended_labels(w, labels, self.n_classes)

    def forward(
        self,
        f_s: torch.Tensor,
        f_t: torch.Tensor,
        logits_s: torch.Tensor,
        logits_t: torch.Tensor,
        y_s: torch.Tensor | None = None,
    ) -> torch.Tensor:
        ramp = dann_schedule(self.progress)
        a = self.attention(f_t, f_s)
        self.weights_ = a.detach()
        mixed = a @ f_s
        loss = self.align * (1 - F.cosine_similarity(f_t, mixed, dim=1)).mean()
        if self.bank_size > 0 and y_s is not None:
            vote = self.bank_vote(f_t, f_s, y_s)
        else:
            vote = a.detach() @ torch.softmax(logits_s.detach().float(), dim=1)
        label, keep = pseudo_labels(vote, logits_t.detach() if self.agree else None, self.threshold)
        self.kept_ = float(keep.float().mean())
        if self.consistency > 0 and self.progress >= self.start and bool(keep.any()):
            ce = F.cross_entropy(logits_t.float()[keep], label[keep], reduction="sum") / len(f_t)
            loss = loss + self.consistency * ce
        loss = ramp * loss
        if self.adversarial > 0:
            self.grl.set_coeff(ramp)
            d = self.discriminator(self.grl(torch.cat([f_s, f_t])))
            loss = loss + self.adversarial * domain_bce(d[: len(f_s)], d[len(f_s) :])
        return loss

    def options(self) -> dict[str, Any]:
        return {
            **super().options(),
            "dim": self.dim,
            "align": self.align,
            "consistency": self.consistency,
            "adversarial": self.adversarial,
            "hidden": self.hidden,
            "threshold": self.threshold,
            "bank": self.bank_size,
            "vote": self.vote,
            "temperature": self.temperature,
            "agree": self.agree,
            "start": self.start,
        }

    def describe(self) -> str:
        adv = f" + DANN x{self.adversarial:g}" if self.adversarial > 0 else ""
        bank = f", pseudo-labels from a {self.bank_size}-row source bank ({self.vote} vote)" if self.bank_size else ""
        return (
            f"cross-domain attention: target rows attend to source rows (alignment x{self.align:g}, "
            f"consistency x{self.consistency:g}{bank}{adv})"
        )
