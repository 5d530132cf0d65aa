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
from headstart.data.sequences import (
    from_long_table,
    from_waveforms,
    is_audio_path,
    load_ts,
    load_wav_folder,
    looks_long,
    wav_folders,
)
from headstart.errors import HeadstartError, did_you_mean, warn

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")
TABLE_EXTENSIONS = (".csv", ".tsv", ".tab", ".parquet", ".pq", ".jsonl", ".ndjson", ".json")
SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
LABEL_GUESSES = ("label", "labels", "target", "class", "category", "y")
SPLIT_GUESSES = ("split",)
# The command-line option that names a column of each role (in messages).
FLAGS = {"feature": "--feature-cols", "split": "a 'split' column"}


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    rows = (np.flatnonzero(mask) + 1).tolist()
    shown = ", ".join(str(r) for r in rows[:limit])
    return shown + (", ..." if len(rows) > limit else "")


# ---------------------------------------------------------------- image folders
def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _image_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as an image (its header only: cheap), or None. Decoding
    errors past the header (a truncated file) surface at extraction, one line naming the file."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.size  # noqa: B018 - forces the header parse
    except Exception as e:  # any failure of PIL's parsers on a file is an unreadable image
        return e.__class__.__name__
    return None


def _check_image(path: Path) -> None:
    problem = _image_problem(path)
    if problem is not None:
        raise HeadstartError(f"cannot read image {path}: {problem} (damaged or not an image; remove or re-save it)")


class _Unreadable:
    """The unreadable images of a folder: refused with ``strict``, else skipped with one warning."""

    def __init__(self, root: Path, strict: bool) -> None:
        self.root, self.strict, self.bad = root, strict, []

    def ok(self, path: Path) -> bool:
        problem = _image_problem(path)
        if problem is None:
            return True
        if self.strict:
            raise HeadstartError(
                f"cannot read image {path}: {problem} (--strict refuses it; remove or re-save it, or drop --strict "
                f"to skip it)"
            )
        self.bad.append((path, problem))
        return False

    def warn(self) -> None:
        if self.bad:
            path, problem = self.bad[0]
            more = f" and {len(self.bad) - 1} more" if len(self.bad) > 1 else ""
            warn(
                f"{len(self.bad)} unreadable image(s) in {self.root} skipped: {path} ({problem}){more}; "
                f"--strict refuses them"
            )


