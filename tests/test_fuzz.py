"""Property-based fuzzing (Hypothesis): no input makes a reader raise anything but HeadstartError.

Targets, each run on ``EXAMPLES`` generated inputs (500; ``HEADSTART_FUZZ_EXAMPLES`` sets
another number) with a fixed seed (``derandomize``: the same examples in CI every time;
``HEADSTART_FUZZ_RANDOM=1`` draws new ones, to hunt for more):

- the table loader (``headstart.data.load`` on a file): random bytes under every table
  extension, and well-formed CSV / JSONL of awkward cells read with random column options;
- the image loader: random bytes and damaged PNG / JPEG / GIF files among good images,
  through ``load_image_folder`` (strict or not) and then ``to_pil`` on each kept image;
- the run-folder reader: a real run folder with config.json, labels.json or
  model.safetensors replaced by random JSON, random bytes or a damaged copy, through
  ``read_run`` and ``TransferClassifier.load``;
- the ``--option`` parser (``parse_options``), alone and building a registered strategy and
  imbalance method from what it parsed.

Either the call returns, or it raises HeadstartError with a one-line message.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import string
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headstart.errors import HeadstartError

EXAMPLES = int(os.environ.get("HEADSTART_FUZZ_EXAMPLES", "500"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("HEADSTART_FUZZ_RANDOM") != "1",
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def only_headstart_errors(call, *args, **kwargs):
    """``call(...)``; a HeadstartError is fine (one line), anything else fails the example."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call(*args, **kwargs)
        except HeadstartError as e:
            assert "\n" not in str(e), f"a multi-line error: {e!r}"
            assert str(e).strip(), "an empty error message"
            return None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    """The loaders' warnings go to stderr through rich; thousands of them would only slow the run."""
    import headstart.data.loaders

    monkeypatch.setattr(headstart.data.loaders, "warn", lambda message: None)


# ------------------------------------------------------------------ tables
TABLE_SUFFIXES = [".csv", ".tsv", ".jsonl", ".json", ".parquet"]
cell = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["", " ", "NaN", "nan", "inf", "-inf", "1e999", "null", "None", "\ufeff", "a,b", '"', "\t"]),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
column_name = st.one_of(
    st.sampled_from(["label", "text", "a", "b", "image", "y", "split", "group"]), st.text(max_size=6)
)


@st.composite
def tables(draw):
    names = draw(st.lists(column_name, min_size=1, max_size=4, unique=True))
    n = draw(st.integers(min_value=0, max_value=6))
    return {name: [draw(cell) for _ in range(n)] for name in names}


column_options = st.fixed_dictionaries(
    {},
    optional={
        "label_col": column_name,
        "text_col": column_name,
        "feature_cols": st.lists(column_name, min_size=1, max_size=2),
        "image_col": column_name,
        "group_col": column_name,
        "strict": st.booleans(),
        "require_labels": st.booleans(),
    },
)


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from(TABLE_SUFFIXES))
def test_table_loader_on_random_bytes(scratch, data, suffix):
    from headstart.data import load

    path = scratch / f"bytes{suffix}"
    path.write_bytes(data)
    only_headstart_errors(load, path)


@FUZZ
@given(table=tables(), form=st.sampled_from(["csv", "jsonl", "tsv"]), options=column_options)
def test_table_loader_on_awkward_cells_and_column_options(scratch, table, form, options):
    from headstart.data import load

    path = scratch / f"table.{form}"
    if form == "jsonl":
        rows = [dict(zip(table, values, strict=True)) for values in zip(*table.values(), strict=True)]
        text = "\n".join(json.dumps(r, default=str) for r in rows)
        path.write_text(text + ("\n" if rows else ""), encoding="utf-8")
    else:
        frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in table.items()})
        buf = io.StringIO()
        frame.to_csv(buf, index=False, sep="\t" if form == "tsv" else ",")
        path.write_text(buf.getvalue(), encoding="utf-8")
    data = only_headstart_errors(load, path, **options)
    if data is not None:
        assert len(data) > 0 and data.modality in ("text", "image", "tabular")
        if data.labels is not None and options.get("require_labels", True):
            assert len(data.classes) == len(set(map(str, data.classes)))


# ------------------------------------------------------------------ images
def _good_images() -> dict[str, bytes]:
    from PIL import Image

    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, size=(16, 16, 3), dtype=np.uint8)
    out = {}
    for fmt, ext in (("PNG", ".png"), ("JPEG", ".jpg"), ("GIF", ".gif"), ("BMP", ".bmp"), ("TIFF", ".tif")):
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format=fmt)
        out[ext] = buf.getvalue()
    return out


GOOD = _good_images()


@st.composite
def damaged_images(draw):
    """A good image's bytes with a few bytes changed, a cut, or random bytes, under an image extension."""
    ext = draw(st.sampled_from(sorted(GOOD)))
    data = bytearray(GOOD[ext])
    how = draw(st.sampled_from(["flip", "cut", "random", "header-only"]))
    if how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    elif how == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif how == "header-only":
        data = data[:24] + draw(st.binary(max_size=64))
    else:
        data = bytearray(draw(st.binary(max_size=200)))
    return ext, bytes(data)


