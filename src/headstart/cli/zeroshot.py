"""``headstart zeroshot DATA --labels "spam,not spam"``: classify without a single
labelled example, from label names or descriptions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import app, console
from headstart.errors import HeadstartError


def read_descriptions(path: Path) -> dict[str, str]:
    """``{label: description}`` from a JSON object or a two-column table (label, description)."""
    if not path.is_file():
        raise HeadstartError(f"no such descriptions file: {path}")
    if path.suffix.lower() == ".json":
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise HeadstartError(f"cannot read {path}: {e}") from None
        if not isinstance(obj, dict):
            raise HeadstartError(f"{path} must hold a JSON object {{label: description}}")
        return {str(k): str(v) for k, v in obj.items()}
    from headstart.data.loaders import read_table

    df = read_table(path)
    if df.shape[1] < 2:
        raise HeadstartError(f"{path} needs two columns: label, description")
    return {str(k): str(v) for k, v in zip(df.iloc[:, 0], df.iloc[:, 1], strict=True)}


def majority_baseline(truth: list[str], classes: list[str]) -> dict[str, Any]:
    from collections import Counter

    from headstart.metrics import classification_metrics

    top = Counter(truth).most_common(1)[0][0]
    return classification_metrics(truth, [top] * len(truth), classes)


@app.command()
def zeroshot(
    data: Path = typer.Argument(..., help="Texts or images to classify: a table or an image folder."),
    labels: str = typer.Option(None, "--labels", "-l", help='Comma-separated labels, e.g. "spam,not spam".'),
    descriptions: Path = typer.Option(
        None, "--descriptions", "-d", help="JSON {label: description} or a table label,description."
    ),
    templates: str = typer.Option(
        None, "--templates", help='Prompt templates separated by "|", each with {label} (averaged).'
    ),
    backbone: str = typer.Option("minilm", "--backbone", "-b", help="Text encoder (label text; ConSE's text side)."),
    image_backbone: str = typer.Option(
        "efficientnet-lite0", "--image-backbone", help="Images: the backbone whose ImageNet head ConSE reads."
    ),
    clip: str = typer.Option(None, "--clip", help="Images: a CLIP-style model (hf:ID or folder) instead of ConSE."),
    top_t: int = typer.Option(10, "--top-t", min=1, help="ConSE: source classes combined per image."),
    out: Path = typer.Option(Path("predictions.csv"), "--out", "-o", help="CSV of predictions to write."),
    label_col: str = c.LabelCol,
    text_col: str = c.TextCol,
    image_col: str = c.ImageCol,
    no_cache: bool = c.NoCache,
) -> None:
    """Zero-shot: text by similarity to label prompts; images by ConSE (or CLIP).

    Labels come from --labels, else from --descriptions, else from DATA's own label
    column (then the figures are scored against it, with the majority-class baseline).
    """
    from headstart.metrics import classification_metrics

    kwargs = {"label_col": label_col, "text_col": text_col, "image_col": image_col}
    dataset = c.load_data(data) if data.is_dir() else c.load_data(data, **kwargs, require_labels=False)
    desc = read_descriptions(descriptions) if descriptions is not None else None
    names = c.split_list(labels) or (list(desc) if desc else None)
    if names is None:
        if not dataset.has_labels:
            raise HeadstartError("give the candidate labels: --labels a,b,c (or --descriptions FILE)")
        names = [str(v) for v in dataset.classes]
    kw: dict[str, Any] = {}
    if templates:
        kw["templates"] = [t for t in templates.split("|") if t.strip()]
    if dataset.modality == "text":
        from headstart.zeroshot import LabelTextZeroShot

        model: Any = LabelTextZeroShot(backbone, cache=not no_cache, **kw)
        what = f"label text on {backbone}"
    elif dataset.modality == "image" and clip:
        from headstart.zeroshot import CLIPZeroShot

        model = CLIPZeroShot(clip, **kw)
        what = f"CLIP {clip}"
    elif dataset.modality == "image":
        from headstart.zeroshot import ConSE

        model = ConSE(image_backbone, backbone, top_t=top_t, cache=not no_cache, **kw)
        what = f"ConSE: {image_backbone} ImageNet head + {backbone} text"
    else:
        raise HeadstartError(f"zero-shot takes texts or images; {data} is {dataset.modality}")
    model.fit(names, desc)
    pred = model.predict(dataset.inputs if dataset.modality == "text" else dataset)
    c.write_predictions(out, dataset.ids, pred)
    console.print(f"{what}: {len(names)} labels, {len(dataset)} predictions -> {out}", highlight=False)
    if dataset.has_labels:
        truth = [str(v) for v in dataset.labels]
        if set(truth) <= set(names):
            m = classification_metrics(truth, [str(p) for p in pred], names)
            base = majority_baseline(truth, names)
            console.print(
                f"accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f} "
                f"(majority class: accuracy {base['accuracy']:.4f}, macro-F1 {base['macro_f1']:.4f})",
                highlight=False,
            )
