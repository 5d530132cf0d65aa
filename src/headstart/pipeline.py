"""``headstart auto``: one command from labelled data to a chosen, proven, exported model and its report.

    >>> import headstart
    >>> result = headstart.auto("reviews.csv", "runs/reviews")      # doctest: +SKIP
    >>> result["verdict"]                                             # doctest: +SKIP

The steps, each timed and recorded in ``RUN/auto.json`` as soon as it ends (so ``resume=True``
continues after a kill with the steps already done, and the fit from its last checkpoint):

1. ``rank``: the backbones available offline for the data's modality and two of their upper
   layers, scored by LogME on the training rows (one forward pass for all the layers);
2. ``fit``: the best candidate, with every option at its default (:mod:`headstart.recipe`:
   fine-tuning that falls back to the probe when it does not pay); imbalanced classes
   (largest / smallest >= :data:`IMBALANCE_RATIO`) get ``imbalance="auto"``; scored on the
   held-out rows, which no step chooses anything on;
3. ``compare``: transfer against the same network from scratch (random weights) and a classic
   baseline, at the full training budget and a small one (:data:`SMALL_BUDGET`), linear probes on
   both networks' features, several seeds, paired test per budget;
4. ``audit`` (with a group column): per-group metrics and gaps of the model on the held-out rows;
5. ``export``: ONNX fp32 and int8, parity against PyTorch, size and latency;
6. ``report``: ``RUN/report.html`` with a verdict paragraph at the top.

``time_limit`` (seconds) bounds the run: an optional step (rank, compare, audit, export) whose
estimate no longer fits the time left is skipped and says so; the fit always runs.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from headstart.data import Dataset
from headstart.errors import HeadstartError
from headstart.io import write_json

AUTO_FILE = "auto.json"
IMBALANCE_RATIO = 3.0  # largest / smallest class at or above this: imbalance="auto"
SMALL_BUDGET = 0.1  # the small budget of the comparison: this fraction of the training rows
COMPARE_SEEDS = 3


def candidates(modality: str, default: str | None = None) -> list[str]:
    """The backbones ``auto`` ranks: ``default`` (the embedded default for ``modality``) and, for text
    and image networks, the outputs of its two blocks below the top (lower layers transfer further)."""
    from headstart.backbones.registry import DEFAULTS

    default = default or DEFAULTS.get(modality)
    if default is None:
        raise HeadstartError(f"no backbone for {modality} data")
    if modality not in ("text", "image"):
        return [default]
    from headstart.backbones import load_backbone
    from headstart.backbones.base import find_blocks

    found = find_blocks(load_backbone(default, pretrained=False))  # the architecture is enough
    if found is None:
        return [default]
    n = len(found[1])
    return [default] + [f"{default}@block{k}" for k in (n - 1, n - 2) if k >= 1]


def is_imbalanced(data: Dataset) -> bool:
    counts = np.asarray(list(data.class_counts().values()))
    return data.task == "classification" and len(counts) > 1 and counts.max() >= IMBALANCE_RATIO * counts.min()


class Auto:
    """One ``auto`` run: the steps, their record in ``RUN/auto.json`` and the time budget."""

    def __init__(
        self,
        train: Dataset,
        test: Dataset,
        how: str,
        out: str | Path,
        *,
        options: dict[str, Any],
        time_limit: float | None = None,
        resume: bool = False,
        say: Callable[[str], None] = print,
        progress: bool | None = None,
    ) -> None:
        self.train, self.test, self.how, self.out = train, test, how, Path(out)
        self.time_limit, self.say, self.progress = time_limit, say, progress
        self.options = dict(options)
        self.started = time.perf_counter()
        identity = {**self.options, "train": train.fingerprint(), "test": test.fingerprint()}
        self.fingerprint = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]
        self.record = self._open(resume)

    # ------------------------------------------------------------ the record
    def _open(self, resume: bool) -> dict[str, Any]:
        path = self.out / AUTO_FILE
        if resume:
            if not path.is_file():
                raise HeadstartError(f"nothing to resume in {self.out}: no {AUTO_FILE} (start it without --resume)")
            record = json.loads(path.read_text(encoding="utf-8"))
            if record.get("fingerprint") != self.fingerprint:
                raise HeadstartError(
                    f"{self.out} was started with other data or options: resume with the same ones, "
                    f"or start again in a new folder"
                )
            return record
        if self.out.exists() and any(self.out.iterdir()):
            raise HeadstartError(f"{self.out} is not empty: give a new folder, or --resume to continue the run there")
        return {
            "fingerprint": self.fingerprint,
            "options": self.options,
            "data": {
                "source": self.train.source,
                "modality": self.train.modality,
                "task": self.train.task,
                "train_rows": len(self.train),
                "test_rows": len(self.test),
                "evaluated_on": self.how,
            },
            "time_limit": self.time_limit,
            "steps": {},
        }

    def _save(self) -> None:
        write_json(self.out / AUTO_FILE, self.record)

    def spent(self) -> float:
        """Seconds of this run so far: the steps recorded before a resume, plus this session's."""
        before = self.record.get("seconds_before_resume", 0.0)
        return before + time.perf_counter() - self.started

    def step(self, name: str, fn: Callable[[], dict[str, Any]], estimate: float = 0.0, optional: bool = True) -> Any:
        """Run ``fn`` as step ``name`` unless the record has it (resume) or the time left is under ``estimate``."""
        done = self.record["steps"].get(name)
        if done is not None:
            self.say(f"[{name}] done before ({done['status']}, {done['seconds']:.1f} s)")
            return done.get("result")
        left = None if self.time_limit is None else self.time_limit - self.spent()
        if optional and left is not None and estimate > left:
            why = f"skipped: its estimate ({estimate:.0f} s) is over the time left ({max(left, 0):.0f} s)"
            self.record["steps"][name] = {"status": "skipped", "why": why, "seconds": 0.0}
            self._save()
            self.say(f"[{name}] {why}")
            return None
        self.say(f"[{name}] ...")
        start = time.perf_counter()
        why = "nothing to do for this data"
        try:
            result = fn()
        except HeadstartError as e:  # an optional step that cannot run on this data says why; the rest go on
            if not optional:
                raise
            result, why = None, f"cannot run: {e}"
        seconds = time.perf_counter() - start
        status = "done" if result is not None else "skipped"
        entry = {"status": status, "seconds": seconds, "result": result}
        if result is None:
            entry["why"] = why
        self.record["steps"][name] = entry
        self._save()
        self.say(f"[{name}] {status} in {seconds:.1f} s")
        return result

    # ------------------------------------------------------------ the steps
    def run(self) -> dict[str, Any]:
        from headstart.classifier import load_run

        self.out.mkdir(parents=True, exist_ok=True)
        self.record["seconds_before_resume"] = sum(s["seconds"] for s in self.record["steps"].values())
        self._save()
        modality = self.train.modality
        ranking = self.step("rank", self._rank, estimate=0.0)
        backbone = ranking["best"] if ranking else (self.options.get("candidates") or candidates(modality))[0]
        fitted = self.step("fit", lambda: self._fit(backbone), optional=False)
        clf = load_run(self.out)  # the fitted model as the run folder holds it (also after a resume)
        per_fit = fitted["seconds_features"] if fitted else 0.0
        self.step("compare", lambda: self._compare(backbone, clf), estimate=3 * per_fit)
        self.step("audit", lambda: self._audit(clf), estimate=per_fit / 2)
        self.step("export", lambda: self._export(clf), estimate=30.0 + per_fit / 2)
        self.record["verdict"] = verdict(self.record)
        self.record["seconds"] = self.spent()
        self._save()
        self.step("report", self._report, optional=False)
        self.record["seconds"] = self.spent()
        self._save()
        return self.record

    def _rank(self) -> dict[str, Any]:
        from headstart.select.rank import rank

        names = self.options.get("candidates") or candidates(self.train.modality)
        if len(names) == 1:
            return {"best": names[0], "candidates": names, "ranking": [], "why": "one candidate for this modality"}
        rows = rank(self.train, names, ["logme"], seed=self.options["seed"], progress=self.progress)
        table = [r.to_dict() for r in rows]
        write_json(
            self.out / "rank.json",
            {
                "data": self.train.source,
                "rows": len(self.train),
                "scores": ["logme"],
                "seed": self.options["seed"],
                "sample": None,
                "ranking": table,
            },
        )
        return {"best": rows[0].candidate, "candidates": names, "ranking": table}

    def _fit(self, backbone: str) -> dict[str, Any]:
        from headstart.backbones.layers import split_layer
        from headstart.classifier import TransferClassifier
        from headstart.fitting import save_scored
        from headstart.train import checkpoint

        imbalance = "auto" if is_imbalanced(self.train) else None
        # LogME scores frozen features: a layer ranked first is the best *probe*. Fine-tuning trains
        # the whole network, so the recipe fine-tunes the network the layer belongs to; when it keeps
        # the probe (fine-tuning did not pay), the probe is fitted on the best-ranked layer.
        network, layer = split_layer(backbone)
        common = {"seed": self.options["seed"], "imbalance": imbalance, "progress": self.progress}
        clf = TransferClassifier(backbone=network, **common)
        resume = checkpoint.latest(self.out) is not None  # killed during the fit: continue it
        clf.fit(self.train, run_dir=self.out, resume=resume)
        fitted = network
        if layer is not None and (not clf.fine_tuned_ or clf.extras_.get("recipe", {}).get("kept_probe")):
            recipe = clf.extras_.get("recipe")
            clf = TransferClassifier(backbone=backbone, strategy="linear-probe", **common).fit(self.train)
            clf.extras_ = {**clf.extras_, "recipe": recipe} if recipe else clf.extras_
            fitted = backbone
        seed, sample = self.options["seed"], self.options.get("sample")
        metrics = save_scored(clf, str(self.train.source), self.train, self.test, self.how, sample, seed, self.out)
        recipe = clf.extras_.get("recipe", {})
        t = clf.timings_
        return {
            "backbone": fitted,
            "ranked_first": backbone,
            "task": clf.task_,
            "imbalance": imbalance,
            "fine_tuned": bool(clf.fine_tuned_),
            "kept_probe": recipe.get("kept_probe"),
            "refit": {k: v for k, v in (recipe.get("refitted") or {}).items() if k != "history"} or None,
            "recipe": recipe.get("values"),
            "reasons": recipe.get("reasons"),
            "metrics": {k: v for k, v in metrics.items() if isinstance(v, (int, float, str))},
            "seconds_features": float(t.get("fit_features_seconds", 0.0)) + float(t.get("probe_features_seconds", 0.0)),
        }

    def _compare(self, backbone: str, clf: Any) -> dict[str, Any] | None:
        from headstart.select.compare import compare, plot_learning_curves

        if clf.task_ == "multilabel":
            return None
        metric = "balanced_accuracy" if is_imbalanced(self.train) else "accuracy"
        if clf.task_ == "regression":
            metric = "r2"
        result = compare(
            self.train,
            self.test,
            backbone,
            budgets=[SMALL_BUDGET, 1.0],
            seeds=int(self.options.get("compare_seeds") or COMPARE_SEEDS),
            strategy="linear-probe",
            classic=True,
            metric=metric,
            progress=self.say,
        )
        data = {"data": self.train.source, "split": self.how, **result.to_dict()}
        write_json(self.out / "compare.json", data)
        plot_learning_curves(result, self.out / "learning_curve.png")
        return {"verdict": result.verdict, "metric": metric, "budgets": data["budgets"]}

    def _audit(self, clf: Any) -> dict[str, Any] | None:
        if self.test.group is None or clf.task_ != "classification":
            return None
        from headstart.fairness.run import AUDIT_FILE, audit_model

        column = self.test.columns.get("group", "group")
        result = audit_model(clf, self.test, {column: self.test.group}, run=self.out)
        write_json(self.out / AUDIT_FILE, result)
        return {"file": AUDIT_FILE, "column": column}

    def _export(self, clf: Any) -> dict[str, Any] | None:
        from headstart.export import export_run
        from headstart.export.run import check_exportable

        check_exportable(clf)  # a run that cannot be exported: the step is skipped, saying why
        calibrate = self.train.sample(min(128, len(self.train)), self.options["seed"])
        report = export_run(self.out, quantize_to="int8", eval_data=self.test, calibrate=calibrate, repeats=10)
        return {"table": report["table"], "parity": report["parity"]}

    def _report(self) -> dict[str, Any]:
        from headstart.report import build_report

        html, md = build_report(self.out)
        return {"html": str(html), "markdown": str(md)}


