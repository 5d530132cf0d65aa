"""The contract every registered thing keeps, family x name, and the Registry itself.

Each entry of every family: builds with no options (or its documented
``example_options``); has a docstring whose first line says what it is, and,
for the methods a user builds by name (factories and scores), a ``>>>``
example that runs; is named in its command's ``--help`` and in ``headstart
models``; and a bad option (or name) is one line with a did-you-mean. A method
file dropped into a package is found with no other edit.
"""

from __future__ import annotations

import doctest
import inspect
import re
import sys
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest

from headstart.cli.app import registry
from headstart.errors import HeadstartError
from headstart.registry import REQUIRED, Registry, first_doc_line

# family (headstart.cli.app.FAMILIES) -> the command whose --help names its choices (None: no command takes one).
HELP = {
    "strategy": ("fit", "--help"),
    "imbalance": ("fit", "--help"),
    "multilabel-loss": ("fit", "--help"),
    "debias": ("fit", "--help"),
    "adapt": ("adapt", "--help"),
    "distill": ("distill", "--help"),
    "fewshot": ("fewshot-eval", "--help"),
    "zeroshot": ("zeroshot", "--help"),
    "meta": ("meta-train", "--help"),
    "rl": ("rl-transfer", "--help"),
    "multitask": ("fit-multi", "--help"),
    "pretrain": ("pretrain", "--help"),
    "score": ("rank", "--help"),
    "embedded": ("fit", "--help"),
    "source": ("fit", "--help"),
    "section": None,
}
# Entries that load a model when called: the contract builds them, it does not call them.
LOADERS = {"embedded", "source"}
ENTRIES = [(family, name) for family in HELP for name in registry(family).names()]


def minimal(family: str, name: str) -> dict:
    return dict(registry(family).entry(name).meta.get("example_options", {}))


def flat(text: str) -> str:
    """Help text without the boxes and line breaks rich draws (names never hold spaces)."""
    return re.sub(r"[\s│╭╮╰╯─]+", "", text)


@pytest.fixture(scope="module")
def help_texts() -> dict[tuple[str, ...], str]:
    from headstart.cli import run

    texts = {}
    for args in {a for a in HELP.values() if a is not None} | {("models",)}:
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = run(list(args))
        assert code == 0, args
        texts[args] = flat(buf.getvalue())
    return texts


def test_every_family_has_entries_and_the_registries_know_their_kind():
    for family in HELP:
        reg = registry(family)
        assert isinstance(reg, Registry) and reg.names(), family
        assert len(reg) == len(reg.names()) == len(set(reg.names()))
        assert all(name in reg for name in reg.names())


@pytest.mark.parametrize(("family", "name"), ENTRIES)
def test_builds_with_no_options_or_its_documented_ones(family, name, tmp_path):
    reg = registry(family)
    built = reg.create(name, **minimal(family, name))
    if reg.factory:
        required = [k for k, v in reg.options(name).items() if v is REQUIRED]
        assert set(required) <= set(minimal(family, name)), f"{family} '{name}' needs {required}: example_options"
        return
    assert callable(built)
    if family == "score":
        y = np.repeat([0, 1], 10)
        inputs = np.eye(2)[y] * 0.8 + 0.1 if reg.entry(name).meta["inputs"] == "source_probs" else y[:, None] + 0.0
        assert np.isfinite(built(inputs + np.linspace(0, 0.01, 20)[:, None], y))
    elif family == "section":
        assert built(tmp_path) is None  # an empty run folder has nothing to show


@pytest.mark.parametrize(("family", "name"), ENTRIES)
def test_documented_with_a_first_line_and_a_running_example(family, name):
    reg = registry(family)
    obj = reg.get(name)
    assert reg.describe(name), f"{family} '{name}' ({obj}) has no docstring"
    if family in ("section", *LOADERS):
        return  # builders and loaders: a docstring; users reach them through commands and specs
    doc = inspect.getdoc(obj) or ""
    assert ">>>" in doc, f"{family} '{name}': its docstring needs a >>> example"
    module = sys.modules[obj.__module__]
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, module=module, globs=dict(vars(module)))
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0, f"{family} '{name}': its example fails"


@pytest.mark.parametrize(("family", "name"), ENTRIES)
def test_named_in_its_command_help_and_in_models(family, name, help_texts):
    """The help lists the family's names (all of them, in order: the list comes from the registry)."""
    listing = flat(", ".join(registry(family).names()))
    assert name in listing
    if HELP[family] is not None:
        assert listing in help_texts[HELP[family]], f"{family} '{name}' is not in `headstart {' '.join(HELP[family])}`"
    shown = help_texts[("models",)]
    assert (name in shown) if family in LOADERS else (listing in shown), f"{family} '{name}' not in `headstart models`"


