"""The torch-free runtime in a fresh interpreter where ``import torch`` fails (benchmarks' check)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

NO_TORCH = (
    "import sys\n"
    "for _m in ('torch', 'transformers', 'timm', 'torchvision', 'accelerate'):\n"
    "    sys.modules[_m] = None\n"
    "import json\n"
    "from headstart.runtime import Predictor\n"
    "p = Predictor(sys.argv[1], int8=sys.argv[3] == 'int8')\n"
    "print(json.dumps([str(v) for v in p.predict(json.load(open(sys.argv[2])))]))\n"
)


def runtime_predictions(export_dir: Path, inputs: list[Any], int8: bool = False) -> list[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump([str(x) for x in inputs], f)
    try:
        args = [sys.executable, "-c", NO_TORCH, str(export_dir), f.name, "int8" if int8 else "fp32"]
        done = subprocess.run(args, capture_output=True, text=True)
    finally:
        Path(f.name).unlink()
    if done.returncode != 0:
        sys.exit(f"runtime failed: {done.stderr.strip().splitlines()[-1]}")
    return json.loads(done.stdout)


def predict_csv(run: Path, data: Path, out: Path) -> Any:
    """``headstart predict RUN DATA`` -> its table."""
    import pandas as pd

    from headstart.cli import run as cli

    if cli(["predict", str(run), str(data), "-o", str(out)]) != 0:
        sys.exit("headstart predict failed")
    return pd.read_csv(out)
