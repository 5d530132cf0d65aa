"""Zero-shot learning: new classes from their names, descriptions or attributes.

- :class:`LabelTextZeroShot`: text vs label prompts with one sentence encoder;
- :class:`ConSE`: images through an ImageNet head + text embeddings of class names;
- :class:`CLIPZeroShot`: a CLIP-style image-text model, when the user has one;
- :class:`ESZSL` and :class:`DAP`: from a class x attribute matrix;
- :func:`gzsl_scores`, :func:`calibrate`: generalized zero-shot evaluation with
  calibrated stacking (an evaluation of any attribute method, not a method).

The methods are registered by name in :data:`METHODS` (``label-text``,
``conse``, ``clip``, ``eszsl``, ``dap``; ``headstart zeroshot --method``), each
by a decorator in its own file.
"""

from __future__ import annotations

from headstart.zeroshot.attributes import attribute_matrix, read_attributes
from headstart.zeroshot.clip import CLIPZeroShot
from headstart.zeroshot.conse import ConSE, imagenet_class_names
from headstart.zeroshot.dap import DAP
from headstart.zeroshot.eszsl import ESZSL
from headstart.zeroshot.gzsl import GZSLResult, calibrate, gzsl_scores, seen_unseen_curve
from headstart.zeroshot.labeltext import LabelTextZeroShot
from headstart.zeroshot.registry import METHODS
from headstart.zeroshot.text import DEFAULT_TEMPLATES

__all__ = [
    "CLIPZeroShot",
    "ConSE",
    "DAP",
    "DEFAULT_TEMPLATES",
    "ESZSL",
    "GZSLResult",
    "METHODS",
    "LabelTextZeroShot",
    "attribute_matrix",
    "calibrate",
    "gzsl_scores",
    "imagenet_class_names",
    "read_attributes",
    "seen_unseen_curve",
]