@pytest.mark.parametrize(("family", "name"), ENTRIES)
def test_a_bad_option_or_name_is_one_line_with_a_did_you_mean(family, name):
    reg = registry(family)
    options = reg.options(name)
    base = minimal(family, name)
    with pytest.raises(HeadstartError) as e:
        reg.create(name, **base, not_an_option=1)
    message = str(e.value)
    assert "\n" not in message and f"'{name}' has no option 'not_an_option'" in message
    assert f"(options: {', '.join(options) or 'none'})" in message
    if options:
        real = max(options, key=len)
        with pytest.raises(HeadstartError, match=f"did you mean '{re.escape(real)}'"):
            reg.create(name, **base, **{real + "x": 1})
    with pytest.raises(HeadstartError) as e:
        reg.create(name + "x")
    assert "\n" not in str(e.value) and f"unknown {reg.kind} '{name}x'; did you mean '{name}'" in str(e.value)


def test_a_method_file_dropped_into_a_package_is_found_with_no_other_edit(tmp_path):
    package = tmp_path / "plugins_for_test"
    package.mkdir()
    (package / "__init__.py").write_text('"""An empty package: nothing here lists the methods."""\n')
    (package / "registry.py").write_text(
        "from headstart.registry import Registry\n\nWIDGETS = Registry('widget', 'plugins_for_test')\n"
    )
    method = '''
        from dataclasses import dataclass
        from typing import ClassVar

        from plugins_for_test.registry import WIDGETS


        @WIDGETS.register()
        @dataclass
        class {cls}:
            """A {name} widget.

            >>> {cls}(size=2).size
            2
            """

            size: int = 1
            name: ClassVar[str] = "{name}"
    '''
    (package / "round.py").write_text(textwrap.dedent(method.format(cls="Round", name="round")))
    (package / "_private.py").write_text("raise RuntimeError('modules starting with _ are not methods')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        from plugins_for_test.registry import WIDGETS  # nothing has imported round.py

        (package / "square.py").write_text(textwrap.dedent(method.format(cls="Square", name="square")))
        assert WIDGETS.names() == ["round", "square"]  # both files found on first use
        assert WIDGETS.create("square", size=3).size == 3
        assert WIDGETS.options("round") == {"size": 1} and WIDGETS.describe("round") == "A round widget."
        with pytest.raises(HeadstartError, match="widget 'round' has no option 'sise'; did you mean 'size'"):
            WIDGETS.create("round", sise=2)
    finally:
        sys.path.remove(str(tmp_path))
        for key in [k for k in sys.modules if k.split(".")[0] == "plugins_for_test"]:
            del sys.modules[key]


def test_names_follow_order_then_module_then_file_and_a_second_name_is_refused():
    reg = Registry("thing")

    @reg.register("late", order=200)
    def late() -> None:
        """Late."""

    @reg.register("b")
    def b() -> None:
        """B."""

    @reg.register("a")
    def a() -> None:
        """A."""

    @reg.register("first", order=1)
    def first() -> None:
        """First."""

    assert reg.names() == ["first", "b", "a", "late"]  # one module: file order within an order
    assert list(reg) == reg.names() and reg["a"] is a and reg.get("a") is a

    def other() -> None:
        """Another function."""

    with pytest.raises(ValueError, match="registered twice"):
        reg.add("a", other)
    reg.unregister("late")
    assert "late" not in reg


def test_registering_by_class_attribute_and_describing():
    reg = Registry("thing")

    @reg.register
    @dataclass
    class Plain:
        name = "plain"
        x: int = 0

    assert reg.names() == ["plain"] and reg.options("plain") == {"x": 0}
    assert reg.describe("plain") == "" and first_doc_line(Plain) == ""  # a dataclass's own signature is no docstring
    with pytest.raises(TypeError, match="give a name"):
        reg.register()(type("Nameless", (), {}))


def test_function_registries_take_inputs_then_options():
    scores = Registry("score", factory=False)

    @scores.register("mean")
    def mean(values: np.ndarray, labels: np.ndarray, scale: float = 1.0) -> float:
        """The mean, scaled."""
        return float(np.mean(values) * scale)

    assert scores.options("mean") == {"scale": 1.0}
    assert scores.create("mean", scale=2.0)(np.ones(3), None) == 2.0
    assert scores.create("mean") is mean