def load_image_folder(path: str | os.PathLike, check: bool = True, strict: bool = False) -> Dataset:
    """Images in one sub-folder per class, or ``train/`` + ``val/`` (+ ``test/``) each so.

    With the split layout, rows carry ``split`` = ``"train"``/``"val"``/``"test"``.
    A folder holding only image files (no sub-folders) loads unlabelled. With
    ``check``, each file's header is read: an unreadable image is skipped with a
    warning, or refused with ``strict``.
    """
    root = Path(path)
    if not root.is_dir():
        raise HeadstartError(f"no such folder: {root}")
    subdirs = _class_folders(root)
    loose = sorted(f for f in root.iterdir() if f.is_file() and _is_image(f.name))
    unreadable = _Unreadable(root, strict)
    if loose and not subdirs:
        # A flat folder of images: unlabelled (what `predict` gets).
        if check:
            loose = [f for f in loose if unreadable.ok(f)]
            unreadable.warn()
            if not loose:
                raise HeadstartError(f"no readable images in {root}: every image file failed to open")
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
    inputs, labels, splits, empty = [], [], [], []
    for split, base in layouts:
        for cls_dir in _class_folders(base):
            files = sorted(f for f in cls_dir.rglob("*") if f.is_file() and _is_image(f.name))
            if not files:
                empty.append(cls_dir)
                continue
            for f in files:
                if check and not unreadable.ok(f):
                    continue
                inputs.append(str(f))
                labels.append(cls_dir.name)
                splits.append(split)
    if inputs:
        for cls_dir in empty:
            warn(f"class folder {cls_dir} has no images; skipped")
    unreadable.warn()
    if not inputs:
        found = f" ({len(unreadable.bad)} image files, none readable)" if unreadable.bad else ""
        raise HeadstartError(
            f"no images found in {root}{found}: expected one sub-folder per class "
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
    if suffix not in TABLE_EXTENSIONS:
        raise HeadstartError(
            f"unsupported file type '{suffix}' for {p} (use a folder of images or one of {', '.join(TABLE_EXTENSIONS)})"
        )
    if p.is_file() and p.stat().st_size == 0:
        raise HeadstartError(f"{p} is empty: expected a header line naming the columns, then one row per example")
    # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first column's name.
    na = {"keep_default_na": False, "na_values": [""], "encoding": "utf-8-sig"}
    try:
        if suffix in (".tsv", ".tab"):
            # GLUE-style TSV: quotes are literal characters, not field delimiters.
            df = pd.read_csv(p, sep="\t", quoting=csv.QUOTE_NONE, **na)
        elif suffix == ".csv":
            df = pd.read_csv(p, **na)
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        elif suffix in (".jsonl", ".ndjson"):
            df = pd.read_json(p, lines=True, encoding="utf-8-sig")
        else:
            df = pd.read_json(p, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise HeadstartError(_not_utf8(p)) from None
    except pd.errors.EmptyDataError:
        raise HeadstartError(
            f"{p} has no columns: expected a header line naming them, then one row per example"
        ) from None
    except RecursionError:
        raise HeadstartError(f"cannot read table {p}: it nests too deeply") from None
    except Exception as e:  # any failure of the parsers (pandas, pyarrow) on the file: it is not a readable table
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else e.__class__.__name__
        raise HeadstartError(
            f"cannot read table {p}: {first}; is it really a {suffix[1:]} file? (CSV, TSV, Parquet and JSONL are read)"
        ) from None
    if not isinstance(df, pd.DataFrame):  # read_json of a bare JSON value
        raise HeadstartError(f"cannot read table {p}: it holds no rows of columns")
    return df


def _not_utf8(p: Path) -> str:
    """Where the first byte that is not UTF-8 is (line, column), and the fix."""
    raw = p.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        return (
            f"{p} is not UTF-8 text: byte 0x{raw[e.start]:02x} at line {line}, column {column}; "
            f"save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        )
    return f"{p} is not UTF-8 text; save it as UTF-8"


def _column(df: pd.DataFrame, name: str, source: str, role: str) -> str:
    if name in df.columns:
        return name
    cols = [str(c) for c in df.columns]
    raise HeadstartError(
        f"{role} column '{name}' not in {source}{did_you_mean(name, cols)} (columns: {', '.join(cols)}); "
        f"name it with {FLAGS.get(role, '--' + role + '-col')}"
    )


def _guess(df: pd.DataFrame, guesses: Sequence[str]) -> str | None:
    lowered = {str(c).lower(): c for c in df.columns}
    for g in guesses:
        if g in lowered:
            return lowered[g]
    return None


def _looks_like_audio_paths(values: pd.Series) -> bool:
    sample = values.dropna().astype(str).head(50)
    return len(sample) > 0 and all(is_audio_path(v) for v in sample)


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
        raise HeadstartError(f"{source} has no rows (a header only?): add one row per example")
    df = df.reset_index(drop=True)
    cols: dict[str, Any] = {}
    label_cols: list[str] = []  # several label columns: a multi-label target, each 0/1
    if isinstance(label_col, (list, tuple)) or (label_col is not None and "," in label_col and label_col not in df):
        label_cols = [_column(df, c.strip(), source, "label") for c in _split_names(label_col)]
        cols["label"] = ",".join(label_cols)
    elif label_col is not None:
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
    reserved = set(cols.values()) | set(label_cols)

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
        sounds = [c for c in strings if _looks_like_audio_paths(df[c])]
        numeric = [c for c in rest if pd.api.types.is_numeric_dtype(df[c])]
        if sounds:
            modality, cols["audio"] = "audio", sounds[0]
        elif images:
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
    if label_cols:
        labels, missing = _label_block(df[label_cols], source)
    elif "label" in cols:
        labels, missing = _labels(df[cols["label"]], source, cols["label"])
        if missing.any() and require_labels:
            raise HeadstartError(
                f"{missing.sum()} rows of {source} have no value in label column "
                f"'{cols['label']}' (rows {_rows(missing)}) (empty, blank or NaN); fill or drop them"
            )

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
    elif modality in ("image", "audio"):
        base = Path(base_dir) if base_dir is not None else Path(".")
        raw = df[cols[modality]]
        empty = raw.isna().to_numpy()
        if empty.any():
            raise HeadstartError(
                f"{empty.sum()} rows of {source} have no {modality} path in column '{cols[modality]}' "
                f"(rows {_rows(empty)})"
            )
        paths = [str(p) if Path(p).is_absolute() else str(base / p) for p in raw.astype(str)]
        for i, p in enumerate(paths):
            if "\x00" in p or not Path(p).is_file():
                raise HeadstartError(
                    f"row {i + 1} of {source}: {modality} file not found: {p!r} "
                    "(paths are relative to the table's folder)"
                )
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
                f"(first: row {r + 1}, column '{cols['features'][c]}'); fill or drop them"
            )
        inputs = values

    idx = np.flatnonzero(keep)
    # Tags as text, a missing cell as "" (pandas' str dtype keeps NaN through astype(str)).
    tag = {r: _as_text(df[cols[r]])[idx] if r in cols else None for r in ("group", "domain", "split")}
    if tag["split"] is not None:
        tag["split"] = np.asarray([SPLIT_NAMES.get(s.lower(), s) for s in tag["split"]])
    if not len(idx):
        raise HeadstartError(f"{source} has no usable rows")
    if modality == "audio":  # the files are read (and checked) now: a waveform per row
        return from_waveforms(
            list(inputs[idx]),
            None if labels is None else labels[idx],
            source,
            ids=idx + 1,
            columns=cols,
            **{r: v for r, v in tag.items() if v is not None},
        )
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
        task="multilabel" if label_cols and labels is not None else "classification",
        label_names=label_cols or None,
    )


def _split_names(names: str | Sequence[str]) -> list[str]:
    return [n for n in (names.split(",") if isinstance(names, str) else names) if str(n).strip()]


def _label_block(block: pd.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Several label columns as a 0/1 matrix ``(N, L)`` (a multi-label target) and the rows with a blank cell."""
    missing = block.isna().any(axis=1).to_numpy()
    values = block.to_numpy(dtype=object)
    ok = np.vectorize(lambda v: v in (0, 1, True, False) and not isinstance(v, str), otypes=[bool])(values)
    bad = ~ok & ~block.isna().to_numpy()
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise HeadstartError(
            f"row {r + 1} of {source}: label column '{block.columns[c]}' holds {values[r, c]!r}; several label "
            f"columns are a multi-label target, each 0 or 1 (name one --label-col for another task)"
        )
    return np.where(ok, values, 0).astype(np.int64), missing


def _as_text(values: pd.Series) -> np.ndarray:
    """A column as strings, a missing cell as ``""``."""
    return np.asarray(["" if np.ndim(v) == 0 and pd.isna(v) else str(v) for v in values], dtype=object)


# Label text that means "no value" (what numpy and pandas print for NaN), besides empty and blank cells.
MISSING_LABELS = ("nan",)


def _labels(lab: pd.Series, source: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """The label column's values and which rows have none: empty, blank, or a missing-value marker
    ('NaN'), or NaN / infinite numbers. Mixed types (1 and "a") become strings;
    values that are not labels (lists, objects) are one clear line."""
    values = lab.to_numpy()
    missing = lab.isna().to_numpy().copy()
    if values.dtype == object:
        lists = np.array([isinstance(v, (list, tuple, np.ndarray)) for v in values])
        if lists.any() and (lists | missing).all():  # a column of tag lists: a multi-label target
            out = np.empty(len(values), dtype=object)
            out[:] = [tuple(str(t) for t in v) if is_list else () for v, is_list in zip(values, lists, strict=True)]
            return out, np.zeros(len(values), dtype=bool)
        odd = np.array([not isinstance(v, (str, int, float, bool, np.generic)) for v in values]) & ~missing
        if odd.any():
            raise HeadstartError(
                f"label column '{column}' of {source} holds {type(values[odd.argmax()]).__name__} values "
                f"(rows {_rows(odd)}): a label is a name or a number"
            )
        text = np.array([isinstance(v, str) for v in values])
        blank = np.array([isinstance(v, str) and v.strip().lower() in ("", *MISSING_LABELS) for v in values])
        missing |= blank
        kinds = {
            type(v.item() if isinstance(v, np.generic) else v) for v, m in zip(values, missing, strict=True) if not m
        }
        if text.any() and len(kinds) > 1:  # 1 and "a" cannot be sorted together: all become text
            values = np.array([str(v) for v in values], dtype=object)
        elif kinds and all(k in (int, float) for k in kinds):
            floats = np.array([float(v) if not m else np.nan for v, m in zip(values, missing, strict=True)])
            missing |= ~np.isfinite(floats)
            values = floats
    if values.dtype.kind == "f":
        missing |= ~np.isfinite(values)
        if not missing.any() and np.all(values == np.round(values)):
            values = values.astype(int)
    return values, missing


def load_table(path: str | os.PathLike, **kwargs: Any) -> Dataset:
    """Read a table file and build a Dataset (see :func:`from_dataframe`). A table in long
    format (an ``id`` column whose values repeat and a ``time`` column: one row per time
    step) is a time series per id (:func:`headstart.data.sequences.from_long_table`)."""
    df = read_table(path)
    long = None if any(kwargs.get(k) is not None for k in ("text_col", "image_col")) else looks_long(df)
    if long is not None:
        label = kwargs.get("label_col") or _guess(df, LABEL_GUESSES)
        if label is not None:
            label = _column(df, label, str(path), "label")
        roles = {"group": kwargs.get("group_col"), "domain": kwargs.get("domain_col")}
        roles["split"] = kwargs.get("split_col") or _guess(df, SPLIT_GUESSES)
        tags = {r: _column(df, c, str(path), r) for r, c in roles.items() if c is not None}
        channels = kwargs.get("feature_cols")
        channels = [_column(df, c, str(path), "feature") for c in channels] if channels else None
        return from_long_table(df, *long, label_col=label, channels=channels, source=str(path), tags=tags)
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
    if modality in ("timeseries", "audio"):
        from headstart.data.sequences import from_series

        d = from_series(list(X), y, source="<arrays>", group=None if group is None else np.asarray(group).astype(str))
        if modality == "audio":
            if any(x.shape[1] != 1 for x in d.inputs):
                raise HeadstartError("audio inputs are mono waveforms, one 1-D array per row")
            d = Dataset(inputs=[x[:, 0] for x in d.inputs], labels=d.labels, modality="audio", group=d.group)
        if domain is not None:
            d.domain = np.asarray(domain).astype(str)
        return d
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
    as_array = None if y is None else label_array(y)
    return Dataset(
        inputs=X,
        labels=as_array,
        modality=modality,  # type: ignore[arg-type]
        group=None if group is None else np.asarray(group).astype(str),
        domain=None if domain is None else np.asarray(domain).astype(str),
    )


def label_array(y: Any) -> np.ndarray:
    """In-memory labels as an array: a list of tag lists stays one tuple per row (a 0/1 matrix or a
    pandas frame is the label matrix; anything else ``np.asarray``)."""
    if isinstance(y, pd.DataFrame):
        return y.to_numpy()
    if not isinstance(y, np.ndarray) and any(isinstance(v, (list, tuple, set, frozenset)) for v in y):
        if not all(isinstance(v, (list, tuple, set, frozenset)) and all(np.ndim(t) == 0 for t in v) for v in y):
            raise HeadstartError("labels mix tag lists and single values: give every row a list of tags")
        out = np.empty(len(y), dtype=object)
        out[:] = [tuple(str(t) for t in v) for v in y]
        if all(set(v) <= {"0", "1"} for v in out) and len({len(v) for v in out}) == 1 and len(out[0]) > 1:
            return np.asarray([[int(t) for t in v] for v in out], dtype=np.int64)  # rows of 0/1: the matrix
        return out
    return np.asarray(y)


def load(path: str | os.PathLike, **kwargs: Any) -> Dataset:
    """Load a folder of images, a table file, MNIST-style IDX files (a folder) or a
    digits ``.mat`` file (see :mod:`headstart.data.digits`), whichever ``path`` is.

    Table options (``label_col``, ``text_col`` ...) set to ``None`` are ignored;
    set on an image folder they are an error.
    """
    p = Path(path)
    if not p.exists():
        raise HeadstartError(f"no such file or folder: {p}; check the path")
    if (p.is_file() and p.suffix.lower() == ".ts") or (p.is_dir() and any(p.glob("*_TRAIN.ts"))):
        return load_ts(p)
    if p.is_dir() and not idx_files(p) and wav_folders(p):
        return load_wav_folder(p)
    is_mat = p.is_file() and p.suffix.lower() == ".mat"
    if p.is_dir() or is_mat:
        columns = sorted(k for k, v in kwargs.items() if k.endswith(("_col", "_cols")) and v is not None)
        if columns:
            names = ", ".join("--" + c.replace("_", "-") for c in columns)
            what = "a .mat file" if is_mat else "an image folder"
            raise HeadstartError(f"{p} is {what}; {names} apply to tables only")
        if is_mat:
            return load_digits_mat(p)
        return load_idx_folder(p) if idx_files(p) else load_image_folder(p, strict=bool(kwargs.get("strict")))
    return load_table(p, **{k: v for k, v in kwargs.items() if v is not None})