def _fmt(value: Any) -> str:
    return "n/a" if value is None or (isinstance(value, float) and not np.isfinite(value)) else f"{value:.3f}"


def verdict(record: dict[str, Any]) -> str:
    """The one-paragraph verdict at the top of the report, from the steps' results."""
    steps = record["steps"]
    data = record["data"]
    parts = [f"{data['train_rows']} training rows of {data['modality']} data ({data['task']}); {data['evaluated_on']}."]
    rank = (steps.get("rank") or {}).get("result")
    fit = (steps.get("fit") or {}).get("result") or {}
    if rank and rank.get("ranking"):
        parts.append(f"{rank['best']} ranked first of {len(rank['candidates'])} candidates by LogME.")
    if fit:
        first = fit.get("ranked_first", fit["backbone"])
        network = first.split("@block")[0]
        if fit.get("kept_probe"):
            how = (
                "fine-tuned with the default recipe, did not beat the probe on validation rows cut from the "
                "training rows: the model is the linear probe"
            )
            if network != fit["backbone"]:
                how = f"(the network {network}) " + how + f" on {fit['backbone']}"
        elif fit.get("fine_tuned"):
            how = "was fine-tuned with the default recipe" + (
                f" (the whole network of {first}, ranked first)" if first != fit["backbone"] else ""
            )
            if fit.get("refit"):
                how += (
                    f", then refitted on all {fit['refit']['rows']} training rows for {fit['refit']['epochs']} epochs"
                )
        else:
            how = "is a linear probe"
        m = fit["metrics"]
        main = "r2" if fit["task"] == "regression" else "micro_f1" if fit["task"] == "multilabel" else "accuracy"
        score = f"{main.replace('_', ' ')} {_fmt(m.get(main))}"
        if fit["task"] == "classification":
            score += f", macro-F1 {_fmt(m.get('macro_f1'))}, balanced accuracy {_fmt(m.get('balanced_accuracy'))}"
        extra = f" (imbalanced classes: imbalance {fit['imbalance']})" if fit.get("imbalance") else ""
        parts.append(f"{fit['backbone']} {how}{extra}; on the held-out rows: {score}.")
    comp = (steps.get("compare") or {}).get("result")
    if comp:
        cells = []
        for b in comp["budgets"]:
            arms = b["arms"]
            shown = ", ".join(f"{a} {_fmt(v['mean'])}" for a, v in arms.items())
            cells.append(f"at {b['label']} ({b['rows']} rows) {shown}: {b['verdict']}")
        parts.append(
            f"Against the same network from scratch and a classic baseline (linear probes, "
            f"{comp['metric'].replace('_', ' ')}): " + "; ".join(cells) + f". Verdict: {comp['verdict']}."
        )
    audit = steps.get("audit") or {}
    if audit.get("status") == "done":
        parts.append("Per-group audit on the held-out rows: see the fairness section.")
    export = (steps.get("export") or {}).get("result")
    if export and export.get("table"):
        rows = {r["model"]: r for r in export["table"]}
        sizes = ", ".join(f"{k} {v['size_mb']:.1f} MB" for k, v in rows.items())
        agree = ", ".join(f"{k} {p['top1_agreement']:.1%}" for k, p in export["parity"].items())
        parts.append(f"Exported: {sizes}; top-1 agreement with PyTorch: {agree}.")
    skipped = [f"{k} ({v.get('why', '')})" for k, v in steps.items() if v["status"] == "skipped"]
    if skipped:
        parts.append("Skipped: " + "; ".join(skipped) + ".")
    return " ".join(parts)


