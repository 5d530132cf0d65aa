"""Deployment: ONNX export, int8 quantization, parity, size and latency.

- :mod:`~headstart.export.onnx`: the classifier -> ONNX, dynamic batch (and sequence length);
- :mod:`~headstart.export.preprocess`: the preprocessing the model needs, as JSON (+ tokenizer.json);
- :mod:`~headstart.export.quantize`: int8, dynamic or static (calibrated, QDQ, per-channel weights);
- :mod:`~headstart.export.parity`: max abs difference and top-1 agreement with PyTorch;
- :mod:`~headstart.export.latency`: p50 / p95 over interleaved repeats;
- :mod:`~headstart.export.run`: all of it for a run folder -> ``RUN/export/export.json``.

The exported folder is used without torch by :mod:`headstart.runtime`.
"""

from __future__ import annotations

from headstart.export.latency import measure
from headstart.export.onnx import check_exportable, to_onnx
from headstart.export.parity import compare
from headstart.export.preprocess import describe_transform, record
from headstart.export.quantize import choose_mode, quantize
from headstart.export.run import export_run

__all__ = [
    "check_exportable",
    "choose_mode",
    "compare",
    "describe_transform",
    "export_run",
    "measure",
    "quantize",
    "record",
    "to_onnx",
]
