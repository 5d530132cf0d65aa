"""Batched feature extraction with an on-disk cache.

Extract once, train many heads: the embeddings of a dataset under a backbone
are written to ``<cache>/features/<backbone key>/<data fingerprint>.safetensors``
(atomically). The backbone key covers the spec, the weights (a sampled hash)
and the preprocessing config; the data fingerprint covers the inputs (not the
labels). A second run on the same data reads the file instead of running the
backbone.

Text is tokenized once up front and batched sorted by token count (longest
first), so each batch pads to its own longest text rather than the dataset's;
rows come back in the original order.
On a GPU the forward pass runs under bf16 autocast (fp16 where bf16 is missing).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, Unpack

import numpy as np
import torch

from headstart.data import Dataset, at_rate, from_arrays
from headstart.data.dataset import SEQUENCES
from headstart.errors import HeadstartError
from headstart.io import load_tensors, save_tensors
from headstart.progress import bar


def default_cache_dir() -> Path:
    """``$HEADSTART_CACHE``, else ``$XDG_CACHE_HOME/headstart``, else ``~/.cache/headstart``."""
    if os.environ.get("HEADSTART_CACHE"):
        return Path(os.environ["HEADSTART_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "headstart"


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class Extraction:
    """Features plus how they were obtained."""

    features: np.ndarray
    cached: bool
    seconds: float
    path: Path | None


def cache_path(
    backbone: Any, data: Dataset, cache_dir: str | Path | None = None, tta: bool = False, max_length: int | None = None
) -> Path:
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    suffix = ("-hflip" if tta else "") + (f"-len{max_length}" if max_length else "")
    return root / "features" / backbone.cache_key() / f"{data.fingerprint()[:32]}{suffix}.safetensors"


def _prepared(backbone: Any, data: Dataset, max_length: int | None = None) -> tuple[Any, np.ndarray]:
    """Inputs ready for batching, and the order to batch them in.

    The backbone's ``prepare`` step runs once over all rows (tokenizers: cut at
    ``max_length`` tokens when given). When it returns lengths, rows are
    batched longest first, so each batch pads to its own longest row; without
    lengths (the default ``prepare``: the rows as they are) the data's order is kept.
    """
    extra = {"max_length": max_length} if max_length else {}
    raw = data.inputs
    if data.modality in SEQUENCES:  # audio (and series with a rate) at the encoder's rate
        raw = at_rate(data, backbone.pretrained_config.sample_rate)
    items, lengths = backbone.prepare(raw, **extra)
    if lengths is None:
        return items, np.arange(len(data))
    return items, np.argsort(-lengths, kind="stable")


def _autocast(device: torch.device) -> Any:
    if device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return torch.autocast("cpu", enabled=False)


class _DecodedImages(torch.utils.data.Dataset):
    """Row ``i`` -> the backbone's evaluation transform of image ``i``, in DataLoader workers.

    A damaged image comes back as its :class:`HeadstartError` (raised again in the main
    process as the one line it is, not as a worker's traceback)."""

    def __init__(self, items: Sequence[Any], transform: Any) -> None:
        self.items, self.transform = items, transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> torch.Tensor | HeadstartError:
        from headstart.backbones.vision import to_pil

        try:
            return self.transform(to_pil(self.items[i]))
        except HeadstartError as e:
            return e

    @staticmethod
    def stack(rows: list[torch.Tensor | HeadstartError]) -> torch.Tensor | HeadstartError:
        return next((r for r in rows if isinstance(r, HeadstartError)), None) or torch.stack(rows)


# Images are decoded in worker processes once a data set has this many rows (fewer: the
# workers' start-up costs more than it saves).
PARALLEL_DECODE_ROWS = 128


def decode_workers(backbone: Any, n_rows: int, num_workers: int | None) -> int:
    """Worker processes for decoding: 0 for what is not an image backbone with a per-image
    transform, or for a few rows; ``num_workers`` when given; else one fewer than torch's threads
    (the network keeps its cores busy; decoding is a tenth of its cost), at least 1, at most 4."""
    if backbone.modality != "image" or getattr(backbone, "transform", None) is None:
        return 0
    if num_workers is not None:
        return max(0, int(num_workers))
    return min(4, max(1, torch.get_num_threads() - 1)) if n_rows >= PARALLEL_DECODE_ROWS else 0


def _batches(backbone: Any, items: Any, order: np.ndarray, batch_size: int, device: torch.device, workers: int) -> Any:
    """``(row indices, batch on device)`` in ``order``: collated in this process, or (images,
    ``workers`` > 0) decoded in worker processes while the network runs, pinned for a GPU."""
    cuts = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    if workers == 0:
        for idx in cuts:
            raw = items[idx] if isinstance(items, np.ndarray) else [items[i] for i in idx]
            yield idx, backbone.batch_to(backbone.collate(raw), device)
        return
    from torch.utils.data import DataLoader

    loader = DataLoader(
        _DecodedImages(items, backbone.transform),
        batch_sampler=[idx.tolist() for idx in cuts],
        collate_fn=_DecodedImages.stack,
        num_workers=workers,
        pin_memory=device.type == "cuda",
    )
    for idx, batch in zip(cuts, loader, strict=True):
        if isinstance(batch, HeadstartError):
            raise batch
        yield idx, backbone.batch_to(batch, device)


def _run_members(
    root: Any,
    members: Sequence[Any],
    data: Dataset,
    batch_size: int,
    device: torch.device,
    progress: bool | None,
    tta: bool = False,
    max_length: int | None = None,
    num_workers: int | None = None,
) -> list[np.ndarray]:
    """The features of every member (``root``, or layers of it) from one forward pass of
    ``root`` per batch. Image networks run channels-last (1.7x faster on CPU for
    EfficientNet-Lite0) with their batch norms folded into the convolutions (another 1.4x),
    on a copy checked against the network on the first batch (:mod:`headstart.backbones.fold`);
    the backbone's own weights are left as they were."""
    from headstart.backbones.layers import forward_members

    items, order = _prepared(root, data, max_length)
    workers = decode_workers(root, len(data), num_workers)
    image = data.modality == "image"

    def forward(batch: Any) -> list[torch.Tensor]:
        if image:
            batch = batch.contiguous(memory_format=torch.channels_last)
        if len(members) == 1 and members[0] is root:
            return [root.forward_features(batch)]
        return forward_members(root, members, batch)

    outs: list[np.ndarray | None] = [
        np.empty((len(data), m.feature_dim), dtype=np.float32) if m.feature_dim else None for m in members
    ]
    was_training = root.training
    root.eval().to(device)
    owner = _network_owner(root) if image else None
    network = owner.model if owner is not None else None
    if network is not None:
        network.to(memory_format=torch.channels_last)
    label = f"features ({', '.join(m.spec for m in members)})"
    try:
        with torch.inference_mode(), _autocast(device), bar(label, len(data), progress) as advance:
            for step, (idx, batch) in enumerate(_batches(root, items, order, batch_size, device, workers)):
                if step == 0 and network is not None:
                    _use_folded(owner, network, lambda sample=batch[:2]: forward(sample))
                feats = [f.float() for f in forward(batch)]
                if tta:  # the mirror image too; a linear head on the mean = the mean of its logits
                    feats = [0.5 * (f + g.float()) for f, g in zip(feats, forward(batch.flip(-1)), strict=True)]
                for j, f in enumerate(feats):
                    f = f.cpu().numpy()
                    if outs[j] is None:
                        outs[j] = np.empty((len(data), f.shape[1]), dtype=np.float32)
                    outs[j][idx] = f
                advance(len(idx))
    finally:
        if network is not None:
            owner.model = network
            network.to(memory_format=torch.contiguous_format)
        root.train(was_training)
    return outs


def _network_owner(backbone: Any) -> Any:
    """The backbone (itself or one it wraps) whose ``model`` is the image network, or None."""
    while not isinstance(getattr(backbone, "model", None), torch.nn.Module) and hasattr(backbone, "inner"):
        backbone = backbone.inner
    return backbone if isinstance(getattr(backbone, "model", None), torch.nn.Module) else None


def _use_folded(owner: Any, network: torch.nn.Module, sample: Any) -> None:
    """Put a copy of ``network`` with its batch norms folded in its place on ``owner``, when
    there are any and the features of ``sample()`` (a callable) agree with the unfolded ones."""
    from headstart.backbones.fold import fold_batchnorm

    try:
        folded, count = fold_batchnorm(network)
    except Exception:  # an optimisation only: a network that cannot be copied runs as it is
        return
    if count == 0:
        return
    reference = [f.float() for f in sample()]
    owner.model = folded.to(memory_format=torch.channels_last)
    for a, b in zip(reference, sample(), strict=True):
        b = b.float()
        if a.shape != b.shape or not bool((a - b).abs().max() <= 1e-4 * a.abs().max().clamp(min=1e-12)):
            owner.model = network  # not the same function: the pairs were not what they seemed
            return


EXTRACT_OPTIONS = ("batch_size", "device", "cache", "cache_dir", "progress")


def extract_options(owner: Any) -> dict[str, Any]:
    """The extraction options an estimator stores under the same names (``batch_size``,
    ``device``, ``cache``, ``cache_dir``, ``progress``), for :func:`extract`."""
    return {name: getattr(owner, name) for name in EXTRACT_OPTIONS}


def _check_inputs(backbone: Any, data: Dataset) -> None:
    """Rows to extract, of the backbone's modality, else one line."""
    if len(data) == 0:
        raise HeadstartError(f"{data.source} has no rows to extract features from")
    if data.modality != backbone.modality:
        raise HeadstartError(
            f"backbone '{backbone.spec}' takes {backbone.modality} inputs, {data.source} is {data.modality}"
        )


class ExtractOptions(TypedDict, total=False):
    """The keyword options of :func:`extract` and :func:`extract_many` (defaults: there)."""

    batch_size: int
    device: str | torch.device | None
    cache: bool
    cache_dir: str | Path | None
    progress: bool | None
    tta: bool
    max_length: int | None
    num_workers: int | None


def extract(backbone: Any, data: Dataset | Sequence[Any], **options: Unpack[ExtractOptions]) -> Extraction:
    """Embeddings ``(N, D)`` of ``data`` under ``backbone``, from the cache when present
    (:func:`extract_many` of one backbone: the options are described there)."""
    return extract_many([backbone], data, **options)[0]


def _cached(path: Path | None, n: int, start: float) -> Extraction | None:
    if path is None or not path.is_file():
        return None
    try:
        feats = load_tensors(path)["features"].numpy()
    except Exception:  # a damaged cache file is recomputed, never trusted
        return None
    return Extraction(feats, True, time.perf_counter() - start, path) if feats.shape[0] == n else None


def extract_many(
    backbones: Sequence[Any],
    data: Dataset | Sequence[Any],
    *,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    progress: bool | None = None,
    tta: bool = False,
    max_length: int | None = None,
    num_workers: int | None = None,
) -> list[Extraction]:
    """Embeddings of ``data`` under each backbone, one :class:`Extraction` each, in order, from
    the cache when present.

    ``tta=True`` (images only) averages the embeddings of each image and its
    mirror image: test-time augmentation by horizontal flip. ``max_length``
    (text) cuts texts at that many tokens, as training with ``max_length`` does
    (default: the backbone's own limit). ``num_workers``: processes that decode
    images while the network runs (default :func:`decode_workers`; 0: none).

    Layers of one network (``SPEC`` and ``SPEC@blockK`` loaded on the same inner
    backbone: :func:`headstart.backbones.load_backbones`) share one forward pass: the
    features of every layer not in the cache come from a single pass over the data,
    stopped after the highest block needed. Each layer is cached under its own key,
    as :func:`extract` of it alone would be; its ``seconds`` is the shared pass's.
    """
    from headstart.backbones.layers import LayerBackbone

    data = data if isinstance(data, Dataset) else from_arrays(data)
    if not backbones:
        raise HeadstartError("no backbone to extract features with")
    for backbone in backbones:
        _check_inputs(backbone, data)
    if batch_size < 1:
        raise HeadstartError(f"batch size must be at least 1, got {batch_size}")
    if tta and data.modality != "image":
        raise HeadstartError(f"test-time augmentation (flips) is for images; {data.source} is {data.modality}")
    device = torch.device(device) if device is not None else default_device()
    start = time.perf_counter()
    # Tabular features are already features: caching a copy buys nothing.
    max_length = max_length if data.modality == "text" else None
    keep = cache and data.modality != "tabular"
    paths = [cache_path(b, data, cache_dir, tta, max_length) if keep else None for b in backbones]
    results: list[Extraction | None] = [_cached(p, len(data), start) for p in paths]
    # Layers of one network share its pass; anything else runs on its own.
    roots: dict[int, tuple[Any, list[int]]] = {}
    for i in (i for i, r in enumerate(results) if r is None):
        root = backbones[i].inner if isinstance(backbones[i], LayerBackbone) else backbones[i]
        roots.setdefault(id(root), (root, []))[1].append(i)
    for root, index in roots.values():
        members = [backbones[i] for i in index]
        run_start = time.perf_counter()
        feats = _run_members(root, members, data, batch_size, device, progress, tta, max_length, num_workers)
        seconds = time.perf_counter() - run_start
        for i, f in zip(index, feats, strict=True):
            if paths[i] is not None:
                meta = {"backbone": backbones[i].spec, "rows": str(len(data))}
                save_tensors(paths[i], {"features": torch.from_numpy(f)}, meta)
            results[i] = Extraction(f, False, seconds, paths[i])
    return results


def extract_features(backbone: Any, data: Dataset | Sequence[Any], **kwargs: Any) -> np.ndarray:
    """Shorthand for ``extract(...).features``."""
    return extract(backbone, data, **kwargs).features


# Token features are (N, T, D): far bigger than pooled ones. Above this many bytes
# (float16, padded to the longest row) they are not held in memory or cached:
# train the attention head on the fly instead (``$HEADSTART_TOKEN_BYTES`` changes it).
TOKEN_BYTES = 4 << 30


@dataclass
class TokenExtraction:
    """Per-token features ``(N, T, D)`` float16, zero-padded after each row's ``lengths``."""

    tokens: np.ndarray
    lengths: np.ndarray
    cached: bool
    seconds: float
    path: Path | None

    def mask(self) -> np.ndarray:
        """``(N, T)`` booleans: True where a row has a real token."""
        return np.arange(self.tokens.shape[1])[None, :] < self.lengths[:, None]


def _token_budget(n: int, width: int, dim: int, source: str) -> None:
    limit = int(os.environ.get("HEADSTART_TOKEN_BYTES", TOKEN_BYTES))
    need = n * width * dim * 2
    if need > limit:
        raise HeadstartError(
            f"token features of {source} would take {need / 2**30:.1f} GiB ({n} rows x {width} tokens x {dim}), "
            f"over the {limit / 2**30:.1f} GiB limit: use fewer rows or a lower --max-length, "
            f"or set HEADSTART_TOKEN_BYTES"
        )


def _run_tokens(
    backbone: Any, data: Dataset, batch_size: int, device: torch.device, progress: bool | None, max_length: int | None
) -> tuple[np.ndarray, np.ndarray]:
    items, order = _prepared(backbone, data, max_length)
    out: np.ndarray | None = None
    lengths = np.zeros(len(data), dtype=np.int64)
    was_training = backbone.training
    backbone.eval().to(device)
    try:
        with (
            torch.inference_mode(),
            _autocast(device),
            bar(f"token features ({backbone.spec})", len(data), progress) as advance,
        ):
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                raw = items[idx] if isinstance(items, np.ndarray) else [items[i] for i in idx]
                tokens, mask = backbone.forward_tokens(backbone.batch_to(backbone.collate(raw), device))
                if out is None:  # longest rows come first (text), so the first batch is the widest
                    _token_budget(len(data), tokens.shape[1], tokens.shape[2], data.source)
                    out = np.zeros((len(data), tokens.shape[1], tokens.shape[2]), dtype=np.float16)
                n = mask.sum(1).cpu().numpy()
                out[idx, : tokens.shape[1]] = (tokens * mask.unsqueeze(-1).to(tokens.dtype)).half().cpu().numpy()
                lengths[idx] = n
                advance(len(idx))
    finally:
        backbone.train(was_training)
    return out, lengths


def extract_tokens(
    backbone: Any,
    data: Dataset | Sequence[Any],
    *,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    progress: bool | None = None,
    max_length: int | None = None,
) -> TokenExtraction:
    """Per-token features of ``data`` (``backbone.forward_tokens``), float16, from the cache when present.

    Cached beside the pooled features (``...-tokens.safetensors``: ``tokens`` and
    ``lengths``) when they fit the :data:`TOKEN_BYTES` budget; a backbone without
    tokens, or features over the budget, is one line."""
    data = data if isinstance(data, Dataset) else from_arrays(data)
    if not backbone.has_tokens:
        backbone.forward_tokens(None)  # raises its one-line refusal
    _check_inputs(backbone, data)
    device = torch.device(device) if device is not None else default_device()
    start = time.perf_counter()
    max_length = max_length if data.modality == "text" else None
    path = None
    if cache:
        path = cache_path(backbone, data, cache_dir, False, max_length)
        path = path.with_name(path.name.replace(".safetensors", "-tokens.safetensors"))
    if path is not None and path.is_file():
        try:
            stored = load_tensors(path)
            tokens, lengths = stored["tokens"].numpy(), stored["lengths"].numpy()
            if tokens.shape[0] == len(data):
                return TokenExtraction(tokens, lengths, True, time.perf_counter() - start, path)
        except Exception:  # a damaged cache file is recomputed, never trusted
            pass
    tokens, lengths = _run_tokens(backbone, data, batch_size, device, progress, max_length)
    if path is not None:
        save_tensors(
            path,
            {"tokens": torch.from_numpy(tokens), "lengths": torch.from_numpy(lengths)},
            {"backbone": backbone.spec, "rows": str(len(data))},
        )
    return TokenExtraction(tokens, lengths, False, time.perf_counter() - start, path)
