"""Sequences in: time series (one or more channels, any length) and audio (mono waveforms).

A ``timeseries`` :class:`~headstart.data.Dataset` holds one float32 array ``(T_i, C)``
per row (lengths differ, the channels ``C`` do not); an ``audio`` one holds mono
waveforms ``(T_i,)`` in [-1, 1] at ``Dataset.sample_rate``. Nothing is truncated or
padded here: backbones pad each batch to its own longest row and carry a mask
(:func:`pad`), and batches are bucketed by length (``Backbone.prepare`` returns the
lengths; ``headstart.train.data.EpochBatches`` sorts inside windows).

Sources:

- UCR/UEA ``.ts`` files (``NAME_TRAIN.ts``, ``NAME_TEST.ts``, or a folder holding both:
  rows carry ``split``), read with aeon's reader (``aeon.datasets.load_from_ts_file``);
  :func:`bundled_ucr` finds the sets that ship inside the aeon wheel;
- a long table (CSV/Parquet: one row per time step, columns ``id``, ``time``, the
  channels and the label), :func:`from_long_table`;
- WAV files: a folder of ``{label}/*.wav`` (:func:`load_wav_folder`), or a table with a
  column of ``.wav`` paths (``headstart.data.loaders.from_dataframe``), read with
  ``scipy.io.wavfile``. Files at another rate than the folder's most common one are
  resampled to it (polyphase, ``scipy.signal.resample_poly``) and that is said.

:func:`at_rate` gives a backbone its inputs at its own sampling rate (and says so
when it resampled).
"""

from __future__ import annotations

import os
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from headstart.data.dataset import SEQUENCES, Dataset
from headstart.errors import HeadstartError, warn

AUDIO_EXTENSIONS = (".wav", ".wave")
ID_GUESSES = ("id", "series", "series_id", "sequence", "sequence_id", "case_id")
TIME_GUESSES = ("time", "t", "timestamp", "step", "time_index")


def is_audio_path(name: str) -> bool:
    return str(name).lower().endswith(AUDIO_EXTENSIONS)


# ---------------------------------------------------------------- checks
def as_series(x: Any, where: str, channels: int | None = None) -> np.ndarray:
    """One series as float32 ``(T, C)`` (a 1-D array is one channel); refuses an empty or
    non-finite series, and one whose channels differ from ``channels``."""
    try:
        arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError):
        raise HeadstartError(f"{where} is not a series of numbers; give a (time, channels) array per row") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise HeadstartError(f"{where} has shape {arr.shape}: a series is (time,) or (time, channels)")
    if arr.shape[0] == 0:
        raise HeadstartError(f"{where} is a zero-length series: every row needs at least one time step; drop it")
    if channels is not None and arr.shape[1] != channels:
        raise HeadstartError(
            f"{where} has {arr.shape[1]} channels but the first row has {channels}: "
            "every row needs the same channels (missing ones filled, extra ones dropped)"
        )
    if not np.isfinite(arr).all():
        t = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise HeadstartError(f"{where} has NaN or infinite values (first at time step {t + 1}); fill or drop them")
    return arr


def from_series(
    series: Any,
    labels: Any = None,
    *,
    sample_rate: float | None = None,
    source: str = "<series>",
    **tags: Any,
) -> Dataset:
    """A ``timeseries`` Dataset from arrays ``(T_i, C)`` (or ``(T_i,)``), one per row.

    >>> d = from_series([np.zeros(5), np.ones(3)], ["a", "b"])
    >>> d.modality, [x.shape for x in d.inputs]
    ('timeseries', [(5, 1), (3, 1)])
    """
    rows: list[np.ndarray] = []
    for i, x in enumerate(series):
        rows.append(as_series(x, f"row {i + 1} of {source}", rows[0].shape[1] if rows else None))
    if not rows:
        raise HeadstartError(f"{source} has no series")
    return Dataset(
        inputs=rows,
        labels=None if labels is None else np.asarray(labels),
        modality="timeseries",
        sample_rate=sample_rate,
        source=source,
        **tags,
    )


# ---------------------------------------------------------------- .ts files
def bundled_ucr(name: str, split: str | None = None) -> Path:
    """The folder of a UCR/UEA set inside the aeon wheel (or its ``NAME_{SPLIT}.ts``)."""
    import importlib.util

    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        raise HeadstartError("the UCR/UEA sets ship inside aeon: pip install aeon")
    folder = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name
    if not folder.is_dir():
        have = sorted(p.name for p in folder.parent.iterdir() if (p / f"{p.name}_TRAIN.ts").is_file())
        raise HeadstartError(f"no bundled UCR/UEA set '{name}' in aeon (available: {', '.join(have)})")
    return folder / f"{name}_{split.upper()}.ts" if split else folder


