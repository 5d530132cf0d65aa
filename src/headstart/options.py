"""The options shared by the Python API and the command line, declared once.

Each :class:`Option` holds a name (the API's keyword, and the CLI's
``--flag``), its default, its help and its constraints, in scikit-learn's
parameter-constraint style: a list of constraints, a value being valid when it
satisfies any of them. A constraint is a type (``int``, ``str`` ...), ``None``
(the value may be ``None``), an :class:`Interval` or a :class:`StrOptions`.
The command line builds its Typer options from these declarations
(:meth:`Option.typer`), estimators take their defaults from them, and
:func:`validate_params` checks values against them with one clear line:

    >>> validate_params({"val_size": VAL_SIZE.constraints}, {"val_size": 0.25})
    >>> validate_params({"val_size": VAL_SIZE.constraints}, {"val_size": 0.7})
    Traceback (most recent call last):
    ...
    headstart.errors.HeadstartError: val_size must be a float in [0, 0.5], got 0.7
    >>> validate_params({"precision": PRECISION.constraints}, {"precision": "fp8"})
    Traceback (most recent call last):
    ...
    headstart.errors.HeadstartError: precision must be one of 'auto', 'no', 'bf16', 'fp16', got 'fp8'

(scikit-learn's own ``sklearn.utils._param_validation`` is private; this is a
small copy of its idea.)
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

from headstart.errors import HeadstartError


class Constraint:
    """A condition a value may satisfy; ``str(c)`` says it in words ("a float in [0, 0.5]")."""

    def is_satisfied_by(self, value: Any) -> bool:
        raise NotImplementedError


class Interval(Constraint):
    """A number of ``type`` (``Integral`` or ``Real``) between ``left`` and ``right`` (``None``: unbounded).

    ``closed``: ``"both"``, ``"left"``, ``"right"`` or ``"neither"``. Booleans are not numbers here.

        >>> Interval(Integral, 1, None, closed="left")
        Interval(an int >= 1)
    """

    def __init__(self, type: type, left: float | None, right: float | None, *, closed: str = "both") -> None:
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed must be both, left, right or neither, got {closed!r}")
        self.type, self.left, self.right, self.closed = type, left, right, closed

    @property
    def left_closed(self) -> bool:
        return self.closed in ("both", "left")

    @property
    def right_closed(self) -> bool:
        return self.closed in ("both", "right")

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, self.type):
            return False
        if self.left is not None and (value < self.left or (value == self.left and not self.left_closed)):
            return False
        if self.right is not None and (value > self.right or (value == self.right and not self.right_closed)):
            return False
        return True

    def __str__(self) -> str:
        what = "an int" if self.type is Integral else "a float"
        if self.left is not None and self.right is not None:
            lb, rb = "[" if self.left_closed else "(", "]" if self.right_closed else ")"
            return f"{what} in {lb}{self.left:g}, {self.right:g}{rb}"
        if self.left is not None:
            return f"{what} {'>=' if self.left_closed else '>'} {self.left:g}"
        if self.right is not None:
            return f"{what} {'<=' if self.right_closed else '<'} {self.right:g}"
        return what

    def __repr__(self) -> str:
        return f"Interval({self})"


class StrOptions(Constraint):
    """One of a few strings (listed in the order given)."""

    def __init__(self, options: Iterable[str]) -> None:
        self.options = tuple(options)

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.options

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)

    def __repr__(self) -> str:
        return f"StrOptions({list(self.options)})"


class _InstanceOf(Constraint):
    def __init__(self, type: type) -> None:
        self.type = type

    def is_satisfied_by(self, value: Any) -> bool:
        if self.type in (int, Integral, float, Real) and isinstance(value, bool):
            return False
        return isinstance(value, self.type)

    def __str__(self) -> str:
        names = {Integral: "an int", int: "an int", Real: "a float", float: "a float", bool: "a bool", str: "a str"}
        return names.get(self.type, f"a {self.type.__name__}")


class _IsNone(Constraint):
    def is_satisfied_by(self, value: Any) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


def make_constraint(c: Any) -> Constraint:
    """A :class:`Constraint` from a type, ``None`` or a constraint."""
    if isinstance(c, Constraint):
        return c
    if c is None:
        return _IsNone()
    if isinstance(c, type):
        return _InstanceOf(c)
    raise TypeError(f"not a constraint: {c!r}")


def validate_params(constraints: Mapping[str, Sequence[Any]], values: Mapping[str, Any]) -> None:
    """Check each value that has constraints; the first one that satisfies none is one line.

    An empty constraint list means any value."""
    for name, value in values.items():
        allowed = [make_constraint(c) for c in constraints.get(name, ())]
        if allowed and not any(c.is_satisfied_by(value) for c in allowed):
            words = [str(c) for c in allowed if not isinstance(c, _IsNone)]
            words += ["None"] * (len(words) < len(allowed))
            raise HeadstartError(f"{name} must be {' or '.join(words)}, got {value!r}")


@dataclass(frozen=True)
class Option:
    """One option: its keyword ``name``, ``default``, ``help`` and ``constraints``.

    ``flag`` is the command-line spelling (default ``--name-with-dashes``); a
    ``--no-...`` flag negates a boolean (``cache=True`` is ``--no-cache`` off),
    with ``flag_help`` its help.
    """

    name: str
    default: Any
    help: str
    constraints: tuple[Any, ...] = ()
    flag: str | None = None
    flag_help: str | None = None
    aliases: tuple[str, ...] = field(default=())

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def negated(self) -> bool:
        """Whether the flag turns the option off (``--no-cache``)."""
        return self.cli_flag.startswith("--no-") and isinstance(self.default, bool)

    @property
    def cli_default(self) -> Any:
        return (not self.default) if self.negated else self.default

    def validate(self, value: Any) -> None:
        validate_params({self.name: self.constraints}, {self.name: value})

    def typer(self, default: Any = ..., *, help: str | None = None, **kwargs: Any) -> Any:
        """The ``typer.Option`` of this declaration; a command may give its own ``default``,
        ``help`` and Typer settings (``min=2`` ...). Number intervals become ``min`` / ``max``."""
        import typer

        bounds: dict[str, Any] = {}
        interval = next((c for c in self.constraints if isinstance(c, Interval)), None)
        if interval is not None:
            if interval.left is not None:
                bounds.update(min=interval.left, min_open=not interval.left_closed)
            if interval.right is not None:
                bounds.update(max=interval.right, max_open=not interval.right_closed)
        bounds = {k: v for k, v in bounds.items() if not (k.endswith("_open") and v is False)}
        value = self.cli_default if default is ... else default
        text = help if help is not None else (self.flag_help if self.negated and self.flag_help else self.help)
        return typer.Option(value, self.cli_flag, *self.aliases, help=text, **{**bounds, **kwargs})


# ------------------------------------------------------------------ data columns
LABEL_COL = Option("label_col", None, "Label column (default: label/target/class/...).", (str, None))
TEXT_COL = Option("text_col", None, "Text input column.", (str, None))
IMAGE_COL = Option("image_col", None, "Image path column (relative to the table's folder).", (str, None))
FEATURE_COLS = Option("feature_cols", None, "Comma-separated numeric feature columns.", (str, list, tuple, None))
GROUP_COL = Option("group_col", None, "Group column (for per-group metrics).", (str, None))
DOMAIN_COL = Option("domain_col", None, "Domain column.", (str, None))
STRICT = Option("strict", False, "Fail on empty texts instead of skipping them.", (bool,))

# ----------------------------------------------------------- feature extraction
BATCH_SIZE = Option("batch_size", 64, "Feature-extraction batch size.", (Interval(Integral, 1, None, closed="left"),))
DEVICE = Option("device", None, "cpu, cuda, cuda:1 ... (default: cuda when available).")  # any: str or torch.device
CACHE = Option(
    "cache",
    True,
    "Read and write the feature cache.",
    (bool,),
    flag="--no-cache",
    flag_help="Do not read or write the feature cache.",
)
CACHE_DIR = Option(
    "cache_dir",
    None,
    "Feature cache folder (default $HEADSTART_CACHE or ~/.cache/headstart).",
    (str, os.PathLike, None),
)

# ---------------------------------------------------------- splits and sampling
TEST_SIZE = Option(
    "test_size",
    0.2,
    "Hold-out fraction when there is no --eval or val split.",
    (Interval(Real, 0.01, 0.9, closed="both"),),
)
SAMPLE = Option(
    "sample",
    None,
    "Train on a stratified sample of N training rows.",
    (Interval(Integral, 2, None, closed="left"), None),
)
SEED = Option(
    "seed", 0, "Seed for splits, sampling and initialisation.", (Interval(Integral, 0, 2**32 - 1, closed="both"),)
)
VAL_SIZE = Option(
    "val_size", 0.1, "Training rows held out to pick the best epoch.", (Interval(Real, 0.0, 0.5, closed="both"),)
)

# --------------------------------------------------------------------- training
# None: the default recipe chooses from the training rows (headstart.recipe); a command that
# trains something else gives its own default (adapt, distill).
EPOCHS = Option(
    "epochs", None, "Fine-tuning epochs (default: the recipe's).", (Interval(Integral, 1, None, closed="left"), None)
)
LR = Option(
    "lr",
    None,
    "Fine-tuning learning rate of the top backbone group (default: the recipe's).",
    (Interval(Real, 0.0, None, closed="left"), None),
)
TRAIN_BATCH_SIZE = Option(
    "train_batch_size",
    None,
    "Training batch size (default: the recipe's).",
    (Interval(Integral, 1, None, closed="left"), None),
)
MAX_LENGTH = Option(
    "max_length",
    None,
    "Token limit for text (default: the backbone's).",
    (Interval(Integral, 1, None, closed="left"), None),
)
PATIENCE = Option(
    "patience", 0, "Early stopping: epochs without a better val score.", (Interval(Integral, 0, None, closed="left"),)
)
PRECISION = Option(
    "precision", "auto", "auto (bf16 on a capable GPU), no, bf16, fp16.", (StrOptions(["auto", "no", "bf16", "fp16"]),)
)
NUM_WORKERS = Option(
    "num_workers",
    None,
    "Fine-tuning data-loading processes (default: up to 4 for images).",
    (Interval(Integral, 0, None, closed="left"), None),
)
TASK = Option(
    "task",
    "auto",
    "What the label column is: auto (detected), classification, regression (a number), multilabel (several labels).",
    (StrOptions(["auto", "classification", "regression", "multilabel"]),),
)
RESUME = Option("resume", False, "Continue the run in --out from its last checkpoint.", (bool,))
TTA = Option("tta", False, "Images: also score each mirror image and average (TTA).", (bool,))
BATCH_NORM = Option(
    "batch_norm",
    "auto",
    "Fine-tuning: batch-norm statistics: auto (kept where pretrained, estimated where random), "
    "freeze (kept), update (re-estimated on the training batches, e.g. a source of another domain).",
    (StrOptions(["auto", "freeze", "update"]),),
)

OPTIONS: dict[str, Option] = {
    o.name: o
    for o in (
        LABEL_COL,
        TEXT_COL,
        IMAGE_COL,
        FEATURE_COLS,
        GROUP_COL,
        DOMAIN_COL,
        STRICT,
        BATCH_SIZE,
        DEVICE,
        CACHE,
        CACHE_DIR,
        TEST_SIZE,
        SAMPLE,
        SEED,
        VAL_SIZE,
        EPOCHS,
        LR,
        TRAIN_BATCH_SIZE,
        MAX_LENGTH,
        PATIENCE,
        PRECISION,
        NUM_WORKERS,
        RESUME,
        TTA,
        TASK,
        BATCH_NORM,
    )
}


def parameter_constraints(function: Callable[..., Any]) -> dict[str, list[Any]]:
    """``{name: constraints}`` of the declared options among ``function``'s parameters
    (an estimator's ``_parameter_constraints``, from its ``__init__``)."""
    names = inspect.signature(function).parameters
    return {name: list(o.constraints) for name, o in OPTIONS.items() if name in names}