@FUZZ
@given(bad=st.lists(damaged_images(), min_size=1, max_size=3), strict=st.booleans(), flat=st.booleans())
def test_image_loader_and_decoder_on_damaged_images(scratch, bad, strict, flat):
    from headstart.backbones.vision import to_pil
    from headstart.data import load_image_folder

    root = scratch / "images"
    shutil.rmtree(root, ignore_errors=True)
    for k, cls in enumerate(["a", "b"]):
        folder = root if flat else root / cls
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"good{k}.png").write_bytes(GOOD[".png"])
    for i, (ext, data) in enumerate(bad):
        (root if flat else root / "a").joinpath(f"bad{i}{ext}").write_bytes(data)
    dataset = only_headstart_errors(load_image_folder, root, strict=strict)
    if dataset is not None:
        for path in dataset.inputs:
            image = only_headstart_errors(to_pil, path)
            if image is not None:
                assert image.mode == "RGB"


# --------------------------------------------------------------- run folders
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
CONFIG_KEYS = ["params", "modality", "n_features", "chosen", "training", "columns", "backbone", "fine_tuned",
               "class_counts", "extras", "format", "n_train"]  # fmt: skip
PARAM_KEYS = ["backbone", "strategy", "C", "val_size", "batch_size", "seed", "epochs", "cache_dir", "pretrained"]


@pytest.fixture(scope="module")
def good_run(scratch) -> Path:
    from headstart import TransferClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    TransferClassifier(C=1.0).fit(X, np.where(X[:, 0] > 0, "up", "down")).save(scratch / "good-run")
    return scratch / "good-run"


@st.composite
def tampered_runs(draw):
    """Which file of the run folder to change, and what to write instead."""
    target = draw(st.sampled_from(["config", "config-key", "param", "labels", "weights", "weights-bytes"]))
    if target == "config":
        return target, json.dumps(draw(json_values)).encode()
    if target in ("config-key", "param"):
        keys = CONFIG_KEYS if target == "config-key" else PARAM_KEYS
        return target, (draw(st.sampled_from(keys)), draw(st.one_of(json_values, st.just("<delete>"))))
    if target == "labels":
        return target, draw(st.one_of(st.binary(max_size=40), json_values.map(lambda v: json.dumps(v).encode())))
    if target == "weights":
        return target, (draw(st.integers(0, 10**6)), draw(st.integers(1, 16)), draw(st.sampled_from(["flip", "cut"])))
    return target, draw(st.binary(max_size=300))


def _tamper(folder: Path, target: str, change) -> None:
    if target == "config":
        (folder / "config.json").write_bytes(change)
    elif target in ("config-key", "param"):
        config = json.loads((folder / "config.json").read_text())
        where = config if target == "config-key" else config["params"]
        key, value = change
        if value == "<delete>":
            where.pop(key, None)
        else:
            where[key] = value
        (folder / "config.json").write_text(json.dumps(config))
    elif target == "labels":
        (folder / "labels.json").write_bytes(change)
    elif target == "weights":
        seed, count, how = change
        data = bytearray((folder / "model.safetensors").read_bytes())
        rng = np.random.default_rng(seed)
        if how == "cut":
            data = data[: int(rng.integers(0, len(data)))]
        else:
            for i in rng.integers(0, len(data), size=count):
                data[int(i)] = int(rng.integers(0, 256))
        (folder / "model.safetensors").write_bytes(bytes(data))
    else:
        (folder / "model.safetensors").write_bytes(change)


@FUZZ
@given(change=tampered_runs())
def test_run_folder_reader_on_tampered_files(scratch, good_run, change):
    from headstart.classifier import TransferClassifier
    from headstart.runfolder import read_run

    folder = scratch / "tampered"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(good_run, folder)
    _tamper(folder, *change)
    only_headstart_errors(read_run, folder)
    clf = only_headstart_errors(TransferClassifier.load, folder)
    if clf is not None:
        only_headstart_errors(clf.predict_proba, np.zeros((2, 3)))
    assert not (scratch / "PWNED").exists()


# ----------------------------------------------------------------- --option
option_text = st.one_of(
    st.text(max_size=20),
    st.builds(
        lambda k, v: f"{k}={v}",
        st.one_of(st.sampled_from(["k", "gamma", "lr_decay", "r", "alpha", "tau", "weight"]), st.text(max_size=5)),
        st.one_of(
            st.text(max_size=12),
            st.sampled_from(["[", "(((", "1e999", "-0", "None", "True", "{1: 2}", "[1, [2]]", "'x'", "1_0", "0x1f"]),
            st.integers().map(str),
            st.floats().map(repr),
            st.text(alphabet=string.digits, min_size=300, max_size=5000),
        ),
    ),
)


@FUZZ
@given(items=st.lists(option_text, max_size=4))
def test_option_parser(items):
    from headstart.cli.common import parse_options

    options = only_headstart_errors(parse_options, items)
    if options is not None:
        assert all(isinstance(k, str) and k.isidentifier() for k in options)


@FUZZ
@given(
    items=st.lists(option_text, max_size=3),
    family=st.sampled_from(["strategy", "imbalance"]),
    pick=st.integers(0, 100),
)
def test_option_parser_then_building_the_method(items, family, pick):
    """What ``--option`` / ``--imbalance-option`` parsed, given to a registered method: one line or a method."""
    from headstart.cli.app import registry
    from headstart.cli.common import parse_options

    options = only_headstart_errors(parse_options, items)
    if options is None:
        return
    methods = registry(family)
    name = methods.names()[pick % len(methods.names())]
    only_headstart_errors(methods.create, name, **options)
