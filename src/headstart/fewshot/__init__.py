"""Few-shot learning: episodes, an evaluator with 95% CIs, methods on
embeddings (one file each), episodic training through the one loop, and
:class:`FewShotClassifier`.

Methods (:data:`METHODS`, ``list_methods()``): ``protonet``, ``protonet-cosine``,
``matching``, ``siamese``, ``nearest-neighbour``, ``logistic-regression``; each
file registers its own by a decorator, so a new method is one new file.
"""

from __future__ import annotations

from headstart.fewshot.classifier import FewShotClassifier
from headstart.fewshot.conv4 import Conv4
from headstart.fewshot.episodes import Episode, EpisodeResult, EpisodeSampler, evaluate_episodes
from headstart.fewshot.episodic import EmbeddingModel, EpisodeBatches, PrototypicalLoss, train_episodic
from headstart.fewshot.logreg import SupportLogReg
from headstart.fewshot.matching import MatchingNet
from headstart.fewshot.nearest import NearestNeighbour
from headstart.fewshot.protonet import ProtoNet
from headstart.fewshot.registry import METHODS, get_method, list_methods
from headstart.fewshot.siamese import Siamese

__all__ = [
    "METHODS",
    "Conv4",
    "EmbeddingModel",
    "Episode",
    "EpisodeBatches",
    "EpisodeResult",
    "EpisodeSampler",
    "FewShotClassifier",
    "MatchingNet",
    "NearestNeighbour",
    "PrototypicalLoss",
    "ProtoNet",
    "Siamese",
    "SupportLogReg",
    "evaluate_episodes",
    "get_method",
    "list_methods",
    "train_episodic",
]
