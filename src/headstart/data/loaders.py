"""Loaders: image folders, tables (CSV/TSV/Parquet/JSONL), in-memory arrays.

Every loader returns a :class:`~headstart.data.Dataset` or raises a
:class:`~headstart.errors.HeadstartError` naming the file, the column or the row.
Row numbers in messages count data rows from 1 (the header is not a row).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from headstart.data.dataset import Dataset
from headstart.data.digits import idx_files, load_digits_mat, load_idx_folder
from headstart.errors import HeadstartError, did_you_mean, warn

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")
TABLE_EXTENSIONS = (".csv", ".tsv", ".tab", ".parquet", ".pq", ".jsonl", ".ndjson", ".json")
SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
LABEL_GUESSES = ("label", "labels", "target", "class", "category", "y")
SPLIT_GUESSES = ("split",)


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    rows = (np.flatnonzero(mask) + 1).tolist()
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (", ..." if len(rows) > limit else "")


# ---------------------------------------------------------------- image folders
def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _check_image(path: Path) -> None:
    """Open the header only (cheap); full decoding errors surface at extraction."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.size  # noqa: B018 - forces the header parse
    except (UnidentifiedImageError, OSError) as e:
        raise HeadstartError(f"cannot read image {path}: {e.__class__.__name__}") from None


def load_image_folder(path: str | os.PathLike, check: bool = True) -> Dataset:
    """Images in one sub-folder per class, or ``train/`` + ``val/`` (+ ``test/``) each so.

    With the split layout, rows carry ``split`` = ``"train"``/``"val"``/``"test"``.
    A folder holding only image files (no sub-folders) loads unlabelled.
    """
    root = Path(path)
    if not root.is_dir():
        raise HeadstartError(f"no such folder: {root}")
    subdirs = _class_folders(root)
    loose = sorted(f for f in root.iterdir() if f.is_file() and _is_image(f.name))
    if loose and not subdirs:
        # A flat folder of images: unlabelled (what `predict` gets).
        if check:
            for f in loose:
                _check_image(f)
        return Dataset(
            inputs=[str(f) for f in loose],
            labels=None,
            modality="image",
            ids=np.asarray([f.name for f in loose]),
            source=str(root),
            columns={"layout": "flat"},
        )
    split_dirs = [d for d in subdirs if d.name.lower() in SPLIT_NAMES]
    layouts = [(SPLIT_NAMES[d.name.lower()], d) for d in split_dirs] if split_dirs else [(None, root)]
    inputs, labels, splits = [], [], []
    for split, base in layouts:
        for cls_dir in _class_folders(base):
            files = sorted(f for f in cls_dir.rglob("*") if f.is_file() and _is_image(f.name))
            if not files:
                warn(f"class folder {cls_dir} has no images; skipped")
                continue
            for f in files:
                if check:
                    _check_image(f)
                inputs.append(str(f))
                labels.append(cls_dir.name)
                splits.append(split)
    if not inputs:
        raise HeadstartError(
            f"no images found in {root}: expected one sub-folder per class "
            f"(or train/ and val/ each with one sub-folder per class)"
        )
    return Dataset(
        inputs=inputs,
        labels=np.asarray(labels),
        modality="image",
        split=np.asarray(splits) if split_dirs else None,
        ids=np.asarray([os.path.relpath(p, root) for p in inputs]),
        source=str(root),
        columns={"layout": "split-folders" if split_dirs else "class-folders"},
    )


