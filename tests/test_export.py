"""Export: ONNX (+ int8), parity, size / latency table, and the torch-free runtime.

Fast tests on the tiny BERT and timm's ``test_efficientnet`` (random weights);
the last two (marked ``real``) check the runtime against ``headstart predict``
on SST-2 dev and hymenoptera val, and skip when ../shared/data is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import assert_one_error_line, cli, make_image_folder, make_texts, shared

from headstart import TransferClassifier
from headstart.classifier import load_run
from headstart.cli import run as cli_run
from headstart.data import from_arrays, load
from headstart.errors import HeadstartError
from headstart.export import compare, describe_transform, export_run, measure

# The runtime must load where torch cannot be imported at all.
NO_TORCH = (
    "import sys\n"
    "for _m in ('torch', 'transformers', 'timm', 'torchvision', 'accelerate'):\n"
    "    sys.modules[_m] = None\n"
)
RUNTIME = NO_TORCH + (
    "import json\n"
    "from headstart.runtime import Predictor\n"
    "p = Predictor(sys.argv[1], int8=sys.argv[3] == 'int8')\n"
    "xs = json.load(open(sys.argv[2]))\n"
    "print(json.dumps([str(v) for v in p.predict(xs)]))\n"
    "extra = sorted(m for m in sys.modules if m.startswith('headstart.') and m not in "
    "('headstart.runtime', 'headstart.errors'))\n"
    "assert not extra, extra\n"
)


def runtime_predict(folder: Path, inputs: list, tmp_path: Path, int8: bool = False) -> list[str]:
    """Predictions of headstart.runtime in a fresh interpreter where `import torch` fails."""
    path = tmp_path / "inputs.json"
    path.write_text(json.dumps([str(x) for x in inputs]))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-c", RUNTIME, str(folder), str(path), "int8" if int8 else "fp32"]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def one_thread(fn):  # module fixtures run before conftest's one-thread fixture
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn()
    finally:
        torch.set_num_threads(before)


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def text_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text-data")
    for name, n, seed in (("train.csv", 60, 1), ("test.csv", 40, 2)):
        texts, labels = make_texts(n, seed=seed)
        pd.DataFrame({"review": texts, "label": labels}).to_csv(folder / name, index=False)
    return folder


@pytest.fixture(scope="module")
def text_run(tmp_path_factory, hf_text_spec, text_files):
    """A fine-tuned tiny BERT run (backbone/ in the folder), exported by the CLI with int8."""
    folder = tmp_path_factory.mktemp("text-run") / "run"

    def make() -> None:
        args = ["fit", text_files / "train.csv", "-b", hf_text_spec, "-s", "full", "--epochs", "1", "--lr", "1e-3"]
        assert cli_run([str(a) for a in [*args, "-o", folder]]) == 0
        export = ["export", folder, "--format", "onnx", "--quantize", "int8", "--eval", text_files / "test.csv"]
        assert cli_run([str(a) for a in [*export, "--repeats", "3"]]) == 0

    one_thread(make)
    return folder


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """A linear probe on random-weight test_efficientnet over a train/val image folder, exported
    with static int8 (calibrated on the run's training images, found through its config)."""
    root = tmp_path_factory.mktemp("images") / "data"
    make_image_folder(root, per_class=6, split="train")
    make_image_folder(root, per_class=4, split="val")
    folder = root.parent / "run"

    def make() -> None:
        args = ["fit", root, "-b", "timm:test_efficientnet", "--scratch", "-s", "linear-probe", "-o", folder]
        assert cli_run([str(a) for a in args]) == 0
        export = ["export", folder, "--quantize", "int8", "--eval", root / "val", "--repeats", "2"]
        assert cli_run([str(a) for a in export]) == 0

    one_thread(make)
    return folder


def report(run: Path) -> dict:
    return json.loads((run / "export" / "export.json").read_text())


# ------------------------------------------------------------------ text
def test_text_export_files_table_and_parity(text_run):
    r = report(text_run)
    files = {p.name for p in (text_run / "export").iterdir()}
    assert {"model.onnx", "model.int8.onnx", "preprocess.json", "tokenizer.json", "export.json"} <= files
    assert [row["model"] for row in r["table"]] == ["pytorch-fp32", "onnx-fp32", "onnx-int8"]
    for row in r["table"]:
        assert set(row["latency_ms"]) == {"batch 1", "batch 32"}
        assert all(v["p95_ms"] >= v["p50_ms"] > 0 for v in row["latency_ms"].values())
        assert 0 <= row["accuracy"] <= 1
    assert r["parity"]["onnx-fp32"]["max_abs_diff"] < 1e-4
    assert r["parity"]["onnx-fp32"]["top1_agreement"] == 1.0
    assert r["parity"]["onnx-fp32"]["rows"] == 40
    assert r["preprocess_parity"]["identical_token_ids"] == 1.0
    assert r["quantization"]["mode"] == "dynamic"
    sizes = {row["model"]: row["size_bytes"] for row in r["table"]}
    assert sizes["onnx-int8"] < sizes["onnx-fp32"]
    spec = json.loads((text_run / "export" / "preprocess.json").read_text())
    assert spec["classes"] == ["neg", "pos"] and spec["inputs"] == r["onnx"]["inputs"]
    assert spec["max_length"] == load_run(text_run).backbone_.max_length


def test_onnx_takes_any_batch_size_and_sequence_length(text_run):
    import onnxruntime as ort

    clf = load_run(text_run)
    session = ort.InferenceSession(str(text_run / "export" / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.shape for i in session.get_inputs()][0] == ["batch", "sequence"]
    for texts in (["good"], make_texts(7, seed=5)[0]):
        batch = clf.backbone_.preprocess(texts)
        feed = {i.name: batch[i.name].numpy() for i in session.get_inputs()}
        with torch.no_grad():
            expected = clf.head_(clf.backbone_.forward_features(batch)).numpy()
        got = session.run(None, feed)[0]
        assert got.shape == (len(texts), 2)
        assert np.abs(got - expected).max() < 1e-4


def test_runtime_predicts_like_headstart_predict_without_torch(text_run, text_files, tmp_path, capsys):
    code, _, err = cli(capsys, "predict", text_run, text_files / "test.csv", "-o", tmp_path / "p.csv")
    assert code == 0, err
    expected = pd.read_csv(tmp_path / "p.csv")
    got = runtime_predict(text_run / "export", expected["input"].tolist(), tmp_path)
    assert got == expected["prediction"].astype(str).tolist()
    int8 = runtime_predict(text_run, expected["input"].tolist(), tmp_path, int8=True)  # the run folder works too
    assert np.mean(np.array(int8) == np.array(got)) >= 0.9


def test_runtime_command_line(text_run, tmp_path):
    args = [sys.executable, "-m", "headstart.runtime", str(text_run / "export"), "good fun", "awful day"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].endswith("\tgood fun")
    done = subprocess.run([*args[:3], str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stderr.startswith("error:") and "not an export folder" in done.stderr


# ------------------------------------------------------------------ images
def test_image_export_static_int8(image_run):
    r = report(image_run)
    q = r["quantization"]
    assert q["mode"] == "static" and q["format"] == "QDQ" and q["calibration_rows"] == 12
    assert r["eval"]["rows"] == 8 and r["eval"]["rows_from"] == "eval"
    assert r["parity"]["onnx-fp32"]["max_abs_diff"] < 1e-3
    assert r["parity"]["onnx-fp32"]["top1_agreement"] == 1.0
    assert r["int8_vs_fp32"]["size_ratio"] < 0.5
    assert r["preprocess_parity"]["max_abs_diff"] < 1e-5  # the runtime's PIL pipeline = torchvision's
    spec = json.loads((image_run / "export" / "preprocess.json").read_text())
    assert spec["resize"] == {"size": 168, "interpolation": "bicubic"} and spec["crop"] == [160, 160]


def test_image_runtime_predicts_like_headstart_predict(image_run, tmp_path, capsys):
    val = image_run.parent / "data" / "val"
    code, _, err = cli(capsys, "predict", image_run, val, "-o", tmp_path / "p.csv")
    assert code == 0, err
    expected = pd.read_csv(tmp_path / "p.csv")
    got = runtime_predict(image_run / "export", expected["input"].tolist(), tmp_path)
    assert got == expected["prediction"].astype(str).tolist()


def test_runtime_image_pipeline_matches_torchvision_on_odd_sizes(tmp_path):
    from PIL import Image
    from torchvision import transforms

    from headstart.backbones import load_backbone
    from headstart.runtime import ImageInputs

    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in [(37, 53), (301, 200)]]
    backbone = load_backbone("timm:test_efficientnet", pretrained=False)
    spec = {"inputs": ["pixel_values"], **describe_transform(backbone.transform)}
    ours = ImageInputs(spec)
    for img in images:
        assert np.array_equal(ours.array(img), backbone.transform(img).numpy())
    # A crop larger than the image: torchvision pads with zeros.
    pipeline = transforms.Compose([transforms.CenterCrop(64), transforms.ToTensor()])
    spec = {"inputs": ["x"], **describe_transform(pipeline)}
    assert np.array_equal(ImageInputs(spec).array(images[0]), pipeline(images[0]).numpy())
    with pytest.raises(HeadstartError, match="does not know the step ColorJitter"):
        describe_transform(transforms.Compose([transforms.ColorJitter(), transforms.ToTensor()]), "x")


# ------------------------------------------------------------------ errors
def test_a_layer_exports_and_runs_that_cannot_be_exported_say_why(tmp_path, capsys, hf_text_spec, text_files):
    layer = tmp_path / "layer"
    args = ["fit", text_files / "train.csv", "-b", f"{hf_text_spec}@block1", "-s", "linear-probe", "-o", layer]
    assert cli(capsys, *args)[0] == 0
    # A layer exports (its pass runs to the end under export) and matches PyTorch.
    code, _, err = cli(capsys, "export", layer, "--eval", text_files / "train.csv", "--repeats", "1")
    assert code == 0, err
    parity = json.loads((layer / "export" / "export.json").read_text())["parity"]["onnx-fp32"]
    assert parity["max_abs_diff"] < 1e-4 and parity["top1_agreement"] == 1.0
    table = tmp_path / "table.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30), "label": [0, 1] * 15}).to_csv(table)
    assert cli(capsys, "fit", table, "--feature-cols", "a,b", "-o", tmp_path / "tab")[0] == 0
    assert_one_error_line(cli(capsys, "export", tmp_path / "tab"), "cannot export a tabular run")
    assert_one_error_line(cli(capsys, "export", layer, "--format", "tflite"), "--format must be onnx")
    assert_one_error_line(cli(capsys, "export", layer, "--quantize", "int4"), "--quantize takes int8")
    assert_one_error_line(cli(capsys, "export", tmp_path / "none"), "no such run folder")


def test_static_quantization_without_calibration_rows(tmp_path):
    root = make_image_folder(tmp_path / "img", per_class=3)
    paths = sorted(str(p) for p in root.rglob("*.png"))
    clf = TransferClassifier(backbone="timm:test_efficientnet", pretrained=False, strategy="linear-probe")
    clf.fit(from_arrays(paths, ["blue"] * 3 + ["red"] * 3)).save(tmp_path / "run")  # no data source recorded
    with pytest.raises(HeadstartError, match="static int8 quantization needs calibration rows"):
        export_run(tmp_path / "run", quantize_to="int8", mode="static")
    with pytest.raises(HeadstartError, match="quantization mode must be one of"):
        export_run(tmp_path / "run", quantize_to="int8", mode="fast")


# ------------------------------------------------------------------ pieces
def test_parity_figures():
    ref = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]])
    got = compare(ref, ref + np.array([[0.0, 0.5], [0.1, 0.0], [0.0, 1.5]]))
    assert got["max_abs_diff"] == 1.5 and got["top1_agreement"] == pytest.approx(2 / 3)
    assert got["top1_disagreements"] == 1


