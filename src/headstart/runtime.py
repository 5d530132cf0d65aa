"""Predict with an exported run: onnxruntime + numpy (+ tokenizers for text, pillow for images).

No torch, no transformers, nothing of headstart that imports them: this module
is the whole runtime, and ``python -m headstart.runtime`` works on a machine
where only ``onnxruntime numpy tokenizers pillow`` are installed (with
``headstart`` itself, whose package ``__init__`` imports torch lazily).

An export folder (``headstart export RUN`` writes ``RUN/export/``) holds:

    model.onnx          the classifier, fp32: inputs -> logits (B, K) (regression: the number (B, 1);
                        multi-label: each label's logit, thresholds in preprocess.json)
    model.int8.onnx     the same, int8-quantized (when asked for)
    preprocess.json     classes, inputs, and how raw inputs become them:
                        text: tokenizer file, max length, pad id;
                        images: resize (shorter side or exact), interpolation,
                        centre crop, scale 1/255, mean, std (NCHW)
    tokenizer.json      text: the fast tokenizer (Hugging Face ``tokenizers``)

Text is tokenized, truncated to the run's max length and batched longest first
(each batch padded to its own longest row), as ``headstart predict`` does;
images are resized and cropped with PIL exactly as torchvision does for PIL
images (``Resize`` then ``CenterCrop`` then ``ToTensor`` then ``Normalize``).

    >>> from headstart.runtime import Predictor
    >>> p = Predictor("runs/sst2/export")                 # model.onnx; int8=True for the int8 file
    >>> p.predict(["a charming and often affecting journey"])
    array(['1'], dtype=object)

    $ python -m headstart.runtime runs/hymenoptera/export val/ants/*.jpg
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

PREPROCESS = "preprocess.json"
FP32 = "model.onnx"
INT8 = "model.int8.onnx"
RESAMPLE = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5}


class RuntimeInputError(ValueError):
    """Bad input to the runtime (unreadable image, no export folder ...): one line."""


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class TextInputs:
    """Raw texts -> batches of ``input_ids`` / ``attention_mask`` (/ ``token_type_ids``)."""

    def __init__(self, folder: Path, spec: dict[str, Any]) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / spec["tokenizer"]))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(spec["max_length"]))
        self.pad_id = int(spec.get("pad_id", 0))
        self.names = list(spec["inputs"])

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch([str(t) for t in texts])]

    def batches(self, texts: Sequence[str], batch_size: int) -> list[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """(row indices, model inputs) per batch, longest rows first."""
        ids = self.encode(texts)
        order = np.argsort(-np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids)), kind="stable")
        out = []
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(ids[i]) for i in rows)
            input_ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1
            feed = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
            out.append((rows, {k: feed[k] for k in self.names}))
        return out


def to_rgb(im: Any) -> Any:
    """A PIL image of any mode -> RGB, keeping 16-bit and float images' range.

    ``Image.convert("RGB")`` clips 16-bit (``I;16``, ``I``) and float (``F``)
    greyscale to 0..255, so a 16-bit scan would turn white: these are scaled
    to 8 bits first (16-bit: by 1/257; 32-bit integers and floats: by their own
    maximum, floats in 0..1 by 255). Alpha is dropped, palettes, greyscale and
    CMYK are converted as PIL does.
    """
    from PIL import Image

    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
        top = float(arr.max()) if arr.size else 0.0
        if im.mode.startswith("I;16") or (im.mode == "I" and 255 < top <= 65535):
            scale = 255.0 / 65535.0
        elif im.mode == "F" and top <= 1.0:
            scale = 255.0
        else:
            scale = 255.0 / top if top > 255 else 1.0
        arr = np.clip(arr * scale, 0, 255).round().astype(np.uint8)
        return Image.fromarray(arr).convert("RGB")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")  # PIL warns on a palette with transparency converted straight to RGB
    return im.convert("RGB")


class ImageInputs:
    """Image files (or PIL images) -> ``(B, 3, H, W)`` float32 batches."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.name = spec["inputs"][0]
        self.mean = np.asarray(spec["mean"], dtype=np.float32).reshape(3, 1, 1)
        self.std = np.asarray(spec["std"], dtype=np.float32).reshape(3, 1, 1)

    def load(self, x: Any) -> Any:
        from PIL import Image, UnidentifiedImageError

        if isinstance(x, Image.Image):
            return to_rgb(x)
        try:
            with Image.open(x) as im:
                return to_rgb(im)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            raise RuntimeInputError(f"cannot read image {x}: {e.__class__.__name__}") from None

    def array(self, x: Any) -> np.ndarray:
        """One image -> ``(3, H, W)``: torchvision's Resize / CenterCrop / ToTensor / Normalize on PIL."""
        img = self.load(x)
        resize = self.spec.get("resize")
        if resize:
            size, resample = resize["size"], RESAMPLE[resize["interpolation"]]
            w, h = img.size
            if isinstance(size, int) or len(size) == 1:
                short, long = (w, h) if w <= h else (h, w)
                new_short = size if isinstance(size, int) else size[0]
                new_long = int(new_short * long / short)
                new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
            else:
                new_h, new_w = size
            if (new_w, new_h) != (w, h):
                img = img.resize((new_w, new_h), resample)
        arr = np.asarray(img, dtype=np.uint8)
        crop = self.spec.get("crop")
        if crop:
            ch, cw = crop
            h, w = arr.shape[:2]
            if ch > h or cw > w:  # torchvision pads a smaller image with zeros first
                top, left = (ch - h) // 2 if ch > h else 0, (cw - w) // 2 if cw > w else 0
                padded = np.zeros((max(h, ch), max(w, cw), 3), dtype=np.uint8)
                padded[top : top + h, left : left + w] = arr
                arr, (h, w) = padded, padded.shape[:2]
            top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
            arr = arr[top : top + ch, left : left + cw]
        chw = arr.transpose(2, 0, 1).astype(np.float32) / np.float32(255.0)
        return (chw - self.mean) / self.std

    def batches(self, images: Sequence[Any], batch_size: int) -> list[tuple[np.ndarray, dict[str, np.ndarray]]]:
        out = []
        for start in range(0, len(images), batch_size):
            rows = np.arange(start, min(start + batch_size, len(images)))
            out.append((rows, {self.name: np.stack([self.array(images[i]) for i in rows])}))
        return out


