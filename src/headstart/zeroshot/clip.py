"""Zero-shot image classification with a CLIP-style image-text model (Radford
et al., "Learning Transferable Visual Models From Natural Language
Supervision", 2021), when the user has one (``hf:openai/clip-vit-base-patch32``
cached, or a local folder).

Labels become prompts (``"a photo of a {label}."``, several averaged); the
image goes to the label whose text embedding has the highest cosine with the
image embedding: ``argmax_k cos(g(x), mean_t h(template_t(label_k)))``.
Images ``(N,)``, image embeddings ``(N, D)``, label embeddings ``(K, D)``,
scores ``(N, K)`` (times the model's logit scale).

Example:
    >>> zs = CLIPZeroShot("hf:openai/clip-vit-base-patch32").fit(["cat", "dog"])   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from headstart.errors import HeadstartError
from headstart.zeroshot.conse import IMAGE_TEMPLATES
from headstart.zeroshot.registry import METHODS
from headstart.zeroshot.text import label_prompts, normalize


def load_clip(name: str) -> tuple[Any, Any, Any]:
    """(model, tokenizer, image processor) from a folder or a cached hub id (``hf:`` optional)."""
    import transformers

    from headstart.hub import resolve_hf

    folder = resolve_hf(name.removeprefix("hf:"))
    try:
        model = transformers.AutoModel.from_pretrained(folder)
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
        processor = transformers.AutoImageProcessor.from_pretrained(folder)
    except (OSError, ValueError) as e:
        raise HeadstartError(f"{name}: not a CLIP-style model folder ({str(e).splitlines()[0][:160]})") from None
    if not (hasattr(model, "get_image_features") and hasattr(model, "get_text_features")):
        raise HeadstartError(f"{name} is a {type(model).__name__}, not an image-text model like CLIP")
    return model.eval(), tokenizer, processor


def _tensor(out: Any) -> torch.Tensor:
    # transformers 5 returns a model output whose pooled embedding is the projection.
    return out if isinstance(out, torch.Tensor) else out.pooler_output


@METHODS.register(
    "clip",
    order=30,
    inputs="image",
    summary="CLIP {model}",
    example_options={"model": "hf:openai/clip-vit-base-patch32"},
)
class CLIPZeroShot:
    """Cosine between CLIP image and (prompt-averaged) label embeddings.

    >>> CLIPZeroShot("hf:openai/clip-vit-base-patch32").templates[1]  # loaded by fit
    'a photo of a {label}.'
    """

    def __init__(self, model: str, templates: Sequence[str] = IMAGE_TEMPLATES, batch_size: int = 32) -> None:
        self.model = model
        self.templates = tuple(templates)
        self.batch_size = batch_size

    def fit(self, labels: Sequence[Any], descriptions: Mapping[Any, str] | Sequence[str] | None = None) -> Any:
        self.model_, self.tokenizer_, self.processor_ = load_clip(self.model)
        prompts = label_prompts(list(labels), descriptions, self.templates)
        flat = [p for group in prompts for p in group]
        with torch.no_grad():
            tok = self.tokenizer_(flat, padding=True, truncation=True, return_tensors="pt")
            # Only what a CLIP text tower takes (a BERT-style tokenizer also returns token_type_ids).
            inputs = {k: tok[k] for k in ("input_ids", "attention_mask") if k in tok}
            emb = normalize(_tensor(self.model_.get_text_features(**inputs)).float().numpy())
        per = len(self.templates)
        self.label_embeddings_ = normalize(emb.reshape(len(labels), per, -1).mean(1))
        self.classes_ = np.asarray(list(labels))
        return self

    def image_embeddings(self, images: Sequence[Any]) -> np.ndarray:
        from headstart.backbones.vision import to_pil

        out = []
        with torch.no_grad():
            for start in range(0, len(images), self.batch_size):
                pil = [to_pil(x) for x in images[start : start + self.batch_size]]
                pixels = self.processor_(images=pil, return_tensors="pt")["pixel_values"]
                out.append(_tensor(self.model_.get_image_features(pixel_values=pixels)).float().numpy())
        return normalize(np.concatenate(out))

    def decision_function(self, images: Sequence[Any]) -> np.ndarray:
        scale = float(self.model_.logit_scale.detach().exp()) if hasattr(self.model_, "logit_scale") else 1.0
        return scale * self.image_embeddings(list(images)) @ self.label_embeddings_.T

    def predict(self, images: Sequence[Any]) -> np.ndarray:
        return self.classes_[self.decision_function(images).argmax(1)]
