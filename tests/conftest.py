"""Shared fixtures: offline environment, tiny random models, small data files.

Everything here is built from random weights in a temporary folder, so the unit
suite needs no network, no downloaded model and nothing in ~/.cache.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# Set before anything imports huggingface_hub / transformers: both read these
# variables once, at import time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HEADSTART_PROGRESS"] = "0"
# Under pytest-xdist (``make test`` runs one worker per core) the cores are shared out: the
# tests that keep torch's default thread count (``real``) and the CLI processes tests start
# get cores / workers threads each, not every core each (set before torch is imported).
if os.environ.get("PYTEST_XDIST_WORKER_COUNT") and "OMP_NUM_THREADS" not in os.environ:
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    os.environ["OMP_NUM_THREADS"] = str(max(1, _cores // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
# An empty hub cache for the whole session, so that "not cached" is really not
# cached, whatever the machine's ~/.cache/huggingface holds.
# ../shared/data (the real data sets); tests that read it are marked `real` and skip when it is absent.
SHARED = Path(os.environ.get("HEADSTART_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def shared(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


_EMPTY_HOME = tempfile.mkdtemp(prefix="headstart-tests-home-")
os.environ["HF_HOME"] = os.path.join(_EMPTY_HOME, "huggingface")
os.environ["TORCH_HOME"] = os.path.join(_EMPTY_HOME, "torch")


def pytest_unconfigure(config):
    shutil.rmtree(_EMPTY_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def one_torch_thread(request):
    """Unit tests run tiny models: one intra-op thread is as fast when the machine is idle and
    up to 100x faster when another process keeps the cores busy (thread-pool contention).
    Tests marked ``real`` keep torch's default."""
    if "real" in request.keywords:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session", autouse=True)
