"""A catalogue of bad inputs: one row per kind, across every command and the Python API.

Each row builds its input in a fresh workspace (the test's working folder), runs the
command in-process (``headstart.cli.run``) and asserts: exit status 2; on stderr one
line, ``error: ...``, that names what is wrong (the file, row or column) and the fix;
no traceback; and nothing half-written: every file and folder of the workspace
(the data, the run folders, the ``-o`` path, ``runs/``, ``predictions.csv``) is
exactly as it was before the command ran. The Python API rows assert the same of a
:class:`~headstart.errors.HeadstartError` (one line, nothing written).

The second half holds the odd inputs that are *not* errors: grey, alpha, palette,
CMYK and 16-bit images, a corrupt image among good ones (skipped with a warning),
a 100,000-character text, a UTF-8 byte-order mark. Those run and give the right
answer.

Everything is tabular (the ``identity`` backbone, a linear probe: no model to load) or
uses the tiny BERT / ``timm:test_efficientnet`` from scratch, so the whole file takes
seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import cli, make_image_folder, make_texts, write_image

from headstart.errors import HeadstartError

# ------------------------------------------------------------------ assets
RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3)).round(4)
Y = np.where(X[:, 0] > 0, "up", "down")


def write_csv(path: Path, **columns: Any) -> Path:
    pd.DataFrame(columns).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def assets(tmp_path_factory, hf_text_spec) -> Path:
    """What many rows start from (copied into each row's workspace): a numeric table, a fitted
    tabular run (identity backbone, linear probe), a text table, a text run whose backbone is
    saved in it (``bert-run/backbone/``, as fine-tuning leaves it) and a folder of images."""
    from headstart import TransferClassifier
    from headstart.cli import run
    from headstart.runfolder import write_run

    root = tmp_path_factory.mktemp("assets")
    write_csv(root / "tab.csv", a=X[:, 0], b=X[:, 1], c=X[:, 2], label=Y)
    assert run(["fit", str(root / "tab.csv"), "-o", str(root / "run"), "--C", "1"]) == 0
    texts, labels = make_texts(12, seed=3)
    write_csv(root / "text.csv", text=texts, label=labels)
    from headstart.data import load

    clf = TransferClassifier(backbone=hf_text_spec, strategy="linear-probe", C=1.0).fit(load(root / "text.csv"))
    state = clf.state()
    state.fine_tuned = True
    write_run(root / "bert-run", state, clf.head_, clf.backbone_)
    make_image_folder(root / "images", per_class=3)
    (root / "a-file").write_text("not a folder\n")
    return root


@pytest.fixture
def ws(assets, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the assets, and the working folder (default outputs land here)."""
    folder = tmp_path / "ws"
    shutil.copytree(assets, folder)
    monkeypatch.chdir(folder)
    return folder


def snapshot(root: Path) -> dict[str, Any]:
    """Every file (its bytes' hash and mode) and folder under ``root``."""
    out: dict[str, Any] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode)
    return out


def put(path: Path, content: str | bytes) -> Path:
    """Write ``content`` to ``path`` and return the path."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def edit_json(path: Path, change: Callable[[Any], Any]) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


class Trap:
    """A pickle that, when loaded, creates the file ``path``: proof that a loader ran pickled code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def trap_pickle(target: Path, sentinel: Path) -> Path:
    """``target``: a PyTorch pickle whose loading would create ``sentinel``."""
    import torch

    torch.save({"weight": Trap(sentinel), "bias": Trap(sentinel)}, target)
    return target


@contextlib.contextmanager
def read_only(folder: Path):
    """``folder``, read-only for whoever runs the tests: chmod for a user; a read-only tmpfs for root
    (root writes through any mode bits); skipped where neither works."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot make a read-only folder as root here (mount refused)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


# ------------------------------------------------------------ the catalogue
@dataclass
class Bad:
    """One kind of bad input: ``build(ws)`` writes it and returns the command line; the error line
    must contain every fragment of ``names`` (what is wrong: file, row, column) and of ``fix``."""

    id: str
    build: Callable[[Path], list[Any]]
    names: tuple[str, ...]
    fix: tuple[str, ...] = ()
    setup: Callable[[Path], Any] | None = None  # work done before the snapshot (e.g. a first fit)


BERT: dict[str, str] = {}  # the tiny BERT's spec, set by the module's fixture


@pytest.fixture(scope="module", autouse=True)
def _bert(hf_text_spec):
    BERT["spec"] = hf_text_spec


def _text_fine_tune(ws: Path, *extra: str) -> list[Any]:
    """A fine-tuning fit (so it checkpoints): the tiny BERT, head only, on 12 texts."""
    base = ["fit", "text.csv", "-b", BERT["spec"], "-s", "head", "--epochs", "2", "--train-batch-size", "4"]
    return [*base, "--lr", "0.001", "-o", "ft", *extra]


def _first_fine_tune(ws: Path) -> None:
    from headstart.cli import run

    assert run([str(a) for a in _text_fine_tune(ws)]) == 0
    assert (ws / "ft" / "checkpoints" / "latest").is_file()


def _images_with(ws: Path, name: str, data: bytes) -> Path:
    root = ws / "images"
    (root / "red" / name).write_bytes(data)
    return root


def _rl_source(ws: Path) -> None:
    """A tiny source agent (PPO on CartPole, 256 env steps) in ws/rl-src."""
    from headstart.cli import run

    assert (
        run(
            ["rl-train", "CartPole-v1", "-o", "rl-src", "--steps", "256", "--eval-every", "256", "--eval-episodes", "1"]
        )
        == 0
    )


def _truncated_jpeg(ws: Path) -> Path:
    from PIL import Image

    path = ws / "images" / "red" / "cut.jpg"
    arr = RNG.integers(0, 255, size=(64, 64, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # the header is intact, the picture is not
    return ws / "images"


def _no_images(ws: Path) -> Path:
    (ws / "empty" / "cats").mkdir(parents=True)
    (ws / "empty" / "cats" / "notes.txt").write_text("no pictures here")
    return ws / "empty"


def _damage(run_file: str, how: Callable[[Path], Any], argv: list[Any] | None = None) -> Callable[[Path], list[Any]]:
    """``predict`` (or ``argv``) on a copy of the tabular run whose ``run_file`` was changed by ``how``."""

    def build(ws: Path) -> list[Any]:
        how(ws / "run" / run_file)
        return argv or ["predict", "run", "tab.csv", "-o", "p.csv"]

    return build


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _truncated_run(ws: Path, name: str) -> Path:
    _truncate(ws / name / "model.safetensors")
    return ws / name


def _random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(1).integers(0, 256, size=4096, dtype=np.uint8).tobytes())


def _pickle_weights(path: Path) -> None:
    trap_pickle(path, path.parent.parent / "PWNED")


def _wrong_head(path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    save_file({"weight": torch.zeros(5, 7), "bias": torch.zeros(5)}, str(path))


def _pickle_backbone(ws: Path) -> Path:
    """bert-run with its backbone's safetensors weights replaced by a pickled ``pytorch_model.bin``."""
    backbone = ws / "bert-run" / "backbone"
    (backbone / "model.safetensors").unlink()
    trap_pickle(backbone / "pytorch_model.bin", ws / "PWNED")
    return ws / "bert-run"


