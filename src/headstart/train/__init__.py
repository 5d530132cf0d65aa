"""The one training loop (HF Accelerate), its config, data and checkpoints."""

from headstart.train.config import TrainConfig
from headstart.train.loop import TrainResult, train
from headstart.train.model import TransferModel

__all__ = ["TrainConfig", "TrainResult", "TransferModel", "train"]
