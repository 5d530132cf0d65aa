"""Zero-shot text classification by label text: embed the input and each
label's prompts with one sentence encoder; the most similar label wins
(the embedding approach of Veeranna et al. 2016 and Yin et al. 2019).

Each label ``k`` is the mean of its prompts' normalised embeddings,
``e_k = norm(mean_t f(template_t(label_k)))`` (prompt ensembling, Radford et
al. 2021); a text ``x`` scores ``cos(f(x), e_k)``. Labels may be replaced by
user descriptions ("an advertisement asking you to call a number") in the
templates. Inputs ``(N,)`` texts, label embeddings ``(K, D)``, scores ``(N, K)``.

Example:
    >>> zs = LabelTextZeroShot("minilm").fit(["sport", "cooking"])     # doctest: +SKIP
    >>> zs.predict(["He scored twice in the final."])                   # doctest: +SKIP
    array(['sport'], dtype='<U7')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from headstart.zeroshot.registry import METHODS
from headstart.zeroshot.text import DEFAULT_TEMPLATES, backbone_of, embed_texts, label_prompts, prompt_embeddings


@METHODS.register("label-text", order=10, inputs="text", summary="label text on {backbone}")
class LabelTextZeroShot:
    """Cosine similarity between a text and each label's averaged prompts.

    >>> LabelTextZeroShot("minilm", templates=["This text is about {label}."]).templates
    ('This text is about {label}.',)
    """

    def __init__(
        self, backbone: Any = "minilm", templates: Sequence[str] = DEFAULT_TEMPLATES, cache: bool = True
    ) -> None:
        self.backbone = backbone
        self.templates = tuple(templates)
        self.cache = cache

    def fit(self, labels: Sequence[Any], descriptions: Mapping[Any, str] | Sequence[str] | None = None) -> Any:
        """Embed the labels' prompts (no training data: the "fit" is the label set)."""
        self.backbone_ = backbone_of(self.backbone)
        self.classes_ = np.asarray(list(labels))
        self.prompts_ = label_prompts(list(labels), descriptions, self.templates)
        self.label_embeddings_ = prompt_embeddings(self.backbone_, self.prompts_)
        return self

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        return embed_texts(self.backbone_, texts, cache=self.cache) @ self.label_embeddings_.T

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.classes_[self.decision_function(texts).argmax(1)]
