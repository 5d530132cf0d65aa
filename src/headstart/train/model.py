"""The model that is trained: a backbone and a classification head."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def has_data_statistics(backbone: nn.Module) -> bool:
    """Whether ``backbone``'s batch-norm running statistics were estimated on data, so
    fine-tuning keeps them: pretrained weights, but neither ``pretrained=False`` (the
    architecture's random initialisation) nor a ``scratch:`` network whose norms have
    seen no batch yet (``num_batches_tracked`` 0; one trained and saved by headstart has)."""
    if not getattr(backbone, "pretrained", True):
        return False
    if getattr(backbone, "source", "") != "scratch":
        return True
    norms = [m for m in backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    return any(m.num_batches_tracked is not None and int(m.num_batches_tracked) > 0 for m in norms)


class TransferModel(nn.Module):
    """``head(backbone.forward_features(x))``; the backbone runs without autograd
    when none of its parameters is trainable (the ``head`` strategy)."""

    def __init__(
        self, backbone: nn.Module, n_classes: int, dropout: float = 0.0, freeze_bn: bool | None = None
    ) -> None:
        super().__init__()
        self.freeze_bn = has_data_statistics(backbone) if freeze_bn is None else freeze_bn
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(backbone.feature_dim, n_classes)

    def train(self, mode: bool = True) -> TransferModel:
        """Batch-norm layers keep their pretrained statistics when ``freeze_bn``:
        small fine-tuning batches give noisy estimates that drift the network
        away from what its later layers expect (standard for small-data transfer).
        The default (``None``) freezes them only where they hold statistics of data
        (:func:`has_data_statistics`): a network trained from scratch normalises its batches."""
        super().train(mode)
        if mode and self.freeze_bn:
            for m in self.backbone.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def backbone_trainable(self) -> bool:
        return any(p.requires_grad for p in self.backbone.parameters())

    def features(self, batch: Any) -> torch.Tensor:
        """The backbone's ``(B, D)`` float features (without autograd when it is frozen)."""
        if self.backbone_trainable():
            return self.backbone.forward_features(batch).float()
        with torch.no_grad():
            return self.backbone.forward_features(batch).float()

    def forward(self, batch: Any) -> torch.Tensor:
        return self.head(self.dropout(self.features(batch)))


class WrappedModel(nn.Module):
    """A :class:`TransferModel` wrapped by a method that adds training-time outputs
    (a domain discriminator's, an adversary's). ``backbone`` and ``head`` are the
    wrapped model's, so strategies see it as they would the plain model; in
    evaluation mode it is the plain model. Subclasses give :meth:`extra`:
    what is concatenated after the class logits in training mode."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    @property
    def backbone(self) -> nn.Module:
        return self.model.backbone

    @property
    def head(self) -> nn.Module:
        return self.model.head

    def extra(self, features: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, batch: Any) -> torch.Tensor:
        features = self.model.features(batch)
        logits = self.model.head(self.model.dropout(features))
        if not self.training:
            return logits
        return torch.cat([logits, self.extra(features, logits).to(logits.dtype)], dim=1)