def load_ts(path: str | os.PathLike) -> Dataset:
    """A UCR/UEA ``.ts`` file, or a folder with ``NAME_TRAIN.ts`` and ``NAME_TEST.ts``
    (rows tagged ``split`` train / test; a folder holding several sets: the one named like
    the folder), read with aeon's ``load_from_ts_file``."""
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*_TRAIN.ts")) + sorted(p.glob("*_TEST.ts"))
        if not files:
            raise HeadstartError(f"{p} holds no NAME_TRAIN.ts / NAME_TEST.ts files")
        names = sorted({f.stem.rsplit("_", 1)[0] for f in files})
        if len(names) > 1:  # aeon's JapaneseVowels folder also holds JapaneseVowels_eq (padded to one length)
            if p.name not in names:
                raise HeadstartError(f"{p} holds several sets ({', '.join(names)}): give one NAME_TRAIN.ts file")
            files = [f for f in files if f.stem.rsplit("_", 1)[0] == p.name]
        parts = [_read_ts(f) for f in files]
        inputs = [x for part in parts for x in part.inputs]
        channels = {x.shape[1] for x in inputs}
        if len(channels) > 1:
            raise HeadstartError(f"the .ts files in {p} have different channels ({sorted(channels)}); use one set")
        split = np.concatenate(
            [np.full(len(d), f.stem.rsplit("_", 1)[1].lower()) for d, f in zip(parts, files, strict=True)]
        )
        labels = np.concatenate([d.labels for d in parts]) if all(d.labels is not None for d in parts) else None
        return Dataset(inputs=inputs, labels=labels, modality="timeseries", split=split, source=str(p))
    return _read_ts(p)


def _read_ts(p: Path) -> Dataset:
    from aeon.datasets import load_from_ts_file

    if p.is_file() and p.stat().st_size == 0:
        raise HeadstartError(f"{p} is empty: a .ts file starts with @problemName ... @data")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise HeadstartError(f"{p} is not UTF-8 text: is it really a .ts file?") from None
    tags = {line.split()[0].lower() for line in text.splitlines() if line.startswith("@") and line.split()}
    missing = [name for t, name in (("@problemname", "@problemName"), ("@data", "@data")) if t not in tags]
    if missing:
        raise HeadstartError(
            f"{p} is not a UCR/UEA .ts file: its header has no {' or '.join(missing)} line; "
            "it needs @problemName, @univariate, @equalLength, @classLabel, then @data and one series a line"
        )
    try:
        X, y = load_from_ts_file(str(p))
    except Exception as e:  # aeon raises IOError / ValueError / IndexError on a malformed header or row
        raise HeadstartError(_ts_problem(p, text, e)) from None
    # aeon: (n, channels, time) for equal lengths, else a list of (channels, time_i).
    series = [np.asarray(x).T for x in X]
    labels = None if y is None or len(y) == 0 else np.asarray(y)
    if labels is not None and labels.dtype.kind in "OUS" and all(str(v).lstrip("-").isdigit() for v in labels):
        labels = labels.astype(int)
    return from_series(series, labels, source=str(p))


def _ts_problem(p: Path, text: str, error: Exception) -> str:
    """What is wrong with a .ts file aeon's reader refused: a zero-length series, channels that
    differ between rows, else the header (aeon's own words)."""
    import re

    message = str(error).strip().splitlines()[0][:160] if str(error).strip() else error.__class__.__name__
    case = re.search(r"[Ii]nconsistent number of dimensions in case (\d+)", message)
    if case:
        return (
            f"series {case.group(1)} of {p} has a different number of channels from the first: "
            "every series needs the same channels (missing ones filled, extra ones dropped)"
        )
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lower().startswith("@data")) + 1
    rows = [line for line in lines[start:] if line.strip()]
    for i, row in enumerate(rows):
        dims = row.split(":")[:-1] if ":" in row else [row]
        if any(not d.strip() for d in dims):
            return f"series {i + 1} of {p} is a zero-length series (a dimension with no values); drop it"
    return (
        f"cannot read {p} as a UCR/UEA .ts file: {message}; "
        "check its header (@problemName, @univariate, @equalLength, @classLabel with the class names, then @data)"
    )


# ---------------------------------------------------------------- long tables
def looks_long(df: pd.DataFrame) -> tuple[str, str] | None:
    """``(id column, time column)`` when a table is in long format (one row per time step:
    an id column whose values repeat and a time column), else None."""
    lowered = {str(c).lower(): c for c in df.columns}
    ids = next((lowered[g] for g in ID_GUESSES if g in lowered), None)
    time = next((lowered[g] for g in TIME_GUESSES if g in lowered), None)
    if ids is None or time is None or not df[ids].duplicated().any():
        return None
    return ids, time