def _labels_in_jsonl(ws: Path) -> Path:
    rows = [{"a": float(i), "label": [i, i + 1] if i == 2 else "x" if i % 2 else "y"} for i in range(6)]
    (ws / "nested.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return ws / "nested.jsonl"


def _image_table(ws: Path) -> Path:
    images = sorted(str(p.relative_to(ws)) for p in (ws / "images").rglob("*.png"))
    return write_csv(
        ws / "imgs.csv", image=images[:3] + ["images/red/missing.png"] + images[3:], label=["a", "b"] * 3 + ["a"]
    )


def _run_with_a_tampered_checkpoint(ws: Path) -> None:
    _first_fine_tune(ws)
    latest = ws / "ft" / "checkpoints" / (ws / "ft" / "checkpoints" / "latest").read_text().strip()
    trap_pickle(latest / "training.pt", ws / "PWNED")


# ---- sequences (issue 23): WAV folders, .ts files, long tables
TS_HEAD = "@problemName toy\n@univariate {u}\n@equalLength false\n@classLabel true up down\n@data\n"


def _wav_folder(ws: Path, bad_name: str, bad: bytes | np.ndarray) -> Path:
    """``sounds/{up,down}/*.wav``: good 8 kHz mono clips, and one bad file ``up/bad_name``."""
    from scipy.io import wavfile

    root = ws / "sounds"
    for label in ("up", "down"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(2):
            wavfile.write(root / label / f"{i}.wav", 8000, (RNG.normal(size=400) * 1000).astype(np.int16))
    if isinstance(bad, bytes):
        (root / "up" / bad_name).write_bytes(bad)
    else:
        wavfile.write(root / "up" / bad_name, 8000, bad)
    return root


def _ts(ws: Path, body: str, univariate: str = "true", header: str | None = None) -> Path:
    return put(ws / "toy.ts", (header if header is not None else TS_HEAD.format(u=univariate)) + body)


def _long_table(ws: Path) -> Path:
    return write_csv(
        ws / "long.csv", id=["a", "a", "b", "b"], time=[0, 1, 0, 1], x=[1.0, 2.0, 3.0, 4.0], label=["p", "q", "p", "p"]
    )


CATALOGUE: list[Bad] = [
    # ---- fit: the data file
    Bad(
        "missing-file",
        lambda ws: ["fit", "nowhere.csv"],
        ("nowhere.csv", "no such file or folder"),
        ("check the path",),
    ),
    Bad("empty-file", lambda ws: ["fit", put(ws / "e.csv", "")], ("e.csv", "is empty"), ("header line",)),
    Bad(
        "header-only",
        lambda ws: ["fit", write_csv(ws / "h.csv", a=[], b=[], label=[])],
        ("h.csv", "has no rows"),
        ("add one row per example",),
    ),
    Bad(
        "unsupported-file-type",
        lambda ws: ["fit", put(ws / "d.xlsx", b"PK\x03\x04")],
        ("d.xlsx", "unsupported file type '.xlsx'"),
        (".csv",),
    ),
    Bad(
        "not-a-table",
        lambda ws: ["fit", put(ws / "junk.parquet", b"\x00\x01junk" * 50)],
        ("junk.parquet", "cannot read table"),
        ("is it really a parquet file?",),
    ),
    Bad(
        "non-utf8-text",
        lambda ws: ["fit", put(ws / "l1.csv", "text,label\ncaf\xe9 good,p\nbad,n\n".encode("latin-1"))],
        ("l1.csv", "not UTF-8", "line 2, column 4"),
        ("save it as UTF-8",),
    ),
    Bad(
        "utf16-text",
        lambda ws: ["fit", put(ws / "u16.csv", "text,label\ngood,p\n".encode("utf-16"))],
        ("u16.csv", "not UTF-8", "line 1"),
        ("save it as UTF-8",),
    ),
    Bad(
        "folder-without-images",
        lambda ws: ["fit", _no_images(ws)],
        ("empty", "no images found"),
        ("one sub-folder per class",),
    ),
    Bad(
        "corrupt-jpeg-strict",
        lambda ws: [
            "fit",
            _images_with(ws, "corrupt.jpg", b"not a jpeg" * 30),
            "--strict",
            "-b",
            "timm:test_efficientnet",
            "--scratch",
            "-o",
            "run-img",
        ],
        ("corrupt.jpg", "cannot read image"),
        ("--strict", "remove or re-save it"),
    ),
    Bad(
        "truncated-jpeg",
        lambda ws: [
            "fit",
            _truncated_jpeg(ws),
            "-b",
            "timm:test_efficientnet",
            "--scratch",
            "--C",
            "1",
            "-o",
            "run-img",
        ],
        ("cut.jpg", "cannot read image"),
        ("remove or re-save it",),
    ),
    Bad(
        "image-path-missing",
        lambda ws: ["fit", _image_table(ws), "-b", "timm:test_efficientnet", "--scratch"],
        ("imgs.csv", "row 4", "image file not found", "missing.png"),
        ("relative to the table's folder",),
    ),
    # ---- fit: labels
    Bad(
        "nan-label",
        lambda ws: ["fit", write_csv(ws / "n.csv", a=[1, 2, 3, 4, 5], label=["x", "y", "NaN", "x", "y"])],
        ("n.csv", "label column 'label'", "rows 3"),
        ("fill or drop them",),
    ),
    Bad(
        "blank-label",
        lambda ws: ["fit", put(ws / "b.csv", "a,label\n1,x\n2,  \n3,y\n4,x\n5,y\n")],
        ("b.csv", "label column 'label'", "rows 2"),
        ("fill or drop them",),
    ),
    Bad(
        "infinite-label",
        lambda ws: ["fit", write_csv(ws / "i.csv", a=[1, 2, 3, 4, 5], label=[1.0, 2.0, np.inf, 1.0, 2.0])],
        ("i.csv", "label column 'label'", "rows 3"),
        ("fill or drop them",),
    ),
    Bad(
        "label-that-is-a-list",
        lambda ws: ["fit", _labels_in_jsonl(ws)],
        ("nested.jsonl", "label column 'label'", "rows 3"),
        ("a label is a name or a number",),
    ),
    Bad(
        "one-class",
        lambda ws: ["fit", write_csv(ws / "one.csv", a=[1, 2, 3], label=["x"] * 3)],
        ("one.csv", "only 1 class ('x')"),
        ("need at least 2",),
    ),
    Bad(
        "class-with-one-row",
        lambda ws: ["fit", write_csv(ws / "rare.csv", a=X[:9, 0], label=["x", "y"] * 4 + ["rare"])],
        ("rare.csv", "class 'rare' has only 1 row", "row 9"),
        ("add examples of it or drop it",),
    ),
    Bad(
        "no-label-column",
        lambda ws: ["fit", write_csv(ws / "nl.csv", a=[1, 2], b=[3, 4])],
        ("nl.csv", "no label column found"),
        ("--label-col",),
    ),
    Bad(
        "misspelt-label-column",
        lambda ws: ["fit", "tab.csv", "--label-col", "lable"],
        ("tab.csv", "'lable'"),
        ("did you mean 'label'",),
    ),
    Bad(
        "nan-feature",
        lambda ws: ["fit", put(ws / "nf.csv", "a,b,label\n1,2,x\n3,,y\n5,6,x\n7,8,y\n")],
        ("nf.csv", "row 2, column 'b'", "NaN"),
        ("fill or drop them",),
    ),
    Bad(
        "column-option-on-a-folder",
        lambda ws: ["fit", "images", "--text-col", "text"],
        ("images", "--text-col"),
        ("apply to tables only",),
    ),
    Bad(
        "eval-classes-differ",
        lambda ws: [
            "fit",
            "tab.csv",
            "--eval",
            write_csv(ws / "ev.csv", a=X[:4, 0], b=X[:4, 1], c=X[:4, 2], label=["up", "UP", "down", "up"]),
        ],
        ("ev.csv", "class 'UP'", "never appears in the training rows"),
        ("add training examples of it",),
    ),
    Bad(
        "sample-above-row-count",
        lambda ws: ["fit", "tab.csv", "--sample", "1000"],
        ("tab.csv", "--sample 1000", "32 training rows"),
        ("give at most 32",),
    ),
    # ---- fit: names and options
    Bad(
        "unknown-backbone",
        lambda ws: ["fit", "tab.csv", "-b", "minilmm"],
        ("unknown backbone 'minilmm'",),
        ("did you mean 'minilm'",),
    ),
    Bad(
        "unknown-strategy",
        lambda ws: ["fit", "tab.csv", "-s", "fine-tune"],
        ("unknown strategy 'fine-tune'",),
        ("linear-probe",),
    ),
    Bad(
        "unknown-imbalance-method",
        lambda ws: ["fit", "tab.csv", "--imbalance", "focall"],
        ("unknown imbalance method 'focall'",),
        ("did you mean 'focal'",),
    ),
    Bad(
        "option-without-equals",
        lambda ws: ["fit", "tab.csv", "-s", "partial", "--option", "k"],
        ("--option", "'k'"),
        ("KEY=VALUE",),
    ),
    Bad(
        "option-key-not-a-name",
        lambda ws: ["fit", "tab.csv", "-s", "partial", "--option", "k k=2"],
        ("--option", "'k k'"),
        ("letters, digits, _",),
    ),
    Bad(
        "option-given-twice",
        lambda ws: ["fit", "tab.csv", "-s", "partial", "--option", "k=1", "--option", "k=2"],
        ("--option k",),
        ("give it once",),
    ),
    Bad(
        "unknown-option-key",
        lambda ws: ["fit", "tab.csv", "-s", "partial", "--option", "kk=2"],
        ("strategy 'partial' has no option 'kk'",),
        ("did you mean 'k'",),
    ),
    # ---- fit: where it writes
    Bad(
        "out-is-a-file",
        lambda ws: ["fit", "tab.csv", "-o", "a-file"],
        ("a-file", "is a file, not a folder"),
        ("give a new folder name",),
    ),
    Bad(
        "out-below-a-file",
        lambda ws: ["fit", "tab.csv", "-o", "a-file/run"],
        ("a-file/run", "is a file"),
        ("nothing can be written below it",),
    ),
    # ("out-is-read-only" runs in its own test below: it needs a read-only folder.)
    # ---- fit: resume
    Bad(
        "resume-with-changed-options",
        lambda ws: _text_fine_tune(ws, "--lr", "0.002", "--resume"),
        ("cannot resume ft", "lr: 0.001 -> 0.002"),
        ("use the same options or a new --out",),
        setup=_first_fine_tune,
    ),
    Bad(
        "resume-without-out",
        lambda ws: ["fit", "text.csv", "-b", BERT["spec"], "-s", "head", "--resume"],
        ("--resume needs --out",),
        ("the run folder to continue",),
    ),
    Bad(
        "resume-with-nothing-to-resume",
        lambda ws: [*_text_fine_tune(ws)[:-2], "-o", folder(ws / "fresh"), "--resume"],
        ("nothing to resume in", "fresh"),
        ("no train_config.json",),
    ),
    Bad(
        "resume-from-a-pickled-checkpoint",
        lambda ws: _text_fine_tune(ws, "--resume"),
        ("cannot resume from", "training.pt is damaged", "refused unread"),
        ("to start over",),
        setup=_run_with_a_tampered_checkpoint,
    ),
    # ---- predict / evaluate: tampered run folders
    Bad(
        "garbage-config-json",
        _damage("config.json", lambda p: p.write_text("{garbage")),
        ("run/config.json", "not valid JSON", "line 1, column 2"),
        ("fit it again",),
    ),
    Bad(
        "config-json-not-an-object",
        _damage("config.json", lambda p: p.write_text("[1, 2]")),
        ("run/config.json", "JSON list, not an object"),
        ("fit it again",),
    ),
    Bad(
        "config-json-missing-a-key",
        _damage("config.json", lambda p: edit_json(p, lambda c: {k: v for k, v in c.items() if k != "modality"})),
        ("run/config.json", "'modality'"),
        ("fit it again",),
    ),
    Bad(
        "config-json-unknown-option",
        _damage("config.json", lambda p: edit_json(p, lambda c: {**c, "params": {**c["params"], "evil": 1}})),
        ("run/config.json", "option 'evil'"),
        ("fit it again",),
    ),
    Bad(
        "config-json-bad-option-value",
        _damage("config.json", lambda p: edit_json(p, lambda c: {**c, "params": {**c["params"], "val_size": "lots"}})),
        ("run/config.json", "val_size", "'lots'"),
        ("fit it again",),
    ),
    Bad(
        "truncated-safetensors",
        _damage("model.safetensors", _truncate),
        ("run/model.safetensors", "not a readable safetensors file"),
        ("write it again",),
    ),
    Bad(
        "random-byte-safetensors",
        _damage("model.safetensors", _random_bytes),
        ("run/model.safetensors", "not a readable safetensors file"),
        ("write it again",),
    ),
    Bad(
        "pickle-where-weights-belong",
        _damage("model.safetensors", _pickle_weights),
        ("run/model.safetensors", "never from pickles"),
        ("write it again",),
    ),
    Bad(
        "head-of-the-wrong-shape",
        _damage("model.safetensors", _wrong_head),
        ("run/model.safetensors", "head of shape (5, 7)", "2 classes"),
        ("fit it again",),
    ),
    Bad(
        "garbage-labels-json",
        _damage("labels.json", lambda p: p.write_text("oops")),
        ("run/labels.json", "not valid JSON"),
        ("fit it again",),
    ),
    Bad(
        "labels-json-names-a-class-twice",
        _damage("labels.json", lambda p: p.write_text('["up", "up"]')),
        ("run/labels.json", "names a class twice"),
        ("fit it again",),
    ),
    Bad(
        "pickle-in-the-saved-backbone",
        lambda ws: ["predict", _pickle_backbone(ws), "text.csv", "-o", "p.csv"],
        ("bert-run/backbone", "no safetensors weights"),
        ("never loads pickled weights",),
    ),
    Bad(
        "predict-without-the-text-column",
        lambda ws: ["predict", "bert-run", "tab.csv", "-o", "p.csv"],
        ("tab.csv", "lacks column 'text'"),
        ("columns: a, b, c, label",),
    ),
    Bad(
        "not-a-run-folder",
        lambda ws: ["predict", "images", "tab.csv", "-o", "p.csv"],
        ("images", "not a headstart run folder"),
        ("headstart fit",),
    ),
    Bad(
        "run-folder-is-a-file",
        lambda ws: ["predict", "a-file", "tab.csv", "-o", "p.csv"],
        ("a-file", "is a file, not a run folder"),
        ("the folder `headstart fit` wrote",),
    ),
    Bad(
        "predict-without-the-input-column",
        lambda ws: ["predict", "run", "text.csv", "-o", "p.csv"],
        ("text.csv", "lacks column 'a'"),
        ("columns: text, label",),
    ),
    Bad(
        "predict-other-modality",
        lambda ws: ["predict", "run", "images", "-o", "p.csv"],
        ("images", "takes tabular inputs"),
        ("give it data like the run's training data",),
    ),
    Bad(
        "fit-multi-table-without-a-label-column",
        lambda ws: ["fit-multi", f"t={write_csv(ws / 'nl.csv', text=['good', 'bad', 'fine'])}", "-o", "mt"],
        ("nl.csv", "no label column"),
        ("--label-col",),
    ),
    Bad(
        "fit-multi-table-not-name-equals-path",
        lambda ws: ["fit-multi", "text.csv", "-o", "mt"],
        ("task table 'text.csv'", "not NAME=PATH"),
        ("e.g. sst2=data/sst2.csv",),
    ),
    Bad(
        "fit-multi-eval-of-an-unknown-task",
        lambda ws: ["fit-multi", "a=text.csv", "--eval", "b=text.csv", "-o", "mt"],
        ("--eval names task 'b'", "no training table"),
        ("tasks: a",),
    ),
    Bad(
        "predict-explain-without-attention",
        lambda ws: ["predict", "run", "tab.csv", "-o", "p.csv", "--explain"],
        ("run", "has no attention weights to explain"),
        ("--strategy attentive-probe", "leave out --explain"),
    ),
    Bad(
        "predict-explain-no-rows",
        lambda ws: ["predict", "run", "tab.csv", "-o", "p.csv", "--explain", "--explain-rows", "0"],
        ("--explain-rows", "got 0"),
        ("at least 1",),
    ),
    Bad(
        "attentive-probe-without-tokens",
        lambda ws: ["fit", "images", "-b", "scratch:lenet", "-s", "attentive-probe", "-o", "run-att"],
        ("attentive-probe", "scratch:lenet", "only pooled ones"),
        ("use a text encoder",),
    ),
    Bad(
        "predict-out-is-a-folder",
        lambda ws: ["predict", "run", "tab.csv", "-o", "images"],
        ("images", "is a folder"),
        ("give a file name",),
    ),
    Bad(
        "evaluate-unseen-label",
        lambda ws: ["evaluate", "run", write_csv(ws / "ev.csv", a=[1.0], b=[0.0], c=[0.0], label=["UP"])],
        ("ev.csv", "row 1", "label 'UP' was not seen in training"),
        ("classes: down, up",),
    ),
    Bad(
        "evaluate-without-labels",
        lambda ws: ["evaluate", "run", write_csv(ws / "nl.csv", a=[1.0], b=[0.0], c=[0.0])],
        ("nl.csv", "label column 'label' not in"),
        ("name it with --label-col",),
    ),
    # ---- the other commands
    Bad(
        "rank-unknown-score",
        lambda ws: ["rank", "tab.csv", "-c", "identity", "--scores", "leepp"],
        ("unknown transferability score 'leepp'",),
        ("did you mean 'leep'",),
    ),
    Bad(
        "rank-sample-above-row-count",
        lambda ws: ["rank", "tab.csv", "-c", "identity", "--sample", "500"],
        ("tab.csv", "--sample 500"),
        ("give at most 40",),
    ),
    Bad(
        "shift-modalities-differ",
        lambda ws: ["shift", "tab.csv", "text.csv", "-b", "identity"],
        ("tab.csv", "text.csv", "tabular", "text"),
        ("one modality",),
    ),
    Bad(
        "compare-budgets-not-numbers",
        lambda ws: ["compare", "tab.csv", "-b", "identity", "--budgets", "a,b"],
        ("--budgets", "'a,b'"),
        ("comma-separated numbers",),
    ),
    Bad(
        "fewshot-unknown-method",
        lambda ws: ["fewshot", "tab.csv", "tab.csv", "-b", "identity", "-m", "protonett"],
        ("unknown few-shot method 'protonett'",),
        ("did you mean 'protonet'",),
    ),
    Bad(
        "fewshot-eval-too-few-classes",
        lambda ws: ["fewshot-eval", "tab.csv", "-b", "identity", "--ways", "5"],
        ("tab.csv", "only 2 class"),
        ("need at least 5",),
    ),
    Bad(
        "meta-train-fewer-classes-than-ways",
        lambda ws: ["meta-train", "tab.csv", "--ways", "5", "-o", "meta-run"],
        ("tab.csv", "only 2 class"),
        ("need at least 5",),
    ),
    Bad(
        "meta-train-fewer-rows-than-shots-and-queries",
        lambda ws: ["meta-train", "tab.csv", "--ways", "2", "--shots", "30", "-o", "meta-run"],
        ("2-way 30-shot", "15 queries"),
        ("at least 45 rows each",),
    ),
    Bad(
        "meta-train-unknown-method",
        lambda ws: ["meta-train", "tab.csv", "-m", "mamll", "-o", "meta-run"],
        ("unknown meta-learning method 'mamll'",),
        ("did you mean 'maml'",),
    ),
    Bad(
        "zeroshot-on-numbers",
        lambda ws: ["zeroshot", "tab.csv", "--labels", "a,b"],
        ("tab.csv", "tabular"),
        ("texts or images",),
    ),
    Bad(
        "zeroshot-garbage-descriptions",
        lambda ws: ["zeroshot", "text.csv", "-d", put(ws / "d.json", "{x")],
        ("d.json", "cannot read"),
        ("a JSON object {label: description}",),
    ),
    Bad(
        "adapt-unknown-method",
        lambda ws: ["adapt", "tab.csv", "tab.csv", "-m", "dannn"],
        ("unknown adaptation method 'dannn'",),
        ("did you mean 'dann'",),
    ),
    Bad(
        "adapt-out-is-a-file",
        lambda ws: ["adapt", "tab.csv", "tab.csv", "-b", "scratch:mlp", "-o", "tab.csv"],
        ("tab.csv", "is a file, not a folder"),
        ("give a new folder name",),
    ),
    Bad(
        "distill-garbage-teacher",
        lambda ws: ["distill", put(ws / "run" / "config.json", "nope").parent, "tab.csv", "-o", "st"],
        ("run/config.json", "not valid JSON"),
        ("fit it again",),
    ),
    Bad(
        "distill-bad-head-init",
        lambda ws: ["distill", "run", "tab.csv", "--head-init", "x", "-o", "st"],
        ("--head-init", "'x'"),
        ("probe, teacher or random",),
    ),
    Bad(
        "export-unknown-format", lambda ws: ["export", "run", "--format", "tflite"], ("--format", "'tflite'"), ("onnx",)
    ),
    Bad(
        "export-damaged-weights",
        lambda ws: ["export", _truncated_run(ws, "bert-run")],
        ("bert-run/model.safetensors", "not a readable safetensors file"),
        ("write it again",),
    ),
    Bad(
        "audit-missing-group-column",
        lambda ws: ["audit", "run", "tab.csv", "-g", "nope"],
        ("group column 'nope'", "tab.csv"),
        ("columns: a, b, c, label",),
    ),
    Bad(
        "rl-train-unknown-environment",
        lambda ws: ["rl-train", "CartPol-v1", "-o", "rl-run"],
        ("unknown environment 'CartPol-v1'",),
        ("did you mean 'CartPole-v1'", "available: CartPole-v1"),
    ),
    Bad(
        "rl-train-parameter-the-environment-lacks",
        lambda ws: ["rl-train", "CartPole-v1:lenght=1.0", "-o", "rl-run"],
        ("CartPole-v1 has no parameter 'lenght'",),
        ("did you mean 'length'", "parameters: gravity"),
    ),
    Bad(
        "rl-train-dqn-on-continuous-actions",
        lambda ws: ["rl-train", "Pendulum-v1", "--algo", "dqn", "-o", "rl-run"],
        ("DQN needs discrete actions", "Pendulum-v1"),
        ("use --algo sac or ppo",),
    ),
    Bad(
        "rl-transfer-from-a-folder-that-is-not-an-rl-run",
        lambda ws: ["rl-transfer", "run", "CartPole-v1:length=0.8", "-o", "tr"],
        ("run is not an RL run", "rl_config.json"),
        ("headstart rl-train ENV -o run",),
    ),
    Bad(
        "rl-transfer-damaged-rl-config",
        lambda ws: [
            "rl-transfer",
            put(folder(ws / "rl-bad") / "rl_config.json", '{"kind": "rl-agent"}').parent,
            "CartPole-v1",
            "-o",
            "tr",
        ],  # fmt: skip
        ("rl-bad/rl_config.json lacks 'env'",),
        ("write it again with rl-train",),
    ),
    Bad(
        "rl-transfer-policy-across-action-spaces",
        lambda ws: ["rl-transfer", "rl-src", "Acrobot-v1", "--method", "policy", "-o", "tr"],
        ("policy transfer needs the same", "Discrete(2) in CartPole-v1, Discrete(3) in Acrobot-v1"),
        ("methods that still apply: scratch",),
        setup=lambda ws: _rl_source(ws),
    ),
    Bad(
        "rl-transfer-unknown-method",
        lambda ws: ["rl-transfer", "rl-src", "CartPole-v1:length=0.8", "--method", "polcy", "-o", "tr"],
        ("unknown RL transfer method 'polcy'",),
        ("did you mean 'policy'",),
        setup=lambda ws: _rl_source(ws),
    ),
    Bad(
        "report-tampered-config",
        lambda ws: ["report", put(ws / "run" / "config.json", '{"params": 3}').parent],
        ("run", "section cannot read the run's files"),
        ("write the run again",),
    ),
    Bad(
        "report-of-an-empty-folder",
        lambda ws: ["report", folder(ws / "nothing")],
        ("nothing", "holds no run results"),
        ("--out DIR",),
    ),
    Bad(
        "fit-wav-that-is-not-audio",
        lambda ws: ["fit", _wav_folder(ws, "bad.wav", b"this is text, not sound"), "-o", "r"],
        ("bad.wav", "is not a readable WAV file"),
        ("convert it to PCM WAV",),
    ),
    Bad(
        "fit-stereo-wav",
        lambda ws: ["fit", _wav_folder(ws, "two.wav", np.zeros((400, 2), np.int16)), "-o", "r"],
        ("two.wav", "has 2 channels", "reads mono audio"),
        ("mix it down first", "ffmpeg"),
    ),
    Bad(
        "fit-zero-length-wav",
        lambda ws: ["fit", _wav_folder(ws, "empty.wav", np.zeros(0, np.int16)), "-o", "r"],
        ("empty.wav", "zero-length audio"),
        ("drop it",),
    ),
    Bad(
        "fit-ts-zero-length-series",
        lambda ws: ["fit", _ts(ws, "1,2,3:up\n:down\n"), "-o", "r"],
        ("series 2 of", "toy.ts", "zero-length series"),
        ("drop it",),
    ),
    Bad(
        "fit-ts-channels-differ",
        lambda ws: ["fit", _ts(ws, "1,2:3,4:up\n5,6:down\n", "false"), "-o", "r"],
        ("series 2 of", "toy.ts", "different number of channels"),
        ("every series needs the same channels",),
    ),
    Bad(
        "fit-ts-wrong-header",
        lambda ws: ["fit", _ts(ws, "1,2,3:up\n", header="@name toy\n@values\n"), "-o", "r"],
        ("toy.ts", "not a UCR/UEA .ts file", "no @problemName or @data"),
        ("it needs @problemName",),
    ),
    Bad(
        "pretrain-on-text",
        lambda ws: ["pretrain", "text.csv", "-o", "pt"],
        ("pretrain reads series or audio", "text.csv", "text data"),
        ("a .ts file, a long table, WAVs",),
    ),
    Bad(
        "pretrain-masked-ratio-out-of-range",
        lambda ws: ["pretrain", _ts(ws, "1,2,3:up\n3,2,1:down\n"), "-o", "pt", "--option", "ratio=2"],
        ("masked: ratio", "got 2"),
        ("must be in (0, 1)",),
    ),
    Bad(
        "auto-time-limit-not-a-duration",
        lambda ws: ["auto", "text.csv", "-o", "r", "--time-limit", "soon"],
        ("--time-limit", "'soon'"),
        ("like 90s, 10m or 1h",),
    ),
    Bad(
        "auto-resume-with-nothing-to-resume",
        lambda ws: ["auto", "text.csv", "-o", "r", "--resume"],
        ("nothing to resume in r", "auto.json"),
        ("start it without --resume",),
    ),
    Bad(
        "fit-long-table-label-changes-within-a-series",
        lambda ws: ["fit", _long_table(ws), "-o", "r"],
        ("series 'a'", "long.csv", "2 values in column 'label'"),
        ("one value per series is needed",),
    ),
    Bad(
        "fit-unknown-pooling",
        lambda ws: ["fit", _ts(ws, "1,2,3:up\n4,5:down\n"), "-b", "scratch:tsconv", "--pool", "avg", "-o", "r"],
        ("unknown pooling 'avg'",),
        ("one of mean, max, last, attention",),
    ),
    Bad(
        "fit-split-time-with-eval",
        lambda ws: ["fit", "tab.csv", "--split", "time", "--eval", "tab.csv", "-o", "r"],
        ("--split time splits DATA itself",),
        ("leave out --eval",),
    ),
]


def test_the_catalogue_has_at_least_40_kinds_each_once():
    ids = [b.id for b in CATALOGUE] + [r[0] for r in API]
    assert len(ids) == len(set(ids))
    assert len(CATALOGUE) >= 40
    assert all(b.names and b.fix for b in CATALOGUE), [b.id for b in CATALOGUE if not (b.names and b.fix)]


def test_the_catalogue_covers_every_command_that_reads_input(assets, tmp_path):
    """A new command needs its rows here: models and demo read no input."""
    from headstart.cli import app

    commands = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}
    covered = set()
    for i, bad in enumerate(CATALOGUE):
        shutil.copytree(assets, tmp_path / str(i))
        covered.add(str(bad.build(tmp_path / str(i))[0]))
    missing = commands - covered - {"models", "demo"}
    assert not missing, f"add rows to tests/test_bad_inputs.py for: {', '.join(sorted(missing))}"


def test_the_runs_the_rows_damage_work_when_left_alone(ws, capsys):
    """The tampered-run rows fail because of what they change, not because the runs were bad."""
    for args in (
        ["predict", "run", "tab.csv", "-o", "p.csv"],
        ["predict", "bert-run", "text.csv", "-o", "q.csv"],
        ["report", "run", "-q"],
    ):
        code, _, err = cli(capsys, *args)
        assert code == 0, f"{args}: {err}"


def _check_one_line(code: int, out: str, err: str, bad: Bad) -> str:
    assert code == 2, f"exit {code}\n{err}"
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    line = lines[0]
    assert line.startswith("error: "), line
    for fragment in (*bad.names, *bad.fix):
        assert fragment in line, f"{fragment!r} not in {line!r}"
    return line


@pytest.mark.parametrize("bad", CATALOGUE, ids=[b.id for b in CATALOGUE])
def test_bad_input_is_one_clear_line_exit_2_and_nothing_written(bad, ws, capsys):
    if bad.setup is not None:
        bad.setup(ws)
    argv = [str(a) for a in bad.build(ws)]
    capsys.readouterr()
    before = snapshot(ws)
    code, out, err = cli(capsys, *argv)
    _check_one_line(code, out, err, bad)
    assert snapshot(ws) == before, "the command changed the workspace"
    assert not (ws / "PWNED").exists() and not (ws / "run" / "PWNED").exists(), "a pickle was loaded"


def test_out_is_read_only(ws, capsys):
    with read_only(ws / "locked") as locked:
        before = snapshot(ws)
        code, out, err = cli(capsys, "fit", "tab.csv", "-o", locked / "run")
        _check_one_line(code, out, err, Bad("out-is-read-only", list, ("locked", "read-only"), ("choose a folder",)))
        assert snapshot(ws) == before
        code, out, err = cli(capsys, "predict", "run", "tab.csv", "-o", locked / "p.csv")
        _check_one_line(code, out, err, Bad("predict-out-is-read-only", list, ("locked", "read-only")))


def test_the_trap_pickle_really_runs_code_when_unpickled(tmp_path):
    """The pickle rows would pass for a loader that ignores the file: check that loading it
    with pickle really creates the sentinel, so "not created" means "not loaded"."""
    import torch

    sentinel = tmp_path / "PWNED"
    trap_pickle(tmp_path / "w.pt", sentinel)
    torch.load(tmp_path / "w.pt", weights_only=False)
    assert sentinel.exists()


# ------------------------------------------------------------ the Python API
def _api_fit_wrong_length(ws: Path) -> None:
    from headstart import TransferClassifier

    TransferClassifier(C=1.0).fit(X, Y[:-3])


def _api_load_garbage(ws: Path) -> None:
    from headstart import load_run

    put(ws / "run" / "config.json", "{")
    load_run(ws / "run")


def _api_load_pickle(ws: Path) -> None:
    from headstart import load_run

    trap_pickle(ws / "run" / "model.safetensors", ws / "PWNED")
    load_run(ws / "run")


def _api_read_non_utf8(ws: Path) -> None:
    from headstart.data import load

    load(put(ws / "l1.tsv", "text\tlabel\nna\xefve\tp\n".encode("latin-1")))


def _api_unknown_strategy(ws: Path) -> None:
    from headstart import TransferClassifier

    TransferClassifier(strategy="nope").fit(X, Y)


def _api_save_over_a_file(ws: Path) -> None:
    from headstart import TransferClassifier

    TransferClassifier(C=1.0).fit(X, Y).save(ws / "a-file")


def _api_nan_inputs(ws: Path) -> None:
    from headstart import TransferClassifier

    bad = X.copy()
    bad[1, 2] = np.nan
    TransferClassifier(C=1.0).fit(bad, Y)


def _api_predict_wrong_width(ws: Path) -> None:
    from headstart import load_run

    load_run(ws / "run").predict(X[:, :2])


API: list[tuple[str, Callable[[Path], None], tuple[str, ...]]] = [
    ("api-labels-of-another-length", _api_fit_wrong_length, ("labels has 37 rows but inputs have 40",)),
    ("api-load-garbage-config", _api_load_garbage, ("config.json", "not valid JSON", "fit it again")),
    ("api-load-pickled-weights", _api_load_pickle, ("model.safetensors", "never from pickles")),
    ("api-load-non-utf8-table", _api_read_non_utf8, ("l1.tsv", "not UTF-8", "line 2, column 3")),
    ("api-unknown-strategy", _api_unknown_strategy, ("unknown strategy 'nope'",)),
    ("api-save-over-a-file", _api_save_over_a_file, ("a-file", "is a file, not a folder")),
    ("api-nan-inputs", _api_nan_inputs, ("NaN", "row 2")),
    ("api-predict-other-width", _api_predict_wrong_width, ("2 features", "trained on 3")),
]


@pytest.mark.parametrize("row", API, ids=[r[0] for r in API])
def test_python_api_raises_one_line_and_writes_nothing(row, ws):
    _, call, fragments = row
    before = snapshot(ws)
    with pytest.raises(HeadstartError) as caught:
        call(ws)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    after = snapshot(ws)
    # The row's own set-up (a damaged file, a written table) is the only change.
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed <= {"run/config.json", "run/model.safetensors", "l1.tsv"}, changed
    assert not (ws / "PWNED").exists()


# ----------------------------------------------- odd inputs that are not errors
def _odd_images(root: Path) -> dict[str, Path]:
    """One image of each awkward kind, in a class folder ``odd/`` (and ``plain/`` with RGB ones)."""
    from PIL import Image

    odd = root / "odd"
    odd.mkdir(parents=True)
    grey = np.tile(np.linspace(0, 255, 24, dtype=np.uint8), (24, 1))
    files = {
        "grey": odd / "grey.png",
        "grey-alpha": odd / "la.png",
        "rgba": odd / "rgba.png",
        "palette-transparency": odd / "p.png",
        "cmyk": odd / "cmyk.jpg",
        "16-bit": odd / "sixteen.png",
        "1-bit": odd / "bits.png",
        "float": odd / "float.tif",
    }
    Image.fromarray(grey).save(files["grey"])
    Image.fromarray(np.dstack([grey, grey])).convert("LA").save(files["grey-alpha"])
    Image.fromarray(np.dstack([grey, grey, grey, 255 - grey])).save(files["rgba"])
    palette = Image.fromarray(grey).convert("P")
    palette.info["transparency"] = 0
    palette.save(files["palette-transparency"], transparency=0)
    Image.new("CMYK", (24, 24), (0, 200, 200, 0)).save(files["cmyk"])
    Image.fromarray(np.full((24, 24), 32768, dtype=np.uint16)).save(files["16-bit"])
    Image.fromarray(grey > 127).save(files["1-bit"])
    Image.fromarray(np.full((24, 24), 0.5, dtype=np.float32)).save(files["float"])
    for i in range(len(files)):
        write_image(root / "plain" / f"img{i}.png", (220, 30, 30), seed=i)
    return files


def test_every_image_mode_reads_as_rgb_with_its_range_kept(tmp_path):
    from PIL import Image

    from headstart.backbones.vision import to_pil
    from headstart.data import load

    files = _odd_images(tmp_path / "imgs")
    modes = {name: Image.open(p).mode for name, p in files.items()}
    assert modes["16-bit"].startswith("I;16") and modes["cmyk"] == "CMYK" and modes["float"] == "F"
    data = load(tmp_path / "imgs", strict=True)
    assert len(data) == 2 * len(files)
    for name, path in files.items():
        image = to_pil(path)
        assert image.mode == "RGB" and image.size == (24, 24), name
    # 16-bit mid-grey and float 0.5 are mid-grey, not clipped to white (what convert("RGB") gives).
    assert abs(float(np.asarray(to_pil(files["16-bit"])).mean()) - 128) < 2
    assert abs(float(np.asarray(to_pil(files["float"])).mean()) - 128) < 2
    assert float(np.asarray(Image.open(files["16-bit"]).convert("RGB")).mean()) == 255  # why the scaling exists


def test_fit_and_predict_on_odd_images(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = _odd_images(tmp_path / "imgs")
    args = ("fit", "imgs", "-b", "timm:test_efficientnet", "--scratch", "--C", "1", "-o", "run", "--strict")
    code, _, err = cli(capsys, *args)
    assert code == 0, err
    flat = tmp_path / "flat"
    flat.mkdir()
    for p in files.values():
        shutil.copy(p, flat / p.name)
    code, _, err = cli(capsys, "predict", "run", "flat", "-o", "p.csv", "--strict")
    assert code == 0, err
    assert sorted(pd.read_csv("p.csv")["id"]) == sorted(p.name for p in files.values())


def test_a_corrupt_image_among_good_ones_is_skipped_with_a_warning(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = make_image_folder(tmp_path / "imgs", per_class=3)
    (root / "red" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg" * 10)
    code, _, err = cli(capsys, "fit", "imgs", "-b", "timm:test_efficientnet", "--scratch", "--C", "1", "-o", "run")
    assert code == 0, err
    warning = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "corrupt.jpg" in warning[0] and "--strict" in warning[0]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"]["train_rows"] + json.loads((tmp_path / "run" / "metrics.json").read_text())["n"] == 6


def test_a_100000_character_text_is_truncated_not_refused(tmp_path, capsys, monkeypatch, hf_text_spec):
    monkeypatch.chdir(tmp_path)
    texts, labels = make_texts(20, seed=5)
    long = " ".join(["good"] * 25_000)[:100_000]
    assert len(long) == 99_999 or len(long) == 100_000
    texts[0] = long
    write_csv(tmp_path / "t.csv", text=texts, label=labels)
    assert cli(capsys, "fit", "t.csv", "-b", hf_text_spec, "--C", "1", "-o", "run")[0] == 0
    write_csv(tmp_path / "new.csv", text=[long, "bad film"])
    code, _, err = cli(capsys, "predict", "run", "new.csv", "-o", "p.csv")
    assert code == 0, err
    assert len(pd.read_csv("p.csv")) == 2


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    from headstart.data import load

    path = tmp_path / "bom.csv"
    path.write_bytes("text,label\ngood film,pos\nbad film,neg\n".encode("utf-8-sig"))
    data = load(path)
    assert data.columns["text"] == "text" and data.classes == ["neg", "pos"]


def test_labels_mixing_numbers_and_names_become_names(tmp_path):
    from headstart.data import load

    path = tmp_path / "mixed.jsonl"
    rows = [{"a": 1.0, "label": 1}, {"a": 2.0, "label": "b"}, {"a": 3.0, "label": 1}, {"a": 4.0, "label": "b"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert load(path).classes == ["1", "b"]
