"""Defaults that win (issue 17): ``TransferClassifier(backbone="auto").fit(train)`` with no other option,
beside the linear probe on the same rows, in the same run, with the time each took.

Sets (split seeds stated; nothing chosen on the reported rows):
- SST-2: 2,000 stratified training rows (``hs.load(train.tsv).sample(2000, seed=0)``) -> dev (872);
- hymenoptera: train/ (243) -> val/ (153);
- TweetEval emotion: all of train (3,257) -> test (1,421);
- SMS spam: a stratified 80/20 split (``stratified_split(labels, 0.2, 0)``), macro-F1 reported.

    .venv/bin/python benchmarks/defaults.py                      # all four, ~15-25 CPU-minutes
    .venv/bin/python benchmarks/defaults.py --sets sst2,hymenoptera
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, need_shared  # noqa: E402
from attentive_probe import tweeteval  # noqa: E402

SETS = ("sst2", "hymenoptera", "emotion", "sms")
TARGETS = {
    "sst2": "accuracy >= 0.82 and >= probe + 0.03",
    "hymenoptera": "accuracy >= probe - 1 image",
    "emotion": "accuracy >= probe",
    "sms": "macro-F1 >= probe's",
}


def load_set(name: str) -> tuple:
    import headstart as hs
    from headstart.data import stratified_split

    if name == "sst2":
        folder = need_shared("text", "sst2")
        return hs.load(folder / "train.tsv").sample(2000, 0), hs.load(folder / "dev.tsv")
    if name == "hymenoptera":
        data = hs.load(need_shared("images", "hymenoptera"))
        return data.where_split("train"), data.where_split("val")
    if name == "emotion":
        return tweeteval("train"), tweeteval("test")
    sms = hs.load(need_shared("text", "sms_spam", "sms_spam.tsv"))
    tr, te = stratified_split(sms.labels, 0.2, 0)
    return sms.subset(tr), sms.subset(te)


def run_one(name: str, train, test, **options) -> dict:
    from headstart import TransferClassifier

    wall, cpu = time.perf_counter(), time.process_time()
    clf = TransferClassifier(backbone="auto", progress=False, **options).fit(train)
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    m = clf.evaluate(test)
    recipe = clf.extras_.get("recipe", {})
    return {
        "accuracy": m["accuracy"],
        "macro_f1": m["macro_f1"],
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "kept_probe": recipe.get("kept_probe"),
        "chosen": recipe.get("values"),
        "fine_tuned": bool(clf.fine_tuned_),
        "epochs_run": len(clf.history_),
        "best_epoch": clf.best_epoch_,
        "start": recipe.get("start"),
        "epoch_scores": [h.get("val_accuracy") for h in recipe.get("epochs_run") or clf.history_],
        "refit": {k: v for k, v in (recipe.get("refitted") or {}).items() if k != "history"} or None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "defaults.json")
    args = parser.parse_args()
    names = [s for s in args.sets.split(",") if s]
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for name in names:
        train, test = load_set(name)
        print(f"== {name}: {len(train)} training rows -> {len(test)} held out", flush=True)
        probe = run_one(name, train, test, strategy="linear-probe")
        default = run_one(name, train, test)
        results[name] = {"default": default, "probe": probe, "train": len(train), "test": len(test)}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))
        for arm, r in (("probe", probe), ("default", default)):
            print(
                f"{name:12s} {arm:8s} acc {r['accuracy']:.4f} macro-F1 {r['macro_f1']:.4f} "
                f"{r['seconds']:.0f} s ({r['cpu_seconds']:.0f} CPU-s) fine-tuned {r['fine_tuned']} "
                f"kept probe {r['kept_probe']} chosen {r['chosen']} val {r['start']} -> {r['epoch_scores']}",
                flush=True,
            )
    header = "set | rows | default (acc / macro-F1) | probe (acc / macro-F1) | Δ acc | default s | probe s"
    print(f"\n| {header} | what auto did | target |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in names:
        r = results[name]
        d, p = r["default"], r["probe"]
        did = "kept the probe" if d["kept_probe"] else f"fine-tuned, best epoch {d['best_epoch']} of {d['epochs_run']}"
        if d.get("refit"):
            did += f"; refit on all {d['refit']['rows']} rows for {d['refit']['epochs']} epochs"
        print(
            f"| {name} | {r['train']} -> {r['test']} | {d['accuracy']:.4f} / {d['macro_f1']:.4f} | "
            f"{p['accuracy']:.4f} / {p['macro_f1']:.4f} | {d['accuracy'] - p['accuracy']:+.4f} | "
            f"{d['seconds']:.0f} | {p['seconds']:.0f} | {did} | {TARGETS[name]} |"
        )


if __name__ == "__main__":
    main()
