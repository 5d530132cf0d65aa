"""``headstart fewshot SUPPORT QUERY`` (classify with a few labelled examples) and
``headstart fewshot-eval DATA --ways 5 --shots 1`` (accuracy ± 95% CI over episodes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import command, console
from headstart.cli.report import ReportFlag, require_out, write_report
from headstart.errors import HeadstartError


def _methods(value: str | None) -> list[str]:
    """The methods named in ``value`` (comma-separated), each checked; ``None``: the default ones."""
    from headstart.fewshot.registry import METHODS, default_methods

    if value is None:
        return default_methods()
    names = c.split_list(value) or []
    for name in names:
        METHODS.check(name)
    if not names:
        raise HeadstartError("--methods needs at least one method")
    return names


def _meta_run(backbone: str) -> bool:
    from headstart.meta.run import is_meta_run

    return backbone not in ("auto", "") and is_meta_run(backbone)


def _meta_fewshot(run: Path, sup: Any, qry: Any, out: Path) -> None:
    """``fewshot --backbone RUN``: adapt the meta-learnt model on SUPPORT, then label QUERY."""
    from headstart.meta.base import predict_labels
    from headstart.meta.run import load_run

    model = load_run(run)
    pred = predict_labels(model, sup, qry)
    c.write_predictions(out, qry.ids, pred)
    console.print(
        f"{model.method.name} ({run}) adapted on {len(sup)} support rows, {model.method.test_steps} inner steps; "
        f"{len(qry)} predictions -> {out}",
        highlight=False,
    )
    if qry.has_labels:
        truth = [str(v) for v in qry.labels]
        console.print(f"accuracy {sum(map(str.__eq__, truth, map(str, pred))) / len(truth):.4f}", highlight=False)


def _meta_eval(run: Path, dataset: Any, setting: tuple[int, ...]) -> tuple[list[dict[str, Any]], Any]:
    """The meta-train run's own figure (adapted on each episode's support set) and its backbone."""
    from headstart.meta.base import evaluate
    from headstart.meta.run import load_run

    ways, shots, queries, episodes, steps, seed = setting
    model = load_run(run)
    ev = evaluate(model, dataset, ways, shots, queries, episodes, steps, seed)
    row = ev.to_dict()
    row["method"] = f"{ev.method} (meta-train run, {ev.accuracies.shape[1] - 1} steps)"
    return [row], model.backbone


@command()
def fewshot(
    support: Path = typer.Argument(..., help="The labelled support set: image folder, or a CSV/TSV/Parquet table."),
    query: Path = typer.Argument(..., help="Inputs to classify (labels, when present, are scored)."),
    backbone: str = typer.Option(
        "auto", "--backbone", "-b", help="Backbone spec (auto: by modality), or a meta-train run folder (adapts)."
    ),
    method: str = typer.Option("protonet", "--method", "-m", help="Few-shot method: {choices:fewshot}."),
    out: Path = typer.Option(Path("predictions.csv"), "--out", "-o", help="CSV of predictions to write."),
    label_col: str = c.LabelCol,
    text_col: str = c.TextCol,
    image_col: str = c.ImageCol,
    batch_size: int = c.BatchSize,
    device: str = c.Device,
    no_cache: bool = c.NoCache,
) -> None:
    """Classify QUERY from the few labelled examples in SUPPORT (no training of the backbone)."""
    from headstart.fewshot import FewShotClassifier

    name = _methods(method)[0]
    c.check_out(out, "file")
    cols = {"label_col": label_col, "text_col": text_col, "image_col": image_col}
    sup = c.classification_only(c.load_data(support, **cols), "fewshot")
    sup.require_labels()
    qry = c.load_data(query, **{**cols, "require_labels": False}) if query.is_file() else c.load_data(query)
    if _meta_run(backbone):
        _meta_fewshot(Path(backbone), sup, qry, out)
        return
    clf = FewShotClassifier(backbone, name, cache=not no_cache, batch_size=batch_size, device=device)
    clf.fit(sup)
    pred = clf.predict(qry)
    c.write_predictions(out, qry.ids, pred)
    shots = min(sup.class_counts().values())
    console.print(
        f"{name} on {clf.backbone_.spec}: {len(sup.classes)} classes, {len(sup)} support rows "
        f"(at least {shots} per class); {len(qry)} predictions -> {out}",
        highlight=False,
    )
    if qry.has_labels and set(map(str, qry.classes)) <= set(map(str, clf.classes_)):
        m = clf.evaluate(qry)
        console.print(f"accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}", highlight=False)


@command("fewshot-eval")
def fewshot_eval(
    data: Path = typer.Argument(..., help="Labelled data with many classes: image folder or table."),
    ways: int = typer.Option(5, "--ways", "-n", min=2, help="Classes per episode."),
    shots: int = typer.Option(1, "--shots", "-k", min=1, help="Support examples per class."),
    queries: int = typer.Option(15, "--queries", "-q", min=1, help="Query examples per class."),
    episodes: int = typer.Option(600, "--episodes", min=1, help="Episodes (600: the usual figure)."),
    methods: str = typer.Option(
        None,
        "--methods",
        "-m",
        help="Comma-separated few-shot methods, of {choices:fewshot} (default: {choices:fewshot-default}).",
    ),
    backbone: str = typer.Option(
        "auto", "--backbone", "-b", help="Backbone spec (auto: by modality), or a meta-train run folder."
    ),
    steps: int = typer.Option(None, "--steps", min=0, help="Inner steps at test time for a meta-train run."),
    seed: int = c.o.SEED.typer(help="Seed of the episodes (same seed, same episodes)."),
    out: Path = typer.Option(None, "--out", "-o", help="Run folder to write fewshot.json into."),
    report: bool = ReportFlag,
    label_col: str = c.LabelCol,
    text_col: str = c.TextCol,
    image_col: str = c.ImageCol,
    batch_size: int = c.BatchSize,
    device: str = c.Device,
    no_cache: bool = c.NoCache,
) -> None:
    """Mean accuracy ± 95% CI of each method over N-way K-shot episodes of DATA's embeddings."""
    from rich.table import Table

    from headstart.backbones import load_backbone
    from headstart.features import extract
    from headstart.fewshot import evaluate_episodes
    from headstart.fewshot.registry import get_method
    from headstart.io import write_json

    require_out(report, out)
    c.check_out(out)
    names = _methods(methods)
    dataset = c.load_data(data, label_col=label_col, text_col=text_col, image_col=image_col)
    c.classification_only(dataset, "fewshot-eval").require_labels(ways)
    meta_rows: list[dict[str, Any]] = []
    if _meta_run(backbone):  # the run's method, adapted on each support set, beside the methods on its features
        meta_rows, bb = _meta_eval(Path(backbone), dataset, (ways, shots, queries, episodes, steps, seed))
    else:
        bb = load_backbone(backbone, modality=dataset.modality)
    ex = extract(bb, dataset, batch_size=batch_size, device=device, cache=not no_cache)
    results: list[dict[str, Any]] = []
    table = Table(title=f"{ways}-way {shots}-shot, {queries} queries per class, {episodes} episodes ({bb.spec})")
    for col in ("method", "accuracy", "± 95% CI", "seconds"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for r in meta_rows:
        results.append(r)
        table.add_row(r["method"], f"{r['accuracy']:.4f}", f"{r['ci95']:.4f}", f"{r['seconds']:.2f}")
    for name in names:
        r = evaluate_episodes(ex.features, dataset.labels, get_method(name), ways, shots, queries, episodes, seed)
        results.append(r.to_dict())
        table.add_row(name, f"{r.mean:.4f}", f"{r.ci95:.4f}", f"{r.seconds:.2f}")
    console.print(table)
    if out is not None:
        payload = {
            "data": str(data),
            "backbone": bb.spec,
            "rows": len(dataset),
            "classes": len(dataset.classes),
            "seed": seed,
            "results": results,
        }
        write_json(Path(out) / "fewshot.json", payload)
        console.print(f"wrote {Path(out) / 'fewshot.json'}", highlight=False)
        if report:
            write_report(Path(out))
