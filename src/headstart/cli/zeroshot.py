"""``headstart zeroshot DATA --labels "spam,not spam"``: classify without a single
labelled example, from label names or descriptions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer

from headstart.cli import common as c
from headstart.cli.app import command, console
from headstart.data import Dataset
from headstart.errors import HeadstartError


def read_descriptions(path: Path) -> dict[str, str]:
    """``{label: description}`` from a JSON object or a two-column table (label, description)."""
    if not path.is_file():
        raise HeadstartError(f"no such descriptions file: {path}")
    if path.suffix.lower() == ".json":
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise HeadstartError(
                f"cannot read {path}: {e}; it must hold a JSON object {{label: description}}"
            ) from None
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


# What `headstart zeroshot` runs without --method, by modality (images: clip when --clip names a model).
DEFAULT_METHOD = {"text": "label-text", "image": "conse"}
# The command's flags that give a method's constructor options of these names.
FLAGS = {
    "backbone": "--backbone",
    "text_backbone": "--backbone",
    "image_backbone": "--image-backbone",
    "model": "--clip",
    "top_t": "--top-t",
    "templates": "--templates",
    "cache": "--no-cache",
}


def candidate_labels(labels: str | None, desc: dict[str, str] | None, dataset: Dataset) -> list[str] | None:
    """The labels to choose among: --labels, else the descriptions', else DATA's own label column."""
    names = c.split_list(labels) or (list(desc) if desc else None)
    if names is None and dataset.has_labels:
        names = [str(v) for v in dataset.classes]
    return names


def build_model(method: str, values: dict[str, Any], options: dict[str, Any]) -> tuple[Any, str]:
    """The method built from the command's values (those its constructor takes) and ``--option``s,
    and how to name it."""
    from headstart.registry import REQUIRED
    from headstart.zeroshot import METHODS

    known = METHODS.options(method)
    kw = {k: v for k, v in values.items() if k in known and v is not None}
    kw.update(options)
    for name, default in known.items():
        if default is REQUIRED and name not in kw:
            raise HeadstartError(f"zero-shot method '{method}' needs {FLAGS.get(name, f'--option {name}=...')}")
    model = METHODS.create(method, **kw)
    return model, METHODS.entry(method).meta["summary"].format(**{**known, **kw})


def by_attributes(
    model: Any, dataset: Dataset, attributes: Path | None, seen: Path | None, names: list[str] | None, ctx: dict
) -> tuple[Any, list[str], str]:
    """Predictions of an attribute method fitted on the SEEN rows' features: among ``names``, else the
    attribute table's classes that SEEN lacks. ``ctx``: columns, backbones and caching."""
    from headstart.backbones import load_backbone_for
    from headstart.features import extract
    from headstart.zeroshot import read_attributes

    if attributes is None or seen is None:
        raise HeadstartError("an attribute method needs --attributes FILE (class x attributes) and --seen DATA")
    table = read_attributes(attributes)
    train = c.classification_only(c.load_data(seen, **ctx["columns"]), "zeroshot")
    known = {str(v) for v in train.classes}
    names = names or [k for k in table if k not in known]
    if not names:
        raise HeadstartError(f"every class of {attributes} is a seen class: give the candidates with --labels")
    spec = {"text": ctx["backbone"], "image": ctx["image_backbone"]}.get(dataset.modality, "auto")
    bb = load_backbone_for(spec, dataset)
    X_seen = extract(bb, train, cache=ctx["cache"]).features
    model.fit(X_seen, np.asarray([str(v) for v in train.labels]), table)
    pred = model.predict(extract(bb, dataset, cache=ctx["cache"]).features, classes=names)
    return pred, names, f" on {bb.spec} features ({len(train)} rows of {len(known)} seen classes)"