def feature_cache(tmp_path_factory) -> Path:
    """HEADSTART_CACHE points to a fresh folder for the session (never ~/.cache)."""
    path = tmp_path_factory.mktemp("headstart-cache")
    old = os.environ.get("HEADSTART_CACHE")
    os.environ["HEADSTART_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("HEADSTART_CACHE", None)
    else:
        os.environ["HEADSTART_CACHE"] = old


# --------------------------------------------------------------------- texts
POSITIVE = (
    "good great happy fun love lovely nice best brilliant wonderful amazing excellent superb "
    "enjoyable delightful charming sweet bright warm funny clever fresh perfect beautiful"
).split()
NEGATIVE = (
    "bad awful boring sad hate terrible worst dull poor ugly slow weak broken messy cold "
    "bland silly rough dark lame annoying painful stupid tired wrong"
).split()
NEUTRAL = (
    "the a an this that film movie book story show plot actor music song food meal place "
    "day night was is it very really quite so and but with of to in for my our we they"
).split()
VOCAB_WORDS = sorted(set(POSITIVE + NEGATIVE + NEUTRAL))
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def make_texts(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` short texts of varying length, labelled "pos" / "neg" by their sentiment words."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        words = POSITIVE if label == "pos" else NEGATIVE
        k = int(rng.integers(1, 9))
        picked = list(rng.choice(NEUTRAL, size=k)) + list(rng.choice(words, size=int(rng.integers(1, 4))))
        rng.shuffle(picked)
        texts.append(" ".join(picked))
        labels.append(label)
    return texts, labels


# --------------------------------------------------------------- tiny models
def _tiny_bert(folder: Path) -> Path:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab-src.txt"
    vocab.write_text("\n".join(SPECIAL_TOKENS + VOCAB_WORDS) + "\n")
    config = BertConfig(
        vocab_size=len(SPECIAL_TOKENS) + len(VOCAB_WORDS),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    BertModel(config).eval().save_pretrained(folder)
    # Positional: transformers 4 calls it vocab_file, 5 calls it vocab (and ignores vocab_file=).
    tokenizer = BertTokenizerFast(str(vocab), do_lower_case=True)
    assert len(tokenizer) == config.vocab_size, "the tokenizer did not read vocab.txt"
    tokenizer.save_pretrained(folder)
    vocab.unlink()
    return folder


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A random 2-layer, 32-d BERT with a ~110-word WordPiece vocabulary (plain: mean pooling)."""
    return _tiny_bert(tmp_path_factory.mktemp("tiny-bert") / "model")


@pytest.fixture(scope="session")
def tiny_st_dir(tmp_path_factory, tiny_bert_dir) -> Path:
    """The same BERT laid out as a sentence-transformers model: CLS pooling, Normalize, max 16 tokens."""
    folder = tmp_path_factory.mktemp("tiny-st") / "model"
    shutil.copytree(tiny_bert_dir, folder)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir()
    pooling = {
        "word_embedding_dimension": 32,
        "pooling_mode_cls_token": True,
        "pooling_mode_mean_tokens": False,
        "pooling_mode_max_tokens": False,
    }
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (folder / "2_Normalize").mkdir()
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 16, "do_lower_case": False}))
    return folder


@pytest.fixture(scope="session")
def tiny_vit_dir(tmp_path_factory) -> Path:
    """A random 2-layer ViT on 32x32 images (patch 8) with its image processor."""
    import torch
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    folder = tmp_path_factory.mktemp("tiny-vit") / "model"
    config = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
    )
    torch.manual_seed(0)
    ViTModel(config).eval().save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def hf_text_spec(tiny_bert_dir) -> str:
    return f"hf:{tiny_bert_dir}"


@pytest.fixture(scope="session")
def hf_text_backbone(hf_text_spec):
    """The tiny BERT loaded once; tests must not change its weights."""
    from headstart.backbones import load_backbone

    return load_backbone(hf_text_spec)


# ----------------------------------------------------------------- images
def write_image(path: Path, colour: tuple[int, int, int], seed: int = 0, size: int = 24) -> Path:
    """A small RGB image: a flat colour plus a little noise (so images differ)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    arr = np.clip(np.asarray(colour, dtype=np.int16) + rng.integers(-20, 21, size=(size, size, 3)), 0, 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.astype(np.uint8)).save(path)
    return path


COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220)}


def make_image_folder(root: Path, per_class: int = 4, split: str | None = None, ext: str = "png") -> Path:
    """``root/[split/]<class>/img<i>.<ext>`` for the classes red and blue."""
    base = root / split if split else root
    for k, (name, colour) in enumerate(COLOURS.items()):
        for i in range(per_class):
            write_image(base / name / f"img{i}.{ext}", colour, seed=100 * k + i + (7 if split == "val" else 0))
    return root


@pytest.fixture
def image_folder(tmp_path) -> Path:
    return make_image_folder(tmp_path / "images")


@pytest.fixture
def split_image_folder(tmp_path) -> Path:
    root = tmp_path / "split-images"
    make_image_folder(root, per_class=5, split="train")
    make_image_folder(root, per_class=3, split="val")
    return root


# ----------------------------------------------------------------- tables
@pytest.fixture
def text_csv(tmp_path) -> Path:
    texts, labels = make_texts(40, seed=1)
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


# ---- command-line helpers shared by test_cli.py and test_train.py
def kill_paused_run(args: list[str], pointer: Path, env: dict[str, str], what: str, wait: float = 180) -> None:
    """Run ``paused_cli.py`` with ``args`` (it sleeps after each checkpoint) and SIGKILL it once the
    checkpoint ``pointer`` exists: the kill lands while the run has a checkpoint and is not over."""
    import signal
    import subprocess
    import sys
    import time

    script = Path(__file__).parent / "paused_cli.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + wait
    while not pointer.is_file():
        assert proc.poll() is None and time.time() < deadline, f"the run ended or hung before {what}"
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def cli(capsys, *args) -> tuple[int, str, str]:
    from headstart.cli import run

    code = run([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_error_line(result: tuple[int, str, str], *fragments: str) -> str:
    code, _, err = result
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert lines[0].startswith("error:"), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]