def from_long_table(
    df: pd.DataFrame,
    id_col: str,
    time_col: str,
    label_col: str | None = None,
    channels: list[str] | None = None,
    source: str = "<table>",
    tags: dict[str, str] | None = None,
) -> Dataset:
    """One series per ``id_col`` value, its steps ordered by ``time_col``; ``channels`` (default: every
    other numeric column) are its channels. The label (and ``tags``: role -> column, e.g. a split)
    must be constant within a series. A numeric or datetime time column also gives each
    series' start time (``Dataset.time``), which ``--split time`` orders by."""
    reserved = {id_col, time_col, label_col, *(tags or {}).values()} - {None}
    if channels is None:
        channels = [c for c in df.columns if c not in reserved and pd.api.types.is_numeric_dtype(df[c])]
    if not channels:
        raise HeadstartError(f"{source} has no numeric channel columns beside '{id_col}' and '{time_col}'")
    bad = [c for c in channels if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise HeadstartError(f"channel column '{bad[0]}' in {source} is not numeric")
    if df[id_col].isna().any():
        raise HeadstartError(f"{int(df[id_col].isna().sum())} rows of {source} have no '{id_col}'; fill or drop them")
    order = df.sort_values([id_col, time_col], kind="stable")
    series, labels, starts, roles = [], [], [], {r: [] for r in (tags or {})}
    names = []
    for key, part in order.groupby(id_col, sort=False):
        names.append(str(key))
        series.append(as_series(part[channels].to_numpy(), f"series '{key}' of {source}"))
        starts.append(part[time_col].iloc[0])
        for role, col in [("label", label_col), *(tags or {}).items()]:
            if col is None:
                continue
            values = part[col].dropna().unique()
            if len(values) != 1:
                raise HeadstartError(
                    f"series '{key}' of {source} has {len(values)} values in column '{col}' "
                    f"({', '.join(map(str, values[:3]))}): one value per series is needed"
                )
            (labels if role == "label" else roles[role]).append(values[0])
    start_times = None
    if pd.api.types.is_numeric_dtype(df[time_col]) or pd.api.types.is_datetime64_any_dtype(df[time_col]):
        start_times = pd.Series(starts).astype("int64" if pd.api.types.is_datetime64_any_dtype(df[time_col]) else float)
        start_times = start_times.tolist()
    cols: dict[str, Any] = {"id": id_col, "time": time_col, "channels": list(channels)}
    if label_col is not None:
        cols["label"] = label_col
    return Dataset(
        inputs=series,
        labels=np.asarray(labels) if label_col is not None else None,
        modality="timeseries",
        ids=np.asarray(names),
        source=source,
        columns=cols,
        time=None if start_times is None else np.asarray(start_times),
        **{r: np.asarray(v).astype(str) for r, v in roles.items()},
    )


# ---------------------------------------------------------------- WAV
def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """A mono WAV file as float32 samples in [-1, 1] and its rate; refuses a file that is
    not audio, an empty one and a stereo one (saying how to make it mono)."""
    from scipy.io import wavfile

    p = Path(path)
    if not p.is_file():
        raise HeadstartError(f"audio file not found: {p}")
    try:
        rate, samples = wavfile.read(p)
    except Exception as e:  # scipy raises ValueError on a file that is not RIFF/WAVE, EOFError when cut short
        what = str(e).strip().splitlines()[0][:120] if str(e).strip() else e.__class__.__name__
        raise HeadstartError(f"{p} is not a readable WAV file ({what}); convert it to PCM WAV") from None
    if samples.ndim == 2 and samples.shape[1] > 1:
        raise HeadstartError(
            f"{p} has {samples.shape[1]} channels: headstart reads mono audio; mix it down first "
            f"(e.g. ffmpeg -i '{p.name}' -ac 1 mono.wav, or sox '{p.name}' mono.wav remix -)"
        )
    samples = samples.reshape(-1)
    if samples.size == 0:
        raise HeadstartError(f"{p} holds no samples (zero-length audio); drop it")
    if samples.dtype.kind == "i":
        x = samples.astype(np.float32) / float(np.iinfo(samples.dtype).max + 1)
    elif samples.dtype.kind == "u":  # 8-bit WAV is unsigned, centred on 128
        x = (samples.astype(np.float32) - 128.0) / 128.0
    else:
        x = samples.astype(np.float32)
    if not np.isfinite(x).all():
        raise HeadstartError(f"{p} holds NaN or infinite samples; re-encode it")
    return x, int(rate)


def resample(x: np.ndarray, rate: float, to: float) -> np.ndarray:
    """``x`` (time on axis 0) from ``rate`` to ``to`` samples per second (polyphase filter)."""
    if float(rate) == float(to):
        return x
    from scipy.signal import resample_poly

    f = Fraction(float(to) / float(rate)).limit_denominator(1000)
    out = resample_poly(x, f.numerator, f.denominator, axis=0).astype(np.float32)
    return out if len(out) else x[:1]


def from_waveforms(paths: list[str], labels: Any, source: str, ids: Any = None, **tags: Any) -> Dataset:
    """An ``audio`` Dataset from WAV files; all at the most common rate (others resampled, said)."""
    read = [read_wav(p) for p in paths]
    rates = Counter(r for _, r in read)
    rate = rates.most_common(1)[0][0]
    if len(rates) > 1:
        others = ", ".join(f"{n} at {r} Hz" for r, n in sorted(rates.items()) if r != rate)
        warn(f"{source}: {others} resampled to {rate} Hz, the rate of the other {rates[rate]} files")
    waves = [resample(x, r, rate) for x, r in read]
    return Dataset(
        inputs=waves,
        labels=None if labels is None else np.asarray(labels),
        modality="audio",
        sample_rate=float(rate),
        ids=np.asarray(ids if ids is not None else [Path(p).name for p in paths]),
        source=source,
        **tags,
    )


def wav_folders(root: Path) -> bool:
    """Whether ``root`` is ``{label}/*.wav`` (or holds ``.wav`` files directly)."""
    if any(is_audio_path(f.name) for f in root.iterdir() if f.is_file()):
        return True
    return any(is_audio_path(f.name) for d in root.iterdir() if d.is_dir() for f in d.iterdir())


def load_wav_folder(path: str | os.PathLike) -> Dataset:
    """WAV files in one sub-folder per class (``{label}/*.wav``); a flat folder loads unlabelled."""
    root = Path(path)
    if not root.is_dir():
        raise HeadstartError(f"no such folder: {root}")
    loose = sorted(f for f in root.iterdir() if f.is_file() and is_audio_path(f.name))
    dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if loose and not dirs:
        return from_waveforms([str(f) for f in loose], None, str(root), columns={"layout": "flat"})
    paths, labels = [], []
    for d in dirs:
        files = sorted(f for f in d.iterdir() if f.is_file() and is_audio_path(f.name))
        paths += [str(f) for f in files]
        labels += [d.name] * len(files)
    if not paths:
        raise HeadstartError(f"no .wav files in the class folders of {root}")
    return from_waveforms(paths, labels, str(root), ids=[str(Path(p).relative_to(root)) for p in paths])


# ---------------------------------------------------------------- for a backbone
_SAID: set[tuple[str, float, float]] = set()


def at_rate(data: Dataset, rate: float | None, quiet: bool = False) -> list[np.ndarray]:
    """``data``'s inputs at ``rate`` samples per second (the backbone's): audio (and series with a
    known rate) are resampled when their rate differs, and that is said on stderr."""
    if data.modality not in SEQUENCES:
        return list(data.inputs)
    if rate is None or data.sample_rate is None or float(data.sample_rate) == float(rate):
        if data.modality == "audio" and data.sample_rate is None and not quiet:
            warn(f"{data.source}: audio without a sample rate is taken to be at {rate} Hz")
        return list(data.inputs)
    said = (data.source, float(data.sample_rate), float(rate))
    if not quiet and said not in _SAID:  # once per source and rates, not at every extraction
        _SAID.add(said)
        warn(
            f"{data.source}: {len(data)} {data.modality} rows resampled from {data.sample_rate:g} Hz to "
            f"{float(rate):g} Hz, the encoder's rate (polyphase, scipy.signal.resample_poly)"
        )
    return [resample(x, data.sample_rate, rate) for x in data.inputs]


def pad(items: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``(T_i, C)`` -> ``(B, T_max, C)`` zero-padded and a boolean mask ``(B, T_max)``.

    >>> x, m = pad([np.ones((2, 1)), np.ones((3, 1))])
    >>> x.shape, m.sum(1).tolist()
    ((2, 3, 1), [2, 3])
    """
    lengths = [len(x) for x in items]
    width = max(lengths)
    first = np.asarray(items[0])
    out = np.zeros((len(items), width, *first.shape[1:]), dtype=np.float32)
    mask = np.zeros((len(items), width), dtype=bool)
    for i, x in enumerate(items):
        out[i, : len(x)] = x
        mask[i, : len(x)] = True
    return out, mask
