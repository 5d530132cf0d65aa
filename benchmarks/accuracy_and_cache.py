"""Foundation figures through the real command: `headstart fit` twice per data set.

- SST-2: 2,000 stratified training rows (seed 0), `minilm`, linear probe,
  reported on the 872 dev sentences (never seen in training or model selection);
- hymenoptera: `efficientnet-lite0`, linear probe, trained on train/ (243),
  reported on val/ (153).

Each is fitted twice with a fresh, empty feature cache: the first fit runs
the backbone, the second reads the cache. The script prints held-out accuracy
with the majority-class baseline, and the feature-extraction time of both fits
(from each run's config.json) with their ratio.

    .venv/bin/python benchmarks/accuracy_and_cache.py
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from _common import SHARED, machine

CASES = {
    "SST-2 (2,000 rows, seed 0) -> dev, minilm": (
        ["text/sst2/train.tsv", "--sample", "2000", "--seed", "0", "--eval", "{shared}/text/sst2/dev.tsv"],
        "minilm",
    ),
    "hymenoptera train/ -> val/, efficientnet-lite0": (["images/hymenoptera"], "efficientnet-lite0"),
}


def main() -> None:
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HEADSTART_CACHE"] = str(Path(tmp) / "cache")
        os.environ["HEADSTART_PROGRESS"] = "0"
        from headstart.cli import run

        for name, (args, backbone) in CASES.items():
            if not (SHARED / args[0]).exists():
                print(f"{name}: skipped, {SHARED / args[0]} is absent")
                continue
            argv = [str(SHARED / args[0])] + [a.format(shared=SHARED) for a in args[1:]]
            fits = []
            for attempt in ("first", "second"):
                out = Path(tmp) / f"{backbone}-{attempt}"
                code = run(["fit", *argv, "--backbone", backbone, "--strategy", "linear-probe", "-o", str(out)])
                assert code == 0, f"headstart fit exited {code}"
                config = json.loads((out / "config.json").read_text())
                metrics = json.loads((out / "metrics.json").read_text())
                fits.append((config["timings"], metrics))
            (t1, m1), (t2, m2) = fits
            assert not t1["fit_features_cached"] and t2["fit_features_cached"]
            assert m1["accuracy"] == m2["accuracy"]
            print(f"\n== {name}")
            print(
                f"held-out accuracy {m1['accuracy']:.4f} (n={m1['n']}), balanced {m1['balanced_accuracy']:.4f}, "
                f"macro-F1 {m1['macro_f1']:.4f}; majority class {m1['majority_baseline']:.4f}"
            )
            print(
                f"feature extraction: first fit {t1['fit_features_seconds']:.2f} s (backbone ran), "
                f"second fit {t2['fit_features_seconds']:.4f} s (cache): "
                f"{t1['fit_features_seconds'] / t2['fit_features_seconds']:.0f}x less"
            )


if __name__ == "__main__":
    main()
