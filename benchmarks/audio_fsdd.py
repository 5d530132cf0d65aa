"""Free Spoken Digit Dataset, leave one speaker out (issue 23): a pretrained speech encoder
vs the same network from scratch vs MFCC + logistic regression, in the same run.

Data: ../shared/data/audio/fsdd/recordings/{digit}_{speaker}_{index}.wav (3,000 clips,
8 kHz mono, 6 speakers x 10 digits x 50 takes). Each fold trains on five speakers
(2,500 clips) and tests on the sixth (500); the six folds give mean ± sd.

Arms (all through ``headstart.TransferClassifier`` except the MFCC baseline):

- ``ge2e-l2 probe``: ``ge2e?layers=2&pool=meanmax`` (Resemblyzer's GE2E, the first two
  LSTM layers, masked mean + max over time, 512-d) + the linear probe (C chosen on a
  validation split cut from the training speakers' rows);
- ``ge2e probe``: ``ge2e`` as GE2E uses it (the speaker embedding: the final state,
  Linear + ReLU, L2-normalised, 256-d) + the linear probe;
- ``scratch``: ``ge2e?layers=2&pool=meanmax`` with random weights (``pretrained=False``),
  trained end to end (``strategy="full"``, ``--scratch-epochs``, AdamW lr 1e-3, batch 64,
  best epoch by validation accuracy on 10% of the training rows);
- ``mfcc + LR``: librosa MFCCs (20 coefficients, 40 mel bands, 25 ms / 10 ms windows at 8 kHz),
  mean and std over time (40-d), standardised, scikit-learn logistic regression (C=1);
- pooling (``--pools``): ``ge2e?layers=2&pool=P`` for P in mean, attention with
  ``strategy="head"`` (encoder frozen; the head, and attention's query, train for
  ``--pool-epochs``), the masked-pooling comparison on audio.

Sampling-rate case (``--rates``): the held-out speaker's clips resampled to another
rate (16000: another recorder; 4000: a narrow-band one), the source still 8 kHz.
``handled``: the clips carry their rate (``Dataset.sample_rate``) and the encoder
resamples to its 16 kHz (the MFCC baseline: resampled back to its 8 kHz); ``ignored``: the rate is taken to be the
source's 8 kHz, as a loader that does not read the header would (the clips play at
the wrong speed).

    nice -n 10 .venv/bin/python benchmarks/audio_fsdd.py --check-mel          # front end vs Resemblyzer
    .venv/bin/python benchmarks/audio_fsdd.py --tables benchmarks/out/fsdd-george --held george
    headstart compare benchmarks/out/fsdd-george/train.csv --eval benchmarks/out/fsdd-george/test.csv \
        -b 'ge2e?layers=2&pool=meanmax' --budgets 0.1,0.25,1 --seeds 3
    nice -n 10 .venv/bin/python benchmarks/audio_fsdd.py --arms probe,native,mfcc --threads 1
    nice -n 10 .venv/bin/python benchmarks/audio_fsdd.py --arms scratch --scratch-epochs 3 --rates '' --threads 1
"""

# ruff: noqa: B023  (the per-fold closures are called within their own iteration)
from __future__ import annotations

import argparse
import json
import sys
import time
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, need_shared  # noqa: E402

SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
PROBE = "ge2e?layers=2&pool=meanmax"


def load_fsdd(folder: Path) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, list[str]]:
    from headstart.data import read_wav

    files = sorted(folder.glob("*.wav"))
    waves, digits, speakers = [], [], []
    for f in files:
        x, rate = read_wav(f)
        assert rate == 8000, f
        d, s, _ = f.stem.split("_")
        waves.append(x)
        digits.append(int(d))
        speakers.append(s)
    return waves, np.asarray(digits), np.asarray(speakers), [str(f) for f in files]


