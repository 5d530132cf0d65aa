"""ConSE: zero-shot image classification by a convex combination of semantic
embeddings (Norouzi et al., "Zero-Shot Learning by Convex Combination of
Semantic Embeddings", ICLR 2014), for an image backbone without a text tower.

The backbone's source head (ImageNet-1k for ``efficientnet-lite0``) gives
``p(y | x)`` over the 1,000 source classes; the top ``T`` of them weight the
text embeddings ``s(y)`` of their class names:

    f(x) = 1/Z * sum_{t=1..T} p(y_t | x) s(y_t),    Z = sum_t p(y_t | x)

and the image goes to the target label whose text embedding is most similar
to ``f(x)`` (cosine). Source names come from timm's ImageNet synset lemmas
(the first lemma of each class: "ant", "bee" ...), shipped with timm: no
download. Images ``(N,)``, source probabilities ``(N, 1000)``, ``f(x)``
``(N, D_text)``, scores ``(N, K)``.

Example:
    >>> zs = ConSE("efficientnet-lite0", "minilm").fit(["ants", "bees"])   # doctest: +SKIP
    >>> zs.predict(["ant.jpg"])                                           # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from headstart.errors import HeadstartError
from headstart.zeroshot.registry import METHODS
from headstart.zeroshot.text import backbone_of, label_prompts, normalize, prompt_embeddings

IMAGE_TEMPLATES: tuple[str, ...] = ("{label}", "a photo of a {label}.", "a photo of {label}.")


def imagenet_class_names() -> list[str]:
    """The 1,000 ImageNet-1k class names in logit order (the first lemma of each synset), from timm."""
    from timm.data import ImageNetInfo

    return [d.split(",")[0].strip() for d in ImageNetInfo("imagenet-1k").label_descriptions()]


@METHODS.register(
    "conse", order=20, inputs="image", summary="ConSE: {image_backbone} ImageNet head + {text_backbone} text"
)
class ConSE:
    """Top-``top_t`` source-class probabilities weight the source names' text embeddings.

    >>> ConSE("efficientnet-lite0", "minilm", top_t=5).top_t  # source classes combined per image
    5
    """

    def __init__(
        self,
        image_backbone: Any = "efficientnet-lite0",
        text_backbone: Any = "minilm",
        top_t: int = 10,
        templates: Sequence[str] = IMAGE_TEMPLATES,
        source_names: Sequence[str] | None = None,
        cache: bool = True,
    ) -> None:
        self.image_backbone = image_backbone
        self.text_backbone = text_backbone
        self.top_t = top_t
        self.templates = tuple(templates)
        self.source_names = source_names
        self.cache = cache

    def fit(self, labels: Sequence[Any], descriptions: Mapping[Any, str] | Sequence[str] | None = None) -> ConSE:
        self.image_ = backbone_of(self.image_backbone)
        self.text_ = backbone_of(self.text_backbone)
        if not self.image_.has_source_logits:
            raise HeadstartError(
                f"ConSE needs an image backbone with its source classifier (e.g. efficientnet-lite0); "
                f"'{getattr(self.image_, 'spec', self.image_)}' has none"
            )
        names = list(self.source_names) if self.source_names is not None else imagenet_class_names()
        # 1,000 names x the templates: worth the features cache.
        source_prompts = label_prompts(names, None, self.templates)
        self.source_embeddings_ = prompt_embeddings(self.text_, source_prompts, cache=self.cache)
        if self.source_embeddings_.shape[0] != self.image_._source_head[0].shape[0]:
            raise HeadstartError(
                f"{len(names)} source class names for a head of {self.image_._source_head[0].shape[0]} classes"
            )
        self.classes_ = np.asarray(list(labels))
        self.label_embeddings_ = prompt_embeddings(
            self.text_, label_prompts(list(labels), descriptions, self.templates)
        )
        return self

    def source_probabilities(self, images: Any) -> np.ndarray:
        """``p(y | x)`` over the source classes, ``(N, C_source)``."""
        from headstart.data import from_arrays
        from headstart.features import extract

        data = images if hasattr(images, "modality") else from_arrays(list(images), modality="image")
        feats = extract(self.image_, data, cache=self.cache, progress=False).features
        with torch.no_grad():
            logits = self.image_.source_logits(torch.from_numpy(feats))
        return torch.softmax(logits.float(), dim=1).numpy()

    def semantic_embeddings(self, images: Any) -> np.ndarray:
        """``f(x)``: the convex combination of the top-T source names' embeddings, ``(N, D)``."""
        p = self.source_probabilities(images)
        t = min(self.top_t, p.shape[1])
        top = np.argpartition(-p, t - 1, axis=1)[:, :t]
        w = np.take_along_axis(p, top, axis=1)
        w = w / w.sum(1, keepdims=True)
        return normalize(np.einsum("nt,ntd->nd", w, self.source_embeddings_[top]))

    def decision_function(self, images: Any) -> np.ndarray:
        return self.semantic_embeddings(images) @ self.label_embeddings_.T

    def predict(self, images: Any) -> np.ndarray:
        return self.classes_[self.decision_function(images).argmax(1)]
