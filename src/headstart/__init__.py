"""headstart: transfer learning with evidence.

Take a pretrained model, make it good at your task, and show that transfer beat
training from scratch.

    >>> import headstart as hs
    >>> data = hs.load("reviews.csv")                  # text / images / table
    >>> train, test = data.train_test_split(0.2, seed=0)
    >>> clf = hs.TransferClassifier(backbone="auto").fit(train)
    >>> clf.evaluate(test)["accuracy"]
"""

from headstart.backbones import Backbone, list_embedded, list_sources, load_backbone
from headstart.classifier import TransferClassifier
from headstart.data import Dataset, from_arrays, load
from headstart.errors import HeadstartError
from headstart.features import extract, extract_features
from headstart.metrics import classification_metrics
from headstart.run import load_run
from headstart.strategies import list_strategies

__version__ = "0.1.0"

__all__ = [
    "Backbone",
    "Dataset",
    "HeadstartError",
    "TransferClassifier",
    "__version__",
    "classification_metrics",
    "extract",
    "extract_features",
    "from_arrays",
    "list_embedded",
    "list_sources",
    "list_strategies",
    "load",
    "load_backbone",
    "load_run",
]
