"""Omniglot (Lake et al. 2015) from its original zip files
(``images_background_small1.zip`` ...), as a Dataset of small grey arrays.

Labels are ``alphabet/character``; images are resized to ``size`` px (box
filter) and inverted (bright strokes on a dark ground, what conv encoders are
trained on). ``rotations=True`` adds each character rotated by 90, 180 and
270 degrees as three new classes (``.../rot90``): the usual way to multiply
Omniglot's training classes (Santoro et al. 2016; Snell et al. 2017).
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from headstart.data.dataset import Dataset
from headstart.errors import HeadstartError


def load_omniglot(
    path: str | os.PathLike,
    alphabets: Sequence[str] | None = None,
    size: int = 28,
    rotations: bool = False,
) -> Dataset:
    """The drawings in the zip ``path`` (only ``alphabets`` when given)."""
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise HeadstartError(f"no such Omniglot zip: {path}")
    images: list[np.ndarray] = []
    labels: list[str] = []
    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if n.lower().endswith(".png"))
        found = sorted({n.split("/")[-3] for n in names})
        if alphabets is not None:
            missing = sorted(set(alphabets) - set(found))
            if missing:
                raise HeadstartError(f"{path} has no alphabet {missing} (it has {found})")
        for name in names:
            alphabet, character = name.split("/")[-3:-1]
            if alphabets is not None and alphabet not in alphabets:
                continue
            with Image.open(io.BytesIO(z.read(name))) as im:
                grey = im.convert("L").resize((size, size), Image.Resampling.BOX)
            images.append(255 - np.asarray(grey, dtype=np.uint8))
            labels.append(f"{alphabet}/{character}")
    if not images:
        raise HeadstartError(f"{path}: no drawings found")
    if rotations:
        base_images, base_labels = list(images), list(labels)
        for k, tag in ((1, "rot90"), (2, "rot180"), (3, "rot270")):
            images += [np.ascontiguousarray(np.rot90(x, k)) for x in base_images]
            labels += [f"{lab}/{tag}" for lab in base_labels]
    return Dataset(inputs=images, labels=np.asarray(labels), modality="image", source=str(path))
