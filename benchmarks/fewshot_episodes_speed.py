"""1,000 5-way 5-shot episodes (15 queries per class) over cached embeddings:
the evaluator's own cost, which must stay under 5 s on 2 cores.

The embeddings are EfficientNet-Lite0's (1280-d) of Omniglot's
images_background_small2 (156 characters x 20 drawings), extracted once into
the features cache (the first run pays for it; the timing is of the episodes
only). Prints the time and episodes per second of each method; the target is
the prototypical network (the evaluator's default).

    nice -n 15 .venv/bin/python benchmarks/fewshot_episodes_speed.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, need_shared  # noqa: E402


def main() -> None:
    import headstart as hs
    from headstart.data.omniglot import load_omniglot
    from headstart.fewshot import evaluate_episodes

    folder = need_shared("fewshot", "omniglot")
    print(machine())
    data = load_omniglot(folder / "images_background_small2.zip", size=105)
    backbone = hs.load_backbone("efficientnet-lite0")
    ex = hs.extract(backbone, data, progress=False)
    print(f"embeddings {ex.features.shape} ({'from the cache' if ex.cached else 'extracted'}, {ex.seconds:.1f} s)")
    for name in ("protonet", "protonet-cosine", "nearest-neighbour", "matching"):
        start = time.perf_counter()
        r = evaluate_episodes(ex.features, data.labels, name, ways=5, shots=5, queries=15, episodes=1000, seed=0)
        seconds = time.perf_counter() - start
        verdict = "target < 5 s met" if seconds < 5 else "target < 5 s NOT met"
        print(
            f"{name}: 1000 5-way 5-shot episodes in {seconds:.2f} s ({1000 / seconds:.0f} episodes/s), "
            f"accuracy {r.mean:.4f} ± {r.ci95:.4f}; {verdict}"
        )


if __name__ == "__main__":
    main()