# ---------------------------------------------------------------------- tables
def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read CSV / TSV / Parquet / JSONL into a DataFrame (only empty cells are missing)."""
    p = Path(path)
    if not p.exists():
        raise HeadstartError(f"no such file: {p}")
    suffix = p.suffix.lower()
    na = {"keep_default_na": False, "na_values": [""]}
    try:
        if suffix in (".tsv", ".tab"):
            # GLUE-style TSV: quotes are literal characters, not field delimiters.
            return pd.read_csv(p, sep="\t", quoting=csv.QUOTE_NONE, **na)
        if suffix == ".csv":
            return pd.read_csv(p, **na)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(p)
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(p, lines=True)
        if suffix == ".json":
            return pd.read_json(p)
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
        raise HeadstartError(f"cannot read table {p}: {first}") from None
    raise HeadstartError(
        f"unsupported file type '{suffix}' for {p} (use a folder of images or one of {', '.join(TABLE_EXTENSIONS)})"
    )


def _column(df: pd.DataFrame, name: str, source: str, role: str) -> str:
    if name in df.columns:
        return name
    cols = [str(c) for c in df.columns]
    raise HeadstartError(
        f"{role} column '{name}' not in {source}{did_you_mean(name, cols)} (columns: {', '.join(cols)})"
    )


def _guess(df: pd.DataFrame, guesses: Sequence[str]) -> str | None:
    lowered = {str(c).lower(): c for c in df.columns}
    for g in guesses:
        if g in lowered:
            return lowered[g]
    return None


def _looks_like_image_paths(values: pd.Series) -> bool:
    sample = values.dropna().astype(str).head(50)
    return len(sample) > 0 and all(_is_image(v) for v in sample)


def from_dataframe(
    df: pd.DataFrame,
    *,
    label_col: str | None = None,
    text_col: str | None = None,
    image_col: str | None = None,
    feature_cols: Sequence[str] | None = None,
    group_col: str | None = None,
    domain_col: str | None = None,
    split_col: str | None = None,
    require_labels: bool = True,
    strict: bool = False,
    source: str = "<dataframe>",
    base_dir: str | os.PathLike | None = None,
) -> Dataset:
    """Build a Dataset from a table with a text, image-path or numeric input.

    Columns that are not named are guessed: the label from common names (label,
    target, class, ...), the input from the remaining columns (image paths, else
    the longest string column, else every numeric column).
    """
    if len(df) == 0:
        raise HeadstartError(f"{source} has no rows")
    df = df.reset_index(drop=True)
    cols: dict[str, Any] = {}
    if label_col is not None:
        cols["label"] = _column(df, label_col, source, "label")
    else:
        guess = _guess(df, LABEL_GUESSES)
        if guess is not None:
            cols["label"] = guess
        elif require_labels:
            names = ", ".join(map(str, df.columns))
            raise HeadstartError(f"no label column found in {source}; pass --label-col (columns: {names})")
    for role, name in (("group", group_col), ("domain", domain_col), ("split", split_col)):
        if name is not None:
            cols[role] = _column(df, name, source, role)
    if "split" not in cols:
        guess = _guess(df, SPLIT_GUESSES)
        if guess is not None:
            cols["split"] = guess
    reserved = set(cols.values())

    given = [x for x in (text_col, image_col, feature_cols) if x is not None]
    if len(given) > 1:
        raise HeadstartError("pass only one of --text-col, --image-col, --feature-cols")
    if text_col is not None:
        modality, cols["text"] = "text", _column(df, text_col, source, "text")
    elif image_col is not None:
        modality, cols["image"] = "image", _column(df, image_col, source, "image")
    elif feature_cols is not None:
        modality = "tabular"
        cols["features"] = [_column(df, c, source, "feature") for c in feature_cols]
    else:
        rest = [c for c in df.columns if c not in reserved]
        strings = [c for c in rest if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])]
        images = [c for c in strings if _looks_like_image_paths(df[c])]
        numeric = [c for c in rest if pd.api.types.is_numeric_dtype(df[c])]
        if images:
            modality, cols["image"] = "image", images[0]
        elif strings:
            lengths = {c: df[c].dropna().astype(str).str.len().mean() for c in strings}
            modality, cols["text"] = "text", max(strings, key=lambda c: lengths[c])
        elif numeric:
            modality, cols["features"] = "tabular", numeric
        else:
            raise HeadstartError(f"no input column found in {source}; pass --text-col")

    keep = np.ones(len(df), dtype=bool)
    labels = None
    if "label" in cols:
        lab = df[cols["label"]]
        missing = lab.isna().to_numpy()
        if missing.any() and require_labels:
            raise HeadstartError(
                f"{missing.sum()} rows of {source} have no value in label column "
                f"'{cols['label']}' (rows {_rows(missing)}); fill or drop them"
            )
        labels = lab.to_numpy()
        if labels.dtype.kind == "f" and not missing.any() and np.all(labels == np.round(labels)):
            labels = labels.astype(int)

    if modality == "text":
        raw = df[cols["text"]]
        empty = (raw.isna() | raw.astype(str).str.strip().eq("")).to_numpy()
        if empty.any():
            msg = f"{empty.sum()} rows of {source} have empty text in column '{cols['text']}' (rows {_rows(empty)})"
            if strict:
                raise HeadstartError(msg + " (--strict)")
            warn(msg + "; skipped")
            keep &= ~empty
        inputs: Any = raw.astype(str).to_numpy()
    elif modality == "image":
        base = Path(base_dir) if base_dir is not None else Path(".")
        raw = df[cols["image"]]
        empty = raw.isna().to_numpy()
        if empty.any():
            raise HeadstartError(
                f"{empty.sum()} rows of {source} have no image path in column '{cols['image']}' (rows {_rows(empty)})"
            )
        paths = [str(p) if Path(p).is_absolute() else str(base / p) for p in raw.astype(str)]
        for i, p in enumerate(paths):
            if not Path(p).is_file():
                raise HeadstartError(f"row {i + 1} of {source}: image file not found: {p}")
        inputs = np.asarray(paths, dtype=object)
    else:
        block = df[cols["features"]]
        bad = [c for c in cols["features"] if not pd.api.types.is_numeric_dtype(block[c])]
        if bad:
            raise HeadstartError(f"feature column '{bad[0]}' in {source} is not numeric")
        values = block.to_numpy(dtype=np.float32)
        nan = ~np.isfinite(values)
        if nan.any():
            r, c = np.argwhere(nan)[0]
            raise HeadstartError(
                f"{nan.any(axis=1).sum()} rows of {source} have NaN or infinite features "
                f"(first: row {r + 1}, column '{cols['features'][c]}')"
            )
        inputs = values

    idx = np.flatnonzero(keep)
    tag = {r: df[cols[r]].astype(str).to_numpy()[idx] if r in cols else None for r in ("group", "domain", "split")}
    if tag["split"] is not None:
        tag["split"] = np.asarray([SPLIT_NAMES.get(s.lower(), s) for s in tag["split"]])
    if not len(idx):
        raise HeadstartError(f"{source} has no usable rows")
    return Dataset(
        inputs=inputs[idx] if modality == "tabular" else list(inputs[idx]),
        labels=None if labels is None else labels[idx],
        modality=modality,
        group=tag["group"],
        domain=tag["domain"],
        split=tag["split"],
        ids=idx + 1,
        source=source,
        columns=cols,
    )


def load_table(path: str | os.PathLike, **kwargs: Any) -> Dataset:
    """Read a table file and build a Dataset (see :func:`from_dataframe`)."""
    df = read_table(path)
    return from_dataframe(df, source=str(path), base_dir=Path(path).parent, **kwargs)


# ---------------------------------------------------------------- in memory
def from_arrays(
    X: Any,
    y: Any = None,
    *,
    modality: str | None = None,
    group: Any = None,
    domain: Any = None,
) -> Dataset:
    """Wrap in-memory inputs: a list of texts, image paths / PIL images / arrays,
    or a numeric ``(N, D)`` matrix. ``modality`` is guessed when not given:
    strings are texts unless they are paths to image files; a 2-D numeric array is
    tabular; a 3-D or 4-D array is a stack of images."""
    if isinstance(X, Dataset):
        return X
    if isinstance(X, (pd.Series, pd.Index)):
        X = X.tolist()
    if isinstance(X, pd.DataFrame):
        X = X.to_numpy()
    if modality is None:
        if isinstance(X, np.ndarray) and X.dtype != object:
            modality = "tabular" if X.ndim == 2 else "image"
        else:
            items = list(X)
            if items and all(isinstance(x, (str, os.PathLike)) for x in items):
                first = [str(x) for x in items[:20]]
                modality = "image" if all(_is_image(s) and os.path.isfile(s) for s in first) else "text"
            elif items and all(isinstance(x, (list, tuple)) or np.ndim(x) == 1 for x in items[:20]):
                modality = "tabular"  # rows of numbers
            else:
                modality = "image"
    if modality == "tabular":
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise HeadstartError(f"tabular inputs must be 2-D (rows, features), got shape {X.shape}")
        if not np.isfinite(X).all():
            r = int(np.argwhere(~np.isfinite(X))[0][0])
            raise HeadstartError(f"inputs have NaN or infinite values (first at row {r + 1})")
    elif modality == "text":
        X = [str(x) for x in X]
    else:
        X = list(X)
    as_array = None if y is None else np.asarray(y)
    return Dataset(
        inputs=X,
        labels=as_array,
        modality=modality,  # type: ignore[arg-type]
        group=None if group is None else np.asarray(group).astype(str),
        domain=None if domain is None else np.asarray(domain).astype(str),
    )


def load(path: str | os.PathLike, **kwargs: Any) -> Dataset:
    """Load a folder of images, a table file, MNIST-style IDX files (a folder) or a
    digits ``.mat`` file (see :mod:`headstart.data.digits`), whichever ``path`` is.

    Table options (``label_col``, ``text_col`` ...) set to ``None`` are ignored;
    set on an image folder they are an error.
    """
    p = Path(path)
    if not p.exists():
        raise HeadstartError(f"no such file or folder: {p}")
    is_mat = p.is_file() and p.suffix.lower() == ".mat"
    if p.is_dir() or is_mat:
        columns = sorted(k for k, v in kwargs.items() if k.endswith(("_col", "_cols")) and v is not None)
        if columns:
            names = ", ".join("--" + c.replace("_", "-") for c in columns)
            what = "a .mat file" if is_mat else "an image folder"
            raise HeadstartError(f"{p} is {what}; {names} apply to tables only")
        if is_mat:
            return load_digits_mat(p)
        return load_idx_folder(p) if idx_files(p) else load_image_folder(p)
    return load_table(p, **{k: v for k, v in kwargs.items() if v is not None})
