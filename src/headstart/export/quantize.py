"""int8 quantization of an exported model with onnxruntime.

Two ways (Jacob et al., "Quantization and Training of Neural Networks for
Efficient Integer-Arithmetic-Only Inference", CVPR 2018, for the affine scheme
``x ~ scale * (q - zero_point)``):

- ``dynamic``: weights int8 ahead of time, activations' ranges measured per
  batch at run time. No data needed; the usual answer for transformers, whose
  cost is in MatMuls.
- ``static``: activations' ranges fixed ahead of time from calibration
  batches (min / max over them), weights int8 per output channel, written as
  QuantizeLinear / DequantizeLinear pairs (QDQ) that onnxruntime fuses into
  integer kernels. The usual answer for conv nets: dynamic quantization leaves
  their convolutions' activations in float and gains little.

Both first run onnxruntime's pre-processing (shape inference, graph
optimisation: batch norm folded into convolutions), as its documentation advises.

    >>> quantize("model.onnx", "model.int8.onnx", mode="static", calibration=batches)
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from headstart.errors import HeadstartError

MODES = ("auto", "dynamic", "static")


def choose_mode(mode: str, modality: str) -> str:
    """``auto``: static for images (conv nets), dynamic for text (transformers)."""
    if mode not in MODES:
        raise HeadstartError(f"quantization mode must be one of {', '.join(MODES)}, got '{mode}'")
    if mode == "auto":
        return "static" if modality == "image" else "dynamic"
    return mode


class _Reader:
    """onnxruntime's CalibrationDataReader protocol over a list of input dicts."""

    def __init__(self, batches: list[dict[str, np.ndarray]]) -> None:
        self.batches = batches
        self.i = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.i >= len(self.batches):
            return None
        self.i += 1
        return self.batches[self.i - 1]

    def rewind(self) -> None:
        self.i = 0


@contextlib.contextmanager
def _quiet() -> Any:
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def preprocess(src: Path, dst: Path) -> Path:
    """onnxruntime's quantization pre-processing; the model as it is if that fails."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        with _quiet():
            quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
        return dst
    except Exception:  # an optimisation the graph does not allow: quantize the plain model
        return src


def quantize(
    src: str | Path,
    dst: str | Path,
    mode: str = "dynamic",
    calibration: Iterable[dict[str, np.ndarray]] | None = None,
) -> dict[str, Any]:
    """Write the int8 model ``dst`` from the fp32 ``src``; returns what was done."""
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    src, dst = Path(src), Path(dst)
    batches = list(calibration or [])
    if mode == "static" and not batches:
        raise HeadstartError("static quantization needs calibration rows: pass --calibrate DATA")
    with tempfile.TemporaryDirectory(prefix="headstart-quant-", dir=dst.parent) as tmp:
        ready = preprocess(src, Path(tmp) / "pre.onnx")
        out = Path(tmp) / "int8.onnx"
        try:
            with _quiet():
                if mode == "dynamic":
                    quantize_dynamic(str(ready), str(out), weight_type=QuantType.QInt8, per_channel=False)
                else:
                    quantize_static(
                        str(ready),
                        str(out),
                        _Reader(batches),
                        quant_format=QuantFormat.QDQ,
                        per_channel=True,
                        weight_type=QuantType.QInt8,
                        activation_type=QuantType.QUInt8,
                        calibrate_method=CalibrationMethod.MinMax,
                    )
        except HeadstartError:
            raise
        except Exception as e:
            first = (str(e).strip().splitlines() or [""])[0][:200]
            raise HeadstartError(f"onnxruntime could not quantize {src.name} ({mode}): {first}") from None
        out.replace(dst)
    info: dict[str, Any] = {
        "mode": mode,
        "weights": "int8" + (" per channel" if mode == "static" else ""),
        "activations": "uint8, ranges from calibration (min/max)" if mode == "static" else "uint8, ranges per batch",
        "format": "QDQ" if mode == "static" else "QOperator (dynamic)",
        "pre_processed": ready != src,
    }
    if mode == "static":
        info["calibration_batches"] = len(batches)
        info["calibration_rows"] = int(sum(next(iter(b.values())).shape[0] for b in batches))
    return info
