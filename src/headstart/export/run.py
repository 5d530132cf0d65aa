"""``export_run(RUN)``: ONNX (+ int8), parity, size, latency and accuracy, into ``RUN/export/``.

Writes ``model.onnx`` (+ ``model.int8.onnx``), ``preprocess.json`` (+
``tokenizer.json``) and ``export.json``, whose ``table`` has one row per model
(PyTorch eager fp32, ONNX fp32, ONNX int8): file size, p50 / p95 latency on the
CPU at batch 1 and batch 32 (the same batch, the same number of threads for
all, interleaved repeats), accuracy on the evaluation rows, and top-1 agreement
with PyTorch on them. All three see the same preprocessed tensors (PyTorch's
preprocessing), so the figures compare the models alone; ``preprocess_parity``
checks separately that the torch-free runtime's preprocessing gives the same
tensors.

    >>> report = export_run("runs/hymenoptera", quantize="int8", eval_data=hs.load("val/"))
    >>> [(r["model"], r["accuracy"]) for r in report["table"]]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from headstart.data import Dataset
from headstart.errors import HeadstartError
from headstart.export.latency import measure
from headstart.export.onnx import ImageClassifier, TextClassifier, check_exportable, input_names, to_onnx
from headstart.export.parity import compare, task_score
from headstart.export.preprocess import record
from headstart.export.quantize import choose_mode, quantize
from headstart.io import write_json
from headstart.progress import stderr

EXPORT_DIR = "export"
EXPORT_JSON = "export.json"
PREPROCESS_JSON = "preprocess.json"
FP32, INT8 = "model.onnx", "model.int8.onnx"
PAUSE = 0.2  # seconds before each timed call: the previous library's threads go idle
Batch = tuple[np.ndarray, dict[str, np.ndarray]]


def torch_batches(clf: Any, inputs: list[Any], batch_size: int) -> list[Batch]:
    """(row indices, inputs as numpy) per batch, with headstart's own (PyTorch) preprocessing."""
    backbone = clf.backbone_
    names = input_names(clf)
    out: list[Batch] = []
    if clf.modality_ == "text":
        ids, lengths = backbone.prepare(inputs)
        order = np.argsort(-lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = backbone.collate([ids[i] for i in rows])
            out.append((rows, {k: batch[k].numpy() for k in names}))
        return out
    for start in range(0, len(inputs), batch_size):
        rows = np.arange(start, min(start + batch_size, len(inputs)))
        out.append((rows, {"pixel_values": backbone.preprocess([inputs[i] for i in rows]).numpy()}))
    return out


def run_batches(fn: Callable[[dict[str, np.ndarray]], np.ndarray], batches: list[Batch], n: int) -> np.ndarray:
    logits: np.ndarray | None = None
    for rows, feed in batches:
        out = np.asarray(fn(feed), dtype=np.float32)
        if logits is None:
            logits = np.empty((n, out.shape[1]), dtype=np.float32)
        logits[rows] = out
    return logits if logits is not None else np.zeros((0, 0), dtype=np.float32)


def ort_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # No spin-waiting after a run: spinning threads would steal the cores from the
    # next model timed (PyTorch's), and from anything else on a shared machine.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _nbytes(module: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in module.state_dict().values())


def _training_rows(run: Path, config: dict[str, Any]) -> Dataset | None:
    """The run's training data, if its source is still where the run found it (calibration)."""
    from headstart.data import load

    source = (config.get("data") or {}).get("source")
    if not source or not Path(source).exists():
        return None
    cols = config.get("columns") or {}
    kwargs = {} if Path(source).is_dir() else {"text_col": cols.get("text"), "image_col": cols.get("image")}
    try:
        data = load(source, **kwargs)
    except HeadstartError:
        return None
    if data.modality != config.get("modality"):
        return None
    return data.where_split("train") if "train" in data.splits() else data


def _latency_rows(clf: Any, inputs: list[Any], size: int, seed: int) -> list[Any]:
    """``size`` real rows for a latency batch (repeated when there are fewer); batch 1 = a median-length text."""
    if not inputs:
        return []
    if size == 1 and clf.modality_ == "text":
        _, lengths = clf.backbone_.prepare(inputs)
        return [inputs[int(np.argsort(lengths, kind="stable")[len(lengths) // 2])]]
    order = np.random.default_rng(seed).permutation(len(inputs))
    return [inputs[order[i % len(order)]] for i in range(size)]


def preprocess_parity(clf: Any, folder: Path, spec: dict[str, Any], inputs: list[Any]) -> dict[str, Any]:
    """Does :mod:`headstart.runtime` turn raw inputs into the tensors PyTorch sees?"""
    from headstart.runtime import ImageInputs, TextInputs

    if not inputs:
        return {"rows": 0}
    if clf.modality_ == "text":
        ours = TextInputs(folder, spec).encode(inputs)
        theirs, _ = clf.backbone_.prepare(inputs)
        same = [list(a) == list(b) for a, b in zip(ours, theirs, strict=True)]
        return {"rows": len(inputs), "identical_token_ids": float(np.mean(same))}
    runtime = ImageInputs(spec)
    diff = 0.0
    for start in range(0, len(inputs), 16):
        chunk = inputs[start : start + 16]
        ours = np.stack([runtime.array(x) for x in chunk])
        theirs = clf.backbone_.preprocess(chunk).numpy()
        diff = max(diff, float(np.abs(ours - theirs).max()))
    return {"rows": len(inputs), "max_abs_diff": diff}


# The held-out figure of each task ("accuracy" in the table holds it).
METRIC = {"classification": "accuracy", "regression": "r2", "multilabel": "micro_f1"}


def held_out_truth(clf: Any, data: Dataset) -> np.ndarray:
    """The evaluation rows' truth in the run's form: class codes, numbers or the label matrix."""
    if clf.task_ == "classification":
        return clf._encode(data.labels, data.source)
    from headstart.data.targets import as_task

    return as_task(data, clf.task_, clf._label_names()).labels


def export_run(
    run: str | Path,
    *,
    quantize_to: str | None = None,
    mode: str = "auto",
    eval_data: Dataset | None = None,
    calibrate: Dataset | None = None,
    calibration_rows: int = 128,
    threads: int | None = None,
    repeats: int = 20,
    batch_sizes: tuple[int, ...] = (1, 32),
    seed: int = 0,
) -> dict[str, Any]:
    """Export a run folder; returns what ``RUN/export/export.json`` holds.

    Args:
        run: the run folder.
        quantize_to: ``None`` (fp32 only) or ``"int8"``.
        mode: ``auto`` (static for images, dynamic for text), ``dynamic`` or ``static``.
        eval_data: labelled rows for accuracy, parity and latency inputs (else
            parity on the calibration / training rows, no accuracy).
        calibrate: rows for static calibration (default: a stratified sample of
            ``calibration_rows`` of the run's training data, if still on disk).
        threads: CPU threads for PyTorch and onnxruntime alike (default: torch's).
        repeats: timed repeats per model and batch size.
    """
    from headstart.classifier import load_run
    from headstart.runfolder import read_config

    run = Path(run)
    config = read_config(run)
    if quantize_to not in (None, "int8"):
        raise HeadstartError(f"--quantize takes int8, got '{quantize_to}'")
    clf = load_run(run)
    check_exportable(clf)
    qmode = choose_mode(mode, clf.modality_) if quantize_to else None
    folder = run / EXPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    threads = int(threads or torch.get_num_threads())

    # The rows that feed calibration, parity and latency.
    calib = calibrate
    if calib is None and (qmode == "static" or eval_data is None):
        calib = _training_rows(run, config)
    if calib is not None and len(calib) > calibration_rows:
        calib = calib.sample(calibration_rows, seed)
    if qmode == "static" and calib is None:
        raise HeadstartError(
            f"static int8 quantization needs calibration rows and the training data of {run} is not on disk: "
            f"pass --calibrate DATA (a few hundred training rows)"
        )
    check_rows = eval_data if eval_data is not None else calib
    check_inputs = list(check_rows.inputs) if check_rows is not None else []

    stderr.print(f"[bold]export[/bold] {clf.backbone_.spec} -> {folder / FP32}", highlight=False, soft_wrap=True)
    onnx_info = to_onnx(clf, folder / FP32)
    spec = record(clf, folder, onnx_info["inputs"])
    write_json(folder / PREPROCESS_JSON, spec)
    files = {"onnx-fp32": folder / FP32}
    quant_info = None
    if qmode is not None:
        calib_batches = [feed for _, feed in torch_batches(clf, list(calib.inputs), 16)] if calib is not None else []
        what = f" on {len(calib)} calibration rows" if qmode == "static" and calib is not None else ""
        stderr.print(f"[bold]quantize[/bold] int8, {qmode}{what}", highlight=False, soft_wrap=True)
        quant_info = quantize(folder / FP32, folder / INT8, qmode, calib_batches if qmode == "static" else None)
        files["onnx-int8"] = folder / INT8
    elif (folder / INT8).exists():
        (folder / INT8).unlink()  # a stale int8 file of an earlier export

    backbone, head = clf.backbone_.eval(), clf.head_.eval()

    def score(out: np.ndarray, truth: np.ndarray) -> float:
        return task_score(out, truth, clf.task_, clf.targets_.get("thresholds"))

    module = TextClassifier(backbone, head, onnx_info["inputs"]) if clf.modality_ == "text" else None
    module = module or ImageClassifier(backbone, head)
    module.eval()

    def eager(feed: dict[str, np.ndarray]) -> np.ndarray:
        with torch.no_grad():
            return module(**{k: torch.from_numpy(v) for k, v in feed.items()}).numpy()

    sessions = {name: ort_session(path, threads) for name, path in files.items()}
    runners: dict[str, Callable[[dict[str, np.ndarray]], np.ndarray]] = {"pytorch-fp32": eager}
    for name, sess in sessions.items():
        runners[name] = lambda feed, s=sess: s.run(None, feed)[0]

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        # Parity and accuracy: the same preprocessed batches for every model.
        logits: dict[str, np.ndarray] = {}
        if check_inputs:
            batches = torch_batches(clf, check_inputs, 32)
            for name, fn in runners.items():
                logits[name] = run_batches(fn, batches, len(check_inputs))
        codes = None
        if eval_data is not None and eval_data.labels is not None:
            codes = held_out_truth(clf, eval_data)
        # Latency: one real batch per size, every model in turn.
        latency: dict[str, dict[str, Any]] = {name: {} for name in runners}
        for size in batch_sizes:
            rows = _latency_rows(clf, check_inputs, size, seed)
            if not rows:
                break
            feed = torch_batches(clf, rows, size)[0][1]
            calls = {name: (lambda fn=fn, x=feed: fn(x)) for name, fn in runners.items()}
            timed = measure(calls, repeats=repeats, pause=PAUSE)
            for name in runners:
                latency[name][f"batch {size}"] = timed[name]
    finally:
        torch.set_num_threads(before)

    sizes = {"pytorch-fp32": _nbytes(backbone) + _nbytes(head)}
    sizes.update({name: path.stat().st_size for name, path in files.items()})
    parity = {name: compare(logits["pytorch-fp32"], logits[name]) for name in files if logits}
    if "onnx-int8" in files and logits:
        parity["onnx-int8 vs onnx-fp32"] = compare(logits["onnx-fp32"], logits["onnx-int8"])
    table = []
    for name in runners:
        row: dict[str, Any] = {
            "model": name,
            "file": files[name].name if name in files else None,
            "size_bytes": sizes[name],
            "size_mb": round(sizes[name] / 2**20, 3),
            "latency_ms": latency[name],
            "accuracy": score(logits[name], codes) if codes is not None and logits else None,
        }
        if name in parity:
            row["top1_agreement_with_pytorch"] = parity[name]["top1_agreement"]
            row["max_abs_diff_vs_pytorch"] = parity[name]["max_abs_diff"]
        table.append(row)
    report: dict[str, Any] = {
        "run": str(run),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "format": "onnx",
        "backbone": clf.backbone_.spec,
        "modality": clf.modality_,
        "task": clf.task_,
        "metric": METRIC[clf.task_],
        "onnx": onnx_info,
        "preprocess": PREPROCESS_JSON,
        "quantization": quant_info,
        "files": {name: path.name for name, path in files.items()},
        "eval": {
            "data": eval_data.source if eval_data is not None else None,
            "rows": len(check_inputs),
            "rows_from": "eval" if eval_data is not None else ("calibration" if check_inputs else None),
        },
        "threads": threads,
        "repeats": repeats,
        "pause_s": PAUSE,
        "parity": parity,
        "preprocess_parity": preprocess_parity(clf, folder, spec, check_inputs[:64]),
        "table": table,
    }
    if "onnx-int8" in files:
        report["int8_vs_fp32"] = {
            "size_ratio": sizes["onnx-int8"] / sizes["onnx-fp32"],
            "top1_agreement": parity.get("onnx-int8 vs onnx-fp32", {}).get("top1_agreement"),
            "accuracy_drop_points": (
                100 * (table[1]["accuracy"] - table[2]["accuracy"]) if table[1]["accuracy"] is not None else None
            ),
        }
    write_json(folder / EXPORT_JSON, report)
    return report
