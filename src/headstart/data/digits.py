"""Digit image sets: MNIST-style IDX files and USPS-style ``.mat`` matrices.

Both load as image :class:`~headstart.data.Dataset` s whose ``inputs`` are one
``(N, H, W)`` uint8 array (light strokes on a dark background, as MNIST), and
whose labels are the digits 0-9 as ints. A stacked array hashes in one pass for
the feature cache, and every image backbone takes its rows as HxW arrays.

- IDX (LeCun et al., the MNIST format): a folder holding
  ``<prefix>-images-idx3-ubyte[.gz]`` and ``<prefix>-labels-idx1-ubyte[.gz]``
  (``t10k`` and/or ``train``; Fashion-MNIST and EMNIST use the same names).
  Rows carry ``split`` = ``"test"`` for ``t10k`` and ``"train"`` for ``train``.
- ``.mat`` (read with :func:`scipy.io.loadmat`, no pickle): one numeric matrix of
  ``N x (S*S + 1)``: columns ``0 .. S*S-1`` are an SxS image stored row-major,
  the last column the label. Labels stored 1-based (MATLAB's habit, smallest
  label 1) are shifted to start at 0; USPS's ``usps_all`` (9,298 x 257, label =
  digit + 1) loads as 16x16 digits 0-9.

>>> from headstart.data import load
>>> load("digits/mnist_test")                 # doctest: +SKIP
Dataset(10000 image rows, 10 classes, source='digits/mnist_test')
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import numpy as np

from headstart.data.dataset import Dataset
from headstart.errors import HeadstartError

# <prefix>-images-idx3-ubyte[.gz]; the labels file swaps in "labels-idx1".
IDX_IMAGES = re.compile(r"^(?P<prefix>.+)-images[-.]idx3-ubyte(?P<gz>\.gz)?$")
IDX_SPLITS = {"t10k": "test", "test": "test", "train": "train"}
# IDX type codes -> numpy big-endian dtypes (the format's "magic" third byte).
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


# ------------------------------------------------------------------------ IDX
def idx_files(folder: str | os.PathLike) -> list[tuple[str, Path, Path]]:
    """``(prefix, images file, labels file)`` for each IDX image file in ``folder``."""
    found = []
    for f in sorted(Path(folder).iterdir()):
        m = IDX_IMAGES.match(f.name)
        if not m or not f.is_file():
            continue
        prefix = m["prefix"]
        stem = f"{prefix}-labels-idx1-ubyte"
        labels = [Path(folder) / (stem + ext) for ext in (".gz", "")]
        labels += [Path(folder) / f"{prefix}-labels.idx1-ubyte"]
        match = next((p for p in labels if p.is_file()), None)
        if match is None:
            raise HeadstartError(f"{f} has no labels file beside it (expected {stem}.gz or {stem})")
        found.append((prefix, f, match))
    return found


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """One IDX file (gzipped or not) as an array of its stated shape and type.

    The header: two zero bytes, a type code, the number of dimensions, then one
    big-endian int32 per dimension; the data follow, big-endian, row-major.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise HeadstartError(f"cannot read IDX file {path}: {e.__class__.__name__}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise HeadstartError(f"{path} is not an IDX file (bad magic number {raw[:4].hex() or 'none'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise HeadstartError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise HeadstartError(
            f"{path}: header says shape {shape} ({expected} bytes) but the file holds {len(raw) - header} bytes"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def load_idx_folder(path: str | os.PathLike) -> Dataset:
    """A folder of MNIST-style IDX pairs -> an image Dataset (28x28 uint8 for MNIST)."""
    root = Path(path)
    pairs = idx_files(root)
    if not pairs:
        raise HeadstartError(f"no IDX image files (*-images-idx3-ubyte[.gz]) in {root}")
    images, labels, splits = [], [], []
    for prefix, img_file, lab_file in pairs:
        x, y = read_idx(img_file), read_idx(lab_file)
        if x.ndim != 3:
            raise HeadstartError(f"{img_file}: expected 3 dimensions (images, rows, columns), got shape {x.shape}")
        if y.ndim != 1:
            raise HeadstartError(f"{lab_file}: expected 1 dimension (labels), got shape {y.shape}")
        if len(x) != len(y):
            raise HeadstartError(f"{img_file} holds {len(x)} images but {lab_file} holds {len(y)} labels")
        if images and x.shape[1:] != images[0].shape[1:]:
            raise HeadstartError(f"{img_file}: images are {x.shape[1:]}, the folder's others {images[0].shape[1:]}")
        images.append(x.astype(np.uint8) if x.dtype.kind == "u" and x.dtype.itemsize == 1 else x.astype(np.float32))
        labels.append(y.astype(np.int64))
        splits += [IDX_SPLITS.get(prefix.lower(), prefix)] * len(x)
    return Dataset(
        inputs=np.ascontiguousarray(np.concatenate(images)),
        labels=np.concatenate(labels),
        modality="image",
        split=np.asarray(splits),
        source=str(root),
        columns={"layout": "idx", "files": [p[1].name for p in pairs]},
    )


# ------------------------------------------------------------------------ .mat
def _describe(variables: dict[str, np.ndarray]) -> str:
    return ", ".join(f"'{k}' {getattr(v, 'shape', '?')}" for k, v in variables.items()) or "no variables"


def load_digits_mat(path: str | os.PathLike) -> Dataset:
    """A ``.mat`` file with one ``N x (S*S + 1)`` matrix (USPS's ``usps_all``) -> SxS image Dataset."""
    import scipy.io

    path = Path(path)
    try:
        content = scipy.io.loadmat(path)
    except NotImplementedError:  # MATLAB v7.3 files are HDF5: loadmat cannot read them
        raise HeadstartError(f"{path} is a MATLAB v7.3 (HDF5) file; save it with -v7 to load it here") from None
    except Exception as e:  # scipy's parser fails on junk with anything from MatReadError to IndexError
        first = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
        raise HeadstartError(f"cannot read .mat file {path}: {first}") from None
    variables = {k: v for k, v in content.items() if not k.startswith("__")}
    matrices = {
        k: v
        for k, v in variables.items()
        if isinstance(v, np.ndarray) and v.ndim == 2 and v.dtype.kind in "uif" and v.shape[0] > 0
    }
    fits = {k: v for k, v in matrices.items() if _side(v.shape[1]) is not None}
    if len(fits) != 1:
        why = "no" if not fits else f"{len(fits)} ({', '.join(fits)}) such"
        raise HeadstartError(
            f"{path}: expected one numeric matrix of N x (S*S + 1) (SxS images row-major, then the label), "
            f"found {why} matrix; variables: {_describe(variables)}"
        )
    name, matrix = next(iter(fits.items()))
    side = _side(matrix.shape[1])
    pixels, raw_labels = matrix[:, :-1], matrix[:, -1]
    if not np.all(np.isfinite(raw_labels)) or not np.all(raw_labels == np.round(raw_labels)):
        raise HeadstartError(f"{path}: the last column of '{name}' (the label) is not whole numbers")
    if not np.all(np.isfinite(pixels)):
        raise HeadstartError(f"{path}: '{name}' has NaN or infinite pixel values")
    labels = raw_labels.astype(np.int64)
    one_based = labels.min() == 1
    if one_based:
        labels = labels - 1
    # Row-major: pixel (r, c) is column r * S + c, numpy's C order.
    images = pixels.reshape(len(matrix), side, side)
    images = images.astype(np.uint8) if matrix.dtype == np.uint8 else images.astype(np.float32)
    return Dataset(
        inputs=np.ascontiguousarray(images),
        labels=labels,
        modality="image",
        source=str(path),
        columns={"layout": "mat", "variable": name, "labels_one_based": bool(one_based)},
    )


def _side(columns: int) -> int | None:
    """S when ``columns == S*S + 1`` (S >= 4), else None."""
    side = int(round((columns - 1) ** 0.5)) if columns > 1 else 0
    return side if side >= 4 and side * side + 1 == columns else None