def auto(
    data: str | Path | Dataset,
    out: str | Path,
    *,
    eval_data: str | Path | Dataset | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    sample: int | None = None,
    time_limit: float | None = None,
    resume: bool = False,
    candidates: list[str] | None = None,
    compare_seeds: int = COMPARE_SEEDS,
    say: Callable[[str], None] = print,
    progress: bool | None = None,
    **columns: Any,
) -> dict[str, Any]:
    """Run every step on ``data`` into the folder ``out``; returns what ``out/auto.json`` holds.

    ``eval_data``: the held-out rows (default: DATA's own val/test split, else a stratified
    ``test_size`` hold-out with ``seed``); ``sample``: train on that many stratified training rows;
    ``candidates``: the backbones to rank (default: :func:`candidates`, the offline ones);
    ``columns``: ``label_col``, ``text_col``, ``group_col`` ... as for :func:`headstart.load`."""
    from headstart.data import load
    from headstart.data.holdout import choose_splits
    from headstart.data.targets import as_task

    dataset = as_task(data if isinstance(data, Dataset) else load(data, **columns))
    held = None
    if eval_data is not None:
        held = eval_data if isinstance(eval_data, Dataset) else load(eval_data, **columns)
        held = as_task(held, dataset.task, dataset.label_names if dataset.task == "multilabel" else None)
    train, test, how = choose_splits(dataset, held, test_size, seed)
    if sample is not None:
        train = train.sample(sample, seed)
    options = {
        "seed": seed,
        "sample": sample,
        "test_size": test_size,
        "candidates": candidates,
        "compare_seeds": compare_seeds,
    }
    run = Auto(train, test, how, out, options=options, time_limit=time_limit, resume=resume, say=say, progress=progress)
    return run.run()
