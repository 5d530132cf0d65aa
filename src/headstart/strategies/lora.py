"""``lora``: low-rank adapters (Hu et al. 2021, "LoRA") on a transformer
backbone via PEFT. The pretrained weights stay frozen; rank-``r`` updates
``B @ A`` (scaled by ``alpha / r``) train in the attention projections, with the
new head. After training the adapters are merged into the weights, so the run
folder's backbone loads and predicts without PEFT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from headstart.errors import HeadstartError
from headstart.strategies.base import FineTune, _split_decay
from headstart.strategies.registry import STRATEGIES


@STRATEGIES.register(order=80)
@dataclass
class LoRA(FineTune):
    """Rank-``r`` adapters in the attention projections (PEFT), merged into the weights after training.

    >>> LoRA(r=4).alpha / LoRA(r=4).r  # the update's scale
    4.0
    """

    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    targets: tuple[str, ...] = ("query", "key", "value")

    name: ClassVar[str] = "lora"

    def check(self, model: Any) -> None:
        from transformers import PreTrainedModel

        inner = getattr(model.backbone, "model", None)
        if not isinstance(inner, PreTrainedModel) or model.backbone.modality != "text":
            raise HeadstartError(
                f"lora needs a transformer text backbone (minilm or hf:...); '{model.backbone.spec}' is not one"
            )
        names = {n.rsplit(".", 1)[-1] for n, _ in inner.named_modules()}
        if not set(self.targets) & names:
            raise HeadstartError(f"lora: none of the target modules {self.targets} exist in '{model.backbone.spec}'")

    def optimizer_groups(self, model: Any, lr: float, head_lr: float, weight_decay: float) -> list[dict[str, Any]]:
        from peft import LoraConfig, get_peft_model

        self.check(model)
        inner = model.backbone.model
        present = {n.rsplit(".", 1)[-1] for n, _ in inner.named_modules()}
        config = LoraConfig(
            r=self.r,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=[t for t in self.targets if t in present],
        )
        model.backbone.model = get_peft_model(inner, config)
        adapters = [p for n, p in model.backbone.model.named_parameters() if "lora_" in n]
        return _split_decay(adapters, lr, weight_decay, "lora") + _split_decay(
            list(model.head.parameters()), head_lr, weight_decay, "head"
        )

    def apply(self, model: Any, epoch: int) -> None:
        for n, p in model.backbone.named_parameters():
            p.requires_grad_("lora_" in n)
        for p in model.head.parameters():
            p.requires_grad_(True)

    def finalize(self, model: Any) -> None:
        model.backbone.model = model.backbone.model.merge_and_unload()

    def describe(self, n_groups: int) -> str:
        return f"lora: rank {self.r} adapters (alpha {self.alpha}) on {', '.join(self.targets)}, backbone frozen"
