"""headstart.options: the options shared by the Python API and the command line, declared once.

The command line's defaults must be the API's: a test parses every command's
Typer parameters and compares each shared option's default with the default of
the API function the command hands it to, so the two cannot drift apart again.
"""

from __future__ import annotations

import inspect
from numbers import Integral, Real

import numpy as np
import pytest
import typer.main
from conftest import assert_one_error_line, cli

from headstart import options as o
from headstart.cli import app
from headstart.errors import HeadstartError
from headstart.options import OPTIONS, Interval, StrOptions, validate_params


def command_defaults() -> dict[str, dict[str, object]]:
    """``{command: {option name: CLI default}}`` for the declared options (``--no-cache`` as ``cache``)."""
    out: dict[str, dict[str, object]] = {}
    for name, command in typer.main.get_command(app).commands.items():
        found = {}
        for p in command.params:
            key = p.name.removeprefix("no_") if p.name.startswith("no_") else p.name
            if key in OPTIONS:
                option = OPTIONS[key]
                found[key] = (not p.default) if option.negated and p.name.startswith("no_") else p.default
        out[name] = found
    return out


def api_defaults(function) -> dict[str, object]:
    return {
        k: p.default
        for k, p in inspect.signature(function).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def api_functions() -> dict[str, list[tuple[object, dict[str, str]]]]:
    """What each command hands its options to: (function, {CLI name: API name} where they differ)."""
    from headstart.adapt.run import adapt
    from headstart.classifier import TransferClassifier
    from headstart.data import Dataset, from_dataframe
    from headstart.distill.run import distill
    from headstart.features import extract
    from headstart.fewshot import FewShotClassifier
    from headstart.meta.base import meta_train
    from headstart.multitask import fit_multi
    from headstart.pretrain import pretrain
    from headstart.select.compare import compare
    from headstart.select.rank import rank
    from headstart.select.shift import shift_between

    data = [(from_dataframe, {}), (Dataset.train_test_split, {}), (Dataset.sample, {})]
    features = [(extract, {})]
    return {
        "fit": [(TransferClassifier, {}), *data, *features],
        "distill": [(distill, {}), *data, *features],
        "adapt": [(adapt, {"train_batch_size": "batch_size"}), *data],
        "compare": [(TransferClassifier, {}), (compare, {}), *data, *features],
        "rank": [(rank, {}), *data, *features],
        "shift": [(shift_between, {}), *data, *features],
        "fewshot": [(FewShotClassifier, {}), *data, *features],
        "fewshot-eval": [*data, *features],
        "meta-train": [(meta_train, {}), *data],
        "fit-multi": [(fit_multi, {}), *data],
        "pretrain": [(pretrain, {})],
        "zeroshot": [*data, *features],
    }


# A command whose own default differs from the declaration and the API's on purpose.
COMMAND_DEFAULTS = {
    ("compare", "test_size"): 0.3,  # compare holds out more rows: every arm is scored on them
}


def test_every_declared_option_has_a_valid_default_and_help():
    for name, option in OPTIONS.items():
        assert option.name == name and option.help
        option.validate(option.default)
        assert option.cli_flag.startswith("--")


def test_command_line_defaults_are_the_api_defaults():
    defaults = command_defaults()
    functions = api_functions()
    checked = 0
    for command, found in defaults.items():
        for name, cli_default in found.items():
            if (command, name) in COMMAND_DEFAULTS:
                assert cli_default == COMMAND_DEFAULTS[command, name]
                continue
            followed = False
            for function, renames in functions.get(command, []):
                api = api_defaults(function)
                key = renames.get(name, name)
                if key in api:
                    assert api[key] == cli_default, f"{command} --{name}: CLI {cli_default!r}, {function} {api[key]!r}"
                    followed = True
                    checked += 1
            if not followed:
                expected = OPTIONS[name].default
                assert cli_default == expected, f"{command} --{name}: {cli_default!r}, declared {expected!r}"
    assert checked > 40


def test_the_classifier_takes_every_shared_default_and_constraint_from_the_declarations():
    from headstart.classifier import TransferClassifier

    api = api_defaults(TransferClassifier)
    shared = [name for name in OPTIONS if name in api]
    assert {"val_size", "seed", "epochs", "lr", "train_batch_size", "precision", "batch_size"} <= set(shared)
    for name in shared:
        assert api[name] == OPTIONS[name].default, name
        assert TransferClassifier._parameter_constraints[name] == list(OPTIONS[name].constraints)
    fit = command_defaults()["fit"]
    assert all(fit[name] == api[name] for name in shared if name in fit)
    assert fit["val_size"] == api["val_size"] == o.VAL_SIZE.default == 0.1


@pytest.mark.parametrize(
    ("constraints", "value", "message"),
    [
        ([Interval(Real, 0.0, 0.5, closed="both")], 0.7, "val_size must be a float in [0, 0.5], got 0.7"),
        ([Interval(Integral, 1, None, closed="left")], 0, "val_size must be an int >= 1, got 0"),
        ([Interval(Integral, 1, None, closed="left")], 2.0, "val_size must be an int >= 1, got 2.0"),
        ([Interval(Integral, 1, None, closed="left"), None], True, "val_size must be an int >= 1 or None, got True"),
        ([Interval(Real, 0, 1, closed="neither")], 1, "val_size must be a float in (0, 1), got 1"),
        ([StrOptions(["auto", "no"])], "yes", "val_size must be one of 'auto', 'no', got 'yes'"),
        ([str, None], 3, "val_size must be a str or None, got 3"),
    ],
)
def test_validate_params_gives_one_line(constraints, value, message):
    with pytest.raises(HeadstartError) as e:
        validate_params({"val_size": constraints}, {"val_size": value})
    assert str(e.value) == message and "\n" not in str(e.value)


def test_validate_params_accepts_what_the_constraints_allow():
    constraints = {"a": [Interval(Integral, 1, None, closed="left"), None], "b": [Real], "c": []}
    validate_params(constraints, {"a": None, "b": np.float32(0.5), "c": object(), "other": "anything"})
    validate_params(constraints, {"a": np.int64(3), "b": 2})


def test_typer_options_take_the_declared_ranges():
    val = o.VAL_SIZE.typer()
    assert (val.default, val.min, val.max, val.help) == (0.1, 0.0, 0.5, o.VAL_SIZE.help)
    cache = o.CACHE.typer()
    assert cache.default is False and cache.param_decls[0] == "--no-cache" and "Do not" in cache.help
    epochs = o.EPOCHS.typer(10, help="Passes.")
    assert (epochs.default, epochs.min, epochs.help) == (10, 1, "Passes.")


def test_the_classifier_refuses_a_bad_option_in_one_line_before_any_work():
    from headstart.classifier import TransferClassifier

    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(HeadstartError, match=r"^val_size must be a float in \[0, 0.5\], got 0.7$"):
        TransferClassifier(backbone="identity", val_size=0.7).fit(X, y)
    with pytest.raises(HeadstartError, match="precision must be one of 'auto', 'no', 'bf16', 'fp16', got 'fp8'"):
        TransferClassifier(backbone="identity", precision="fp8").fit(X, y)


def test_the_command_line_refuses_a_value_out_of_the_declared_range(capsys, tmp_path):
    code, out, err = cli(capsys, "fit", tmp_path / "x.csv", "--val-size", "0.7")
    assert code == 2 and "--val-size" in err and "0.5" in err
    (tmp_path / "x.csv").write_text("text,label\na,b\n")
    assert_one_error_line(cli(capsys, "fit", tmp_path / "x.csv", "--strategy", "ful"), "did you mean 'full'")