def test_latency_percentiles_and_interleaving():
    calls: list[str] = []
    out = measure({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=4, warmup=1)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a"]
    assert out["a"]["repeats"] == 4 and out["a"]["p95_ms"] >= out["a"]["p50_ms"]


# ------------------------------------------------------------------ real data
@pytest.mark.real
def test_real_sst2_runtime_matches_predict(tmp_path, capsys):
    folder = shared("text", "sst2")
    run = tmp_path / "run"
    args = ["fit", folder / "train.tsv", "--sample", "500", "-s", "linear-probe", "--eval", folder / "dev.tsv"]
    assert cli(capsys, *args, "-o", run)[0] == 0
    assert cli(capsys, "export", run, "--repeats", "2", "--eval", folder / "dev.tsv")[0] == 0
    assert cli(capsys, "predict", run, folder / "dev.tsv", "-o", tmp_path / "p.csv")[0] == 0
    expected = pd.read_csv(tmp_path / "p.csv")
    got = runtime_predict(run / "export", load(folder / "dev.tsv").inputs, tmp_path)
    assert len(got) == 872 and got == expected["prediction"].astype(str).tolist()


@pytest.mark.real
def test_real_hymenoptera_runtime_matches_predict(tmp_path, capsys):
    root = shared("images", "hymenoptera")
    run = tmp_path / "run"
    assert cli(capsys, "fit", root, "-s", "linear-probe", "-o", run)[0] == 0
    assert cli(capsys, "export", run, "--quantize", "int8", "--repeats", "2", "--eval", root / "val")[0] == 0
    assert cli(capsys, "predict", run, root / "val", "-o", tmp_path / "p.csv")[0] == 0
    expected = pd.read_csv(tmp_path / "p.csv")
    got = runtime_predict(run / "export", expected["input"].tolist(), tmp_path)
    assert len(got) == 153 and got == expected["prediction"].astype(str).tolist()
