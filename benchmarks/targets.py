"""Regression and multi-label targets on real data (issue 18), each against a classic baseline.

Regression: the VADER sentiment lexicon (Hutto & Gilbert 2014; the file ``vader_lexicon.txt``
inside the PyPI wheel ``vaderSentiment==3.3.2``): 7,520 English words, slang and emoticons,
each with the mean valence (-4 .. +4) that 10 human raters gave it. The task: predict a token's
mean rating from the token alone. Five random 80/20 splits (seeds 0-4, ``Dataset.train_test_split``).

- ``probe``: ``minilm`` frozen features, ridge with the penalty chosen by leave-one-out CV on the
  training rows (``TransferClassifier(task="regression")``, the probe ``headstart fit`` runs);
- ``scratch``: the same probe on a randomly initialised MiniLM (``pretrained=False``, seed 0);
- ``tf-idf``: character 1-4-grams (``char_wb``) + ``RidgeCV`` (the same penalty grid);
- ``fine-tune`` (``--finetune-seeds N``, default none: CPU time): ``strategy="full"`` on a random
  ``--finetune-rows`` (1,000) of the training rows, LP-FT head from the ridge probe, MSE on the
  standardised target, ``--finetune-epochs`` (2), lr 1e-4, batch 32, max length 16, best epoch by R^2
  on 10% of those rows; beside it the probe and TF-IDF on the same rows (``..., same rows``).

Multi-label: the Equity Evaluation Corpus (``../shared/data/text/eec/eec.csv``), 8,640 template
sentences; each sentence's label set is its emotion (anger / fear / joy / sadness; none for the
neutral templates) and its person's gender (female / male): 6 labels, EEC's two label columns as
one multi-label target. The split holds out 20% of the *persons* (names and noun phrases;
``GroupShuffleSplit``, seeds 0-4), so the gender of a held-out name is not in the training rows.

- ``probe``: ``minilm`` frozen features, one binary linear probe per label (C chosen by CV), the
  thresholds tuned for F1 on 10% of the training rows (``TransferClassifier(task="multilabel")``);
- ``tf-idf``: word 1-2-grams + one-vs-rest ``LogisticRegressionCV`` (5 Cs, 3 folds), threshold 0.5.

Distillation (``--part distill``, seed 0 only: CPU time): a ``minilm`` teacher (the probe above,
fitted on every training row, ``backbone="minilm"``) distilled into ``layers:3`` (3 of MiniLM's 6
blocks, every other one, from the teacher's weights; ``headstart.distill``) fine-tuned (``full``,
LP-FT head, lr 1e-4, batch 32, ``--distill-epochs`` 2, ``logits`` with alpha 0.5: half the teacher's
output, half the true target; ``cache_teacher``) on a random ``--distill-rows`` (1,000) of the
training rows; beside it the same student on those rows' labels alone (``method="none"``), all on
the same held-out rows: VADER by R^2 (max length 16), EEC by micro-F1 (max length 32; the student's
thresholds tuned on 10% of its rows).

Multi-label losses (``--part losses``, EEC, seeds 0-4, the split above): a linear head on the cached
``minilm`` features trained through the loop (``backbone="identity"``, ``strategy="head"``, random
head, ``--loss-epochs`` 10, lr 1e-3 (the head's 1e-2), batch 128, best epoch by validation mAP on 10%
of the training rows, thresholds tuned there) with ``loss=bce`` (the default), ``asymmetric``
(gamma_neg 4, gamma_pos 0, clip 0.05: Ridnik et al.'s defaults) and ``focal`` (gamma 2, alpha 0.25:
Lin et al.'s), the same seeds and rows for each.

Both probes run on the features extracted once for all rows (``headstart.features.extract``, cached)
with ``backbone="identity"``: the same probe code as ``backbone="minilm"`` without extracting each
split again; ``--check`` reruns the first seed end to end with ``backbone="minilm"`` and prints both.
Every figure is on the held-out rows, with its 95% bootstrap interval (1,000 resamples of the rows).

    pip download vaderSentiment==3.3.2 --no-deps -d /tmp/wheels
    .venv/bin/python benchmarks/targets.py --vader /tmp/wheels/vaderSentiment-3.3.2-py2.py3-none-any.whl
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from _common import machine, need_shared

os.environ.setdefault("HEADSTART_PROGRESS", "0")
warnings.filterwarnings("ignore", category=FutureWarning, module="sklearn")  # LogisticRegressionCV's 1.10 notices

from headstart import TransferClassifier  # noqa: E402
from headstart.backbones import load_backbone  # noqa: E402
from headstart.data import Dataset, from_arrays, stratified_split  # noqa: E402
from headstart.data.targets import as_task  # noqa: E402
from headstart.distill import distill  # noqa: E402
from headstart.features import extract  # noqa: E402
from headstart.heads import RIDGE_ALPHAS  # noqa: E402
from headstart.metrics import multilabel_metrics, regression_metrics  # noqa: E402

SEEDS = (0, 1, 2, 3, 4)


def read_vader(path: str | None) -> pd.DataFrame:
    """``token``, ``valence`` (the 10 raters' mean) of the VADER lexicon, from the wheel, the text file,
    or the installed package."""
    if path is None:
        from importlib import resources

        try:
            text = (resources.files("vaderSentiment") / "vader_lexicon.txt").read_text(encoding="utf-8")
        except ModuleNotFoundError:
            raise SystemExit("skipped: give --vader PATH (see the docstring: pip download vaderSentiment)") from None
    elif path.endswith(".whl"):
        with zipfile.ZipFile(path) as z:
            text = z.read("vaderSentiment/vader_lexicon.txt").decode("utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    rows = [line.split("\t")[:2] for line in text.splitlines() if line.strip()]
    frame = pd.read_csv(io.StringIO("\n".join(f"{t}\t{v}" for t, v in rows)), sep="\t", header=None, quoting=3)
    frame.columns = ["token", "valence"]
    frame["token"] = frame["token"].astype(str)
    return frame


def features(texts: list[str], pretrained: bool = True) -> np.ndarray:
    backbone = load_backbone("minilm", pretrained=pretrained, seed=0)
    return extract(backbone, from_arrays(texts), batch_size=256, progress=False).features


def summary(name: str, per_seed: list[dict], keys: tuple[str, ...]) -> None:
    first = per_seed[0]
    cells = []
    for key in keys:
        values = [m[key] for m in per_seed]
        spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
        lo, hi = first["ci"][key]
        cells.append(f"{key} {statistics.mean(values):.3f}{spread} (seed 0: {first[key]:.3f} [{lo:.3f}, {hi:.3f}])")
    print(f"  {name:<17} n_seeds={len(per_seed)}  " + "; ".join(cells), flush=True)


def regression(args: argparse.Namespace) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import RidgeCV

    lex = read_vader(args.vader)
    texts, y = lex["token"].tolist(), lex["valence"].to_numpy(dtype=np.float64)
    print(f"VADER lexicon: {len(texts)} tokens, valence mean {y.mean():.3f}, SD {y.std():.3f}", flush=True)
    start = time.perf_counter()
    feats = {"probe": features(texts), "scratch": features(texts, pretrained=False)}
    print(f"  features (minilm, scratch) in {time.perf_counter() - start:.1f} s", flush=True)
    data = as_task(Dataset(inputs=texts, labels=y, modality="text"), "regression")
    arms = ("probe", "scratch", "tf-idf", "fine-tune", "probe, same rows", "tf-idf, same rows")
    results: dict[str, list[dict]] = {k: [] for k in arms}
    for seed in args.seeds:
        # = data.train_test_split(0.2, seed): random, regression rows have no class to stratify by
        tr_i, te_i = stratified_split(np.zeros(len(data)), 0.2, seed)
        tr, te = data.subset(tr_i), data.subset(te_i)
        for name in ("probe", "scratch"):
            clf = TransferClassifier(backbone="identity", task="regression", cache=False, progress=False)
            clf.fit(feats[name][tr_i], y[tr_i])
            results[name].append(clf.evaluate(feats[name][te_i], y[te_i]))
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), min_df=2, sublinear_tf=True)
        ridge = RidgeCV(alphas=RIDGE_ALPHAS).fit(vec.fit_transform(tr.inputs), tr.labels)
        results["tf-idf"].append(regression_metrics(te.labels, ridge.predict(vec.transform(te.inputs)), seed=0))
        if seed < args.finetune_seeds:
            # On a sample of the training rows (CPU time): the probe and TF-IDF on the same rows beside it.
            rows = np.sort(np.random.default_rng(seed).permutation(len(tr))[: args.finetune_rows])
            sub = tr.subset(rows)
            start = time.perf_counter()
            ft = TransferClassifier(backbone="minilm", strategy="full", task="regression", epochs=args.finetune_epochs,
                                    lr=1e-4, max_length=16, seed=seed, progress=False).fit(sub)  # fmt: skip
            results["fine-tune"].append(ft.evaluate(te))
            seconds = time.perf_counter() - start
            same = TransferClassifier(backbone="identity", task="regression", cache=False, progress=False)
            same.fit(feats["probe"][tr_i[rows]], y[tr_i[rows]])
            results["probe, same rows"].append(same.evaluate(feats["probe"][te_i], y[te_i]))
            ridge = RidgeCV(alphas=RIDGE_ALPHAS).fit(vec.fit_transform(sub.inputs), sub.labels)
            results["tf-idf, same rows"].append(regression_metrics(te.labels, ridge.predict(vec.transform(te.inputs))))
            print(f"  fine-tune seed {seed} on {len(sub)} rows: R^2 {results['fine-tune'][-1]['r2']:.3f} in "
                  f"{seconds:.0f} s, best epoch {ft.best_epoch_}", flush=True)  # fmt: skip
        if seed == 0 and args.check:
            probe = TransferClassifier(backbone="minilm", strategy="linear-probe", task="regression", progress=False)
            full = probe.fit(tr).evaluate(te)
            print(f"  check: backbone=minilm end to end R^2 {full['r2']:.4f}, identity on cached features "
                  f"{results['probe'][0]['r2']:.4f}", flush=True)  # fmt: skip
    print("regression, held-out rows (mean ± SD over seeds; seed 0 with its 95% bootstrap CI):")
    for name, per_seed in results.items():
        if per_seed:
            summary(name, per_seed, ("r2", "mae", "spearman"))


def eec_tags() -> pd.DataFrame:
    eec = pd.read_csv(need_shared("text", "eec", "eec.csv"), keep_default_na=False)
    eec["tags"] = [f"{e}|{g}" if e else g for e, g in zip(eec["Emotion"], eec["Gender"], strict=True)]
    return eec


def multilabel(args: argparse.Namespace) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import GroupShuffleSplit
    from sklearn.multiclass import OneVsRestClassifier

    eec = eec_tags()
    texts = eec["Sentence"].tolist()
    data = as_task(Dataset(inputs=texts, labels=eec["tags"].to_numpy(), modality="text"))
    names, Y = data.label_names, data.labels
    print(f"EEC: {len(texts)} sentences, {len(names)} labels {names}, positives {Y.sum(0).tolist()}", flush=True)
    start = time.perf_counter()
    feats = features(texts)
    print(f"  features (minilm) in {time.perf_counter() - start:.1f} s", flush=True)
    results: dict[str, list[dict]] = {"probe": [], "tf-idf": []}
    for seed in SEEDS:
        split = GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=seed)
        tr, te = next(split.split(texts, groups=eec["Person"]))
        clf = TransferClassifier(backbone="identity", task="multilabel", cache=False, progress=False, seed=seed)
        clf.fit(feats[tr], [names_of(Y[i], names) for i in tr])
        results["probe"].append(clf.evaluate(feats[te], [names_of(Y[i], names) for i in te]))
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        ovr = OneVsRestClassifier(LogisticRegressionCV(Cs=5, cv=3, max_iter=2000))
        ovr.fit(vec.fit_transform([texts[i] for i in tr]), Y[tr])
        scores = ovr.predict_proba(vec.transform([texts[i] for i in te]))
        results["tf-idf"].append(multilabel_metrics(Y[te], (scores >= 0.5).astype(int), scores, names, seed=0))
        if seed == 0:
            cuts = np.round(clf.targets_["thresholds"], 3).tolist()
            print(f"  seed 0: {len(tr)} training / {len(te)} held-out sentences, held-out persons "
                  f"{eec['Person'].iloc[te].nunique()}; probe thresholds {cuts}", flush=True)  # fmt: skip
    print("multi-label, held-out persons (mean ± SD over seeds; seed 0 with its 95% bootstrap CI):")
    for name, per_seed in results.items():
        summary(name, per_seed, ("micro_f1", "macro_f1", "subset_accuracy", "mean_ap"))
    for name, per_seed in results.items():
        row = per_seed[0]["per_label"]
        print(f"  seed 0 per-label F1 ({name}): " + ", ".join(f"{k} {v['f1']:.3f}" for k, v in row.items()))


def distil_pair(teacher: TransferClassifier, rows: Dataset, test: Dataset, key: str, args: argparse.Namespace,
                max_length: int) -> None:  # fmt: skip
    """The student distilled from ``teacher`` on ``rows`` and the same student on their labels alone,
    scored on ``test`` by ``key`` beside the teacher."""
    kw = dict(student="layers:3", strategy="full", epochs=args.distill_epochs, lr=1e-4, max_length=max_length,
              seed=0, progress=False, teacher_name="minilm probe")  # fmt: skip
    scores = {"teacher (minilm probe, every training row)": teacher.evaluate(test)}
    for method, name in (("logits", "student, distilled"), ("none", "student, labels alone")):
        start = time.perf_counter()
        student = distill(teacher, rows, method=method, cache_teacher=method != "none", **kw)
        scores[name] = student.evaluate(test)
        info = student.distilled_
        print(f"  {name}: {info['loss']}; {info['student_parameters'] / 1e6:.1f} M parameters (teacher "
              f"{info['teacher_parameters'] / 1e6:.1f} M); best epoch {student.best_epoch_}; "
              f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip
    print(f"  held-out {key} ({len(test)} rows) [95% CI]; training rows of the students: {len(rows)}")
    for name, m in scores.items():
        lo, hi = m["ci"][key]
        print(f"    {name:<45} {key} {m[key]:.3f} [{lo:.3f}, {hi:.3f}]", flush=True)


def distillation(args: argparse.Namespace) -> None:
    from sklearn.model_selection import GroupShuffleSplit

    lex = read_vader(args.vader)
    data = as_task(Dataset(inputs=lex["token"].tolist(), labels=lex["valence"].to_numpy(np.float64),
                           modality="text"), "regression")  # fmt: skip
    tr_i, te_i = stratified_split(np.zeros(len(data)), 0.2, 0)  # the regression part's seed-0 split
    tr, te = data.subset(tr_i), data.subset(te_i)
    teacher = TransferClassifier(backbone="minilm", strategy="linear-probe", task="regression", progress=False)
    teacher.fit(tr)
    rows = tr.subset(np.sort(np.random.default_rng(0).permutation(len(tr))[: args.distill_rows]))
    print(f"VADER (seed 0): teacher fitted on {len(tr)} training tokens", flush=True)
    distil_pair(teacher, rows, te, "r2", args, max_length=16)

    eec = eec_tags()
    data = as_task(Dataset(inputs=eec["Sentence"].tolist(), labels=eec["tags"].to_numpy(), modality="text"))
    tr_i, te_i = next(GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=0).split(eec, groups=eec["Person"]))
    tr, te = data.subset(tr_i), data.subset(te_i)
    teacher = TransferClassifier(backbone="minilm", strategy="linear-probe", task="multilabel", progress=False)
    teacher.fit(tr)
    rows = tr.subset(np.sort(np.random.default_rng(0).permutation(len(tr))[: args.distill_rows]))
    print(f"EEC (seed 0, held-out persons): teacher fitted on {len(tr)} training sentences", flush=True)
    distil_pair(teacher, rows, te, "micro_f1", args, max_length=32)


def losses(args: argparse.Namespace) -> None:
    from sklearn.model_selection import GroupShuffleSplit

    eec = eec_tags()
    texts = eec["Sentence"].tolist()
    data = as_task(Dataset(inputs=texts, labels=eec["tags"].to_numpy(), modality="text"))
    feats, Y = features(texts), data.labels
    arms = {"bce": {}, "asymmetric": {"loss": "asymmetric"}, "focal": {"loss": "focal"}}
    results: dict[str, list[dict]] = {k: [] for k in arms}
    for seed in SEEDS:
        split = GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=seed)
        tr, te = next(split.split(texts, groups=eec["Person"]))
        for name, options in arms.items():
            start = time.perf_counter()
            clf = TransferClassifier(backbone="identity", strategy="head", head_init="random", task="multilabel",
                                     task_options=options or None, epochs=args.loss_epochs, lr=1e-3, seed=seed,
                                     train_batch_size=128, cache=False, progress=False)  # fmt: skip
            clf.fit(feats[tr], Y[tr])
            results[name].append(clf.evaluate(feats[te], Y[te]))
            if seed == 0:
                print(f"  seed 0 {name}: {clf.targets_['loss']}, best epoch {clf.best_epoch_}, thresholds "
                      f"{np.round(clf.targets_['thresholds'], 2).tolist()}, {time.perf_counter() - start:.1f} s",
                      flush=True)  # fmt: skip
    print("multi-label losses, EEC held-out persons (mean ± SD over seeds 0-4; seed 0 with its 95% bootstrap CI):")
    for name, per_seed in results.items():
        summary(name, per_seed, ("micro_f1", "macro_f1", "subset_accuracy", "mean_ap"))
    for name in ("asymmetric", "focal"):
        diffs = [a["micro_f1"] - b["micro_f1"] for a, b in zip(results[name], results["bce"], strict=True)]
        print(f"  {name} - bce micro-F1 per seed: {', '.join(f'{d:+.3f}' for d in diffs)}")


def names_of(row: np.ndarray, names: list[str]) -> list[str]:
    return [n for n, v in zip(names, row, strict=True) if v]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vader", help="vaderSentiment wheel or vader_lexicon.txt (default: the installed package)")
    parser.add_argument("--part", choices=("regression", "multilabel", "both", "distill", "losses"), default="both")
    parser.add_argument("--distill-rows", type=int, default=1000, help="training rows the students train on")
    parser.add_argument("--distill-epochs", type=int, default=2)
    parser.add_argument("--loss-epochs", type=int, default=10)
    parser.add_argument("--finetune-seeds", type=int, default=0, help="fine-tune on the first N seeds (0: none)")
    parser.add_argument("--seeds", type=lambda t: [int(v) for v in t.split(",")], default=list(SEEDS),
                        help="regression split seeds (default 0,1,2,3,4)")  # fmt: skip
    parser.add_argument("--finetune-rows", type=int, default=1000, help="training rows the fine-tuning arm samples")
    parser.add_argument("--finetune-epochs", type=int, default=2)
    parser.add_argument("--check", action="store_true", help="rerun seed 0's probe with backbone=minilm")
    args = parser.parse_args()
    print(machine(), flush=True)
    start = time.perf_counter()
    if args.part in ("regression", "both"):
        regression(args)
    if args.part in ("multilabel", "both"):
        multilabel(args)
    if args.part == "distill":
        distillation(args)
    if args.part == "losses":
        losses(args)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