def check_mel(waves: list[np.ndarray], n: int = 20) -> None:
    """Our mel front end against Resemblyzer's ``audio.wav_to_mel_spectrogram`` (webrtcvad, which
    Resemblyzer's audio module imports for its silence trimming and which fails to import here, is
    stubbed: the function compared does not use it). Nothing of Resemblyzer unpickles weights here."""
    sys.modules.setdefault("webrtcvad", types.ModuleType("webrtcvad"))
    from resemblyzer import audio as ref

    from headstart.backbones.ge2e import MelFrontEnd
    from headstart.data.sequences import resample

    ours = MelFrontEnd()
    worst_abs, worst_rel = 0.0, 0.0
    for x in waves[:: max(1, len(waves) // n)][:n]:
        w = resample(x, 8000, 16000)
        a, b = ref.wav_to_mel_spectrogram(w), ours(w)
        assert a.shape == b.shape, (a.shape, b.shape)
        worst_abs = max(worst_abs, float(np.abs(a - b).max()))
        worst_rel = max(worst_rel, float(np.abs(a - b).max() / np.abs(a).max()))
    print(f"mel front end vs resemblyzer.audio.wav_to_mel_spectrogram on {n} clips: "
          f"max |diff| {worst_abs:.3g}, max |diff| / max |mel| {worst_rel:.3g}")  # fmt: skip


def mfcc_features(waves: list[np.ndarray], rate: float) -> np.ndarray:
    import librosa

    out = []
    for x in waves:
        m = librosa.feature.mfcc(
            y=x, sr=rate, n_mfcc=20, n_fft=int(0.025 * rate), hop_length=int(0.010 * rate), n_mels=40
        )
        out.append(np.concatenate([m.mean(1), m.std(1)]))
    return np.asarray(out, dtype=np.float32)


def mfcc_lr(tr_x: np.ndarray, tr_y: np.ndarray, te_x: np.ndarray, te_y: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000)).fit(tr_x, tr_y)
    return float((clf.predict(te_x) == te_y).mean())


def main() -> None:
    import torch

    from headstart import TransferClassifier
    from headstart.data import Dataset
    from headstart.data.sequences import resample

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--speakers", default=",".join(SPEAKERS))
    p.add_argument("--scratch-epochs", type=int, default=6)
    p.add_argument("--pools", default="", help="pooling comparison: e.g. mean,attention (strategy head)")
    p.add_argument("--pool-epochs", type=int, default=6)
    p.add_argument("--rates", default="16000,4000", help="the held-out speaker at these rates ('' for none)")
    p.add_argument("--arms", default="probe,native,mfcc,scratch", help="which arms (to split a run over processes)")
    p.add_argument("--check-mel", action="store_true", help="only compare the mel front end with Resemblyzer's")
    p.add_argument("--tables", default=None, help="only write DIR/train.csv (5 speakers) + DIR/test.csv (--held)")
    p.add_argument("--held", default="george", help="the held-out speaker of --tables")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "audio_fsdd.json"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    waves, digits, speakers, paths = load_fsdd(need_shared("audio", "fsdd", "recordings"))
    if args.tables:  # for `headstart compare DIR/train.csv --eval DIR/test.csv` (a table of WAV paths)
        import pandas as pd

        out = Path(args.tables)
        out.mkdir(parents=True, exist_ok=True)
        table = pd.DataFrame({"path": paths, "label": digits, "speaker": speakers})
        table[table.speaker != args.held].to_csv(out / "train.csv", index=False)
        table[table.speaker == args.held].to_csv(out / "test.csv", index=False)
        print(f"wrote {out}/train.csv and {out}/test.csv (held out: {args.held})")
        return
    if args.check_mel:
        check_mel(waves)
        return
    cache = str(ROOT / "benchmarks" / "out" / "cache")
    common = {"cache_dir": cache, "progress": False, "seed": 0}
    rates = [int(r) for r in args.rates.split(",") if r]
    pools = [q for q in args.pools.split(",") if q]
    mfcc8 = mfcc_features(waves, 8000) if "mfcc" in args.arms else None
    rows: list[dict] = []
    for held in args.speakers.split(","):
        tr, te = np.flatnonzero(speakers != held), np.flatnonzero(speakers == held)

        def data(idx: np.ndarray, rate: float = 8000.0, items: list | None = None, name: str = "") -> Dataset:
            return Dataset(
                inputs=items if items is not None else [waves[i] for i in idx],
                labels=digits[idx],
                modality="audio",
                sample_rate=rate,
                source=name or f"fsdd-{held}-{len(idx)}",
            )

        train, test = data(tr, name=f"fsdd-not-{held}"), data(te, name=f"fsdd-{held}")
        row: dict = {"held_out": held}

        def run(name: str, make: object, test_sets: dict | None = None) -> None:
            t, c = time.perf_counter(), time.process_time()
            clf = make().fit(train)
            row[name] = clf.evaluate(test)["accuracy"]
            for label, ds in (test_sets or {}).items():
                row[f"{name} {label}"] = clf.evaluate(ds)["accuracy"]
            row[f"{name} cpu_s"] = round(time.process_time() - c, 1)
            row[f"{name} wall_s"] = round(time.perf_counter() - t, 1)
            print(json.dumps({"held_out": held, "arm": name, "accuracy": row[name]}), file=sys.stderr, flush=True)

        shifted = {}
        for r in rates:
            moved = [resample(waves[i], 8000, r) for i in te]
            shifted[f"{r} Hz handled"] = data(te, r, moved, f"fsdd-{held}-at-{r}")
            shifted[f"{r} Hz ignored"] = data(te, 8000.0, moved, f"fsdd-{held}-at-{r}-taken-as-8000")
        arms = args.arms.split(",")
        if "probe" in arms:
            run("ge2e-l2 probe", lambda: TransferClassifier(PROBE, strategy="linear-probe", **common), shifted)
        if "native" in arms:
            run("ge2e probe", lambda: TransferClassifier("ge2e", strategy="linear-probe", **common))
        if "mfcc" in arms:
            c = time.process_time()
            row["mfcc + LR"] = mfcc_lr(mfcc8[tr], digits[tr], mfcc8[te], digits[te])
            for r in rates:
                moved = [resample(waves[i], 8000, r) for i in te]
                back = [resample(x, r, 8000) for x in moved]  # handled: back to the model's 8 kHz
                row[f"mfcc + LR {r} Hz handled"] = mfcc_lr(mfcc8[tr], digits[tr], mfcc_features(back, 8000), digits[te])
                ignored = mfcc_features(moved, 8000)
                row[f"mfcc + LR {r} Hz ignored"] = mfcc_lr(mfcc8[tr], digits[tr], ignored, digits[te])
            row["mfcc + LR cpu_s"] = round(time.process_time() - c, 1)
        fine = {"lr": 1e-3, "train_batch_size": 64, "head_init": "random", "precision": "no", **common}
        for pool in pools:
            spec = f"ge2e?layers=2&pool={pool}"
            run(
                f"pool {pool}",
                lambda spec=spec: TransferClassifier(spec, strategy="head", epochs=args.pool_epochs, **fine),
            )
        if "scratch" in arms:
            run(
                "scratch",
                lambda: TransferClassifier(
                    PROBE, strategy="full", pretrained=False, epochs=args.scratch_epochs, **fine
                ),
            )
        rows.append(row)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"args": vars(args), "folds": rows}, indent=2))
    arms = [k for k in rows[0] if k != "held_out" and not k.endswith(("cpu_s", "wall_s"))]
    print(f"\nFSDD leave one speaker out ({len(rows)} folds: {', '.join(r['held_out'] for r in rows)}), test accuracy")
    print("| arm | mean ± sd | per held-out speaker | CPU s (all folds) |")
    print("| --- | --- | --- | --- |")
    for arm in arms:
        a = np.asarray([r[arm] for r in rows])
        base = arm.split(" 16000")[0].split(" 4000")[0]
        cpu = sum(r.get(f"{base} cpu_s", 0) for r in rows) if arm == base else ""
        sd = a.std(ddof=1) if len(a) > 1 else 0.0
        print(f"| {arm} | {a.mean():.3f} ± {sd:.3f} | {', '.join(f'{v:.3f}' for v in a)} | {cpu} |")


if __name__ == "__main__":
    main()