def score(dataset: Dataset, pred: Any, names: list[str]) -> None:
    """Accuracy and macro-F1 against DATA's labels (with the majority class), when it has them."""
    from headstart.metrics import classification_metrics

    if not dataset.has_labels:
        return
    truth = [str(v) for v in dataset.labels]
    if set(truth) <= set(names):
        m = classification_metrics(truth, [str(p) for p in pred], names)
        base = majority_baseline(truth, names)
        console.print(
            f"accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f} "
            f"(majority class: accuracy {base['accuracy']:.4f}, macro-F1 {base['macro_f1']:.4f})",
            highlight=False,
        )


@command()
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
    method: str = typer.Option(
        None,
        "--method",
        "-m",
        help="Zero-shot method: {choices:zeroshot} (default: label-text for texts, conse for images, clip with "
        "--clip). Attribute methods read --attributes and --seen, and DATA's features from --backbone (texts), "
        "--image-backbone (images) or its numeric columns.",
    ),
    attributes: Path = typer.Option(
        None, "--attributes", help="Attribute methods: a class x attribute table (first column: the class)."
    ),
    seen: Path = typer.Option(
        None, "--seen", help="Attribute methods: labelled rows of the seen classes to fit on (DATA's columns)."
    ),
    option: list[str] = typer.Option(
        None, "--option", help="Method option KEY=VALUE, repeatable (gamma=1, lam=1 for ESZSL; C=1 for DAP)."
    ),
    out: Path = typer.Option(Path("predictions.csv"), "--out", "-o", help="CSV of predictions to write."),
    label_col: str = c.LabelCol,
    text_col: str = c.TextCol,
    image_col: str = c.ImageCol,
    feature_cols: str = c.FeatureCols,
    no_cache: bool = c.NoCache,
) -> None:
    """Zero-shot: text by similarity to label prompts; images by ConSE (or CLIP); or from class attributes.

    Labels come from --labels, else from --descriptions, else from DATA's own label
    column (then the figures are scored against it, with the majority-class baseline).
    """
    from headstart.zeroshot import METHODS

    options = c.parse_options(option)
    if method is not None:
        METHODS.check(method)  # a misspelt method fails before any data is read
    c.check_out(out, "file")
    kwargs = {"label_col": label_col, "text_col": text_col, "image_col": image_col, "feature_cols": feature_cols}
    dataset = c.load_data(data) if data.is_dir() else c.load_data(data, **kwargs, require_labels=False)
    c.classification_only(dataset, "zeroshot")
    desc = read_descriptions(descriptions) if descriptions is not None else None
    names = candidate_labels(labels, desc, dataset)
    if method is None and dataset.modality not in DEFAULT_METHOD:
        raise HeadstartError(f"zero-shot takes texts or images; {data} is {dataset.modality}")
    method = method or ("clip" if dataset.modality == "image" and clip else DEFAULT_METHOD[dataset.modality])
    inputs = METHODS.entry(method).meta["inputs"]
    if inputs != "attributes" and inputs != dataset.modality:
        raise HeadstartError(f"zero-shot method '{method}' takes {inputs} inputs; {data} is {dataset.modality}")
    values = dict(backbone=backbone, text_backbone=backbone, image_backbone=image_backbone, model=clip, top_t=top_t)
    values.update(cache=not no_cache, templates=[t for t in templates.split("|") if t.strip()] if templates else None)
    model, what = build_model(method, values, options)
    if inputs == "attributes":
        ctx = dict(columns=kwargs, backbone=backbone, image_backbone=image_backbone, cache=not no_cache)
        pred, names, where = by_attributes(model, dataset, attributes, seen, names, ctx)
        what += where
    else:
        if names is None:
            raise HeadstartError("give the candidate labels: --labels a,b,c (or --descriptions FILE)")
        model.fit(names, desc)
        pred = model.predict(dataset.inputs if dataset.modality == "text" else dataset)
    c.write_predictions(out, dataset.ids, pred)
    console.print(f"{what}: {len(names)} labels, {len(dataset)} predictions -> {out}", highlight=False)
    score(dataset, pred, names)