class Predictor:
    """An exported classifier: raw texts or images -> labels / probabilities.

    Args:
        folder: the export folder (``RUN/export``) or the run folder holding it.
        int8: use ``model.int8.onnx`` instead of the fp32 ``model.onnx``.
        threads: onnxruntime's intra-op threads (None = its default).
        batch_size: rows per forward pass.
    """

    def __init__(self, folder: str | Path, int8: bool = False, threads: int | None = None, batch_size: int = 32):
        import onnxruntime as ort

        folder = Path(folder)
        if not (folder / PREPROCESS).is_file() and (folder / "export" / PREPROCESS).is_file():
            folder = folder / "export"
        if not (folder / PREPROCESS).is_file():
            raise RuntimeInputError(f"{folder} is not an export folder (no {PREPROCESS}); run `headstart export RUN`")
        self.folder = folder
        self.spec = json.loads((folder / PREPROCESS).read_text())
        model = folder / (INT8 if int8 else FP32)
        if not model.is_file():
            hint = " (export with --quantize int8)" if int8 else ""
            raise RuntimeInputError(f"{model} is missing{hint}")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.classes = np.asarray(self.spec["classes"], dtype=object)
        self.task = self.spec.get("task", "classification")
        self.thresholds = np.asarray(self.spec.get("thresholds", [0.5] * len(self.classes)), dtype=np.float32)
        self.batch_size = int(batch_size)
        self.modality = self.spec["modality"]
        self.inputs = TextInputs(folder, self.spec) if self.modality == "text" else ImageInputs(self.spec)

    def decision_function(self, X: Sequence[Any]) -> np.ndarray:
        """Logits ``(N, K)`` in the order of ``X`` (texts, or image paths / PIL images)."""
        X = list(X)
        if not X:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        logits = np.empty((len(X), len(self.classes)), dtype=np.float32)
        for rows, feed in self.inputs.batches(X, self.batch_size):
            logits[rows] = self.session.run(None, feed)[0]
        return logits

    def predict_proba(self, X: Sequence[Any]) -> np.ndarray:
        """Class probabilities (softmax); multi-label: each label's (sigmoid); regression has none."""
        if self.task == "regression":
            raise RuntimeInputError("a regression model predicts numbers, not probabilities: use predict")
        if self.task == "multilabel":
            return 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return _softmax(self.decision_function(X))

    def predict(self, X: Sequence[Any]) -> np.ndarray:
        """Classes; regression: the numbers; multi-label: a 0/1 matrix (probability >= each label's threshold)."""
        if self.task == "regression":
            return self.decision_function(X)[:, 0]
        if self.task == "multilabel":
            return (self.predict_proba(X) >= self.thresholds).astype(np.int64)
        return self.classes[self.decision_function(X).argmax(1)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m headstart.runtime", description=__doc__.splitlines()[0])
    parser.add_argument("export", help="the export folder (RUN/export) or the run folder")
    parser.add_argument("inputs", nargs="*", help="image files, or texts (default: one text per line of stdin)")
    parser.add_argument("--int8", action="store_true", help="use the int8 model")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        predictor = Predictor(args.export, int8=args.int8, threads=args.threads)
        inputs = args.inputs or [line.rstrip("\n") for line in sys.stdin if line.strip()]
        out = predictor.predict(inputs) if predictor.task == "regression" else predictor.predict_proba(inputs)
    except RuntimeInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for x, p in zip(inputs, out, strict=True):
        if predictor.task == "regression":
            print(f"{float(p):.6g}\t{x}")
        elif predictor.task == "multilabel":
            on = [str(c) for c, v, t in zip(predictor.classes, p, predictor.thresholds, strict=True) if v >= t]
            print(f"{'|'.join(on)}\t{x}")
        else:
            k = int(p.argmax())
            print(f"{predictor.classes[k]}\t{p[k]:.4f}\t{x}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
