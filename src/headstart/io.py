"""Atomic file writes: write to a temporary file beside the target, then rename.

A reader never sees a half-written file, and a run killed mid-write leaves the
previous version (or nothing) in place.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from headstart.errors import HeadstartError


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable(path: str | os.PathLike, kind: str = "file", what: str = "--out") -> Path:
    """Refuse, in one line and before any work, an output ``path`` that cannot be written: a
    ``kind="file"`` that is a folder, a ``kind="folder"`` that is a file, a path below a file, or
    a place that is read-only. Creates nothing."""
    path = Path(path)
    if kind == "file" and path.is_dir():
        raise HeadstartError(f"{what} {path} is a folder; give a file name (e.g. {path / 'out.csv'})")
    if kind == "folder" and path.exists() and not path.is_dir():
        raise HeadstartError(f"{what} {path} is a file, not a folder; give a new folder name")
    base = _nearest_existing(path if kind == "folder" else path.parent)
    if not base.is_dir():
        raise HeadstartError(f"{what} {path}: {base} is a file, so nothing can be written below it")
    if not os.access(base, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        where = path if path.exists() else base
        raise HeadstartError(f"{what} {path}: {where} is read-only; choose a folder you can write to")
    return path


def io_failure(e: BaseException) -> OSError | None:
    """The operating-system error behind ``e`` (an ``OSError``, or safetensors' error naming one), else None."""
    import re

    if isinstance(e, OSError):
        return e
    found = re.search(r"os error (\d+)", str(e))
    if found and e.__class__.__name__ == "SafetensorError":
        code = int(found.group(1))
        return OSError(code, os.strerror(code))
    return None


class WriteError(HeadstartError):
    """An output that could not be written; ``reason`` is the operating system's word for why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def write_error(path: Path, e: OSError) -> WriteError:
    """The one line for an output that could not be written (disk full, read-only, a folder in the way)."""
    import errno

    reason = e.strerror or e.__class__.__name__
    fix = {
        errno.ENOSPC: "free some space and run again",
        errno.EDQUOT: "free some space and run again",
        errno.EROFS: "choose a folder you can write to",
        errno.EACCES: "choose a folder you can write to",
        errno.EPERM: "choose a folder you can write to",
        errno.EISDIR: "give a file name, not a folder",
        errno.ENOTDIR: "a file is in the way: give another path",
        errno.EEXIST: "a file is in the way: give another path",
    }.get(e.errno or 0, "check the path and run again")
    return WriteError(f"cannot write {path}: {reason}; {fix}", reason)


def _atomic(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    path = Path(path)
    if path.is_dir():
        raise HeadstartError(f"cannot write {path}: it is a folder; give a file name")
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        write(tmp)
        # mkstemp creates the file 0600; give it the mode a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as e:  # the previous version of ``path`` (or nothing) stays in place
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        failure = io_failure(e)
        if failure is not None:
            raise write_error(path, failure) from None
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    return _atomic(path, write)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    return _atomic(path, write)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """A JSON file; one clear line when it is missing, not UTF-8 or not JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise HeadstartError(f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except UnicodeDecodeError as e:
        raise HeadstartError(f"{path} is not UTF-8 text (byte {e.start}); it is damaged or not a JSON file") from None
    except RecursionError:
        raise HeadstartError(f"{path} nests too deeply to be a headstart JSON file") from None
    except OSError as e:
        raise HeadstartError(f"cannot read {path}: {e.strerror or e.__class__.__name__}") from None


def folder_kind(folder: Any, config: str) -> Any:
    """The ``"kind"`` a folder's JSON ``config`` file declares (``None`` when the file is
    missing or unreadable): how the run folders of the families tell themselves apart."""
    path = Path(str(folder)) / config
    if not path.is_file():
        return None
    try:
        return read_json(path).get("kind")
    except Exception:
        return None


def save_tensors(
    path: str | os.PathLike, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None
) -> Path:
    """Save tensors as safetensors, atomically."""
    from safetensors.torch import save_file

    clean = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    return _atomic(path, lambda tmp: save_file(clean, tmp, metadata=metadata))


def load_tensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file; a damaged, truncated or foreign file (a pickle) is one
    clear line. safetensors parses only a JSON header and raw numbers: nothing in the file runs."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
        raise HeadstartError(
            f"{path} is not a readable safetensors file ({first[:120]}): it is damaged or another format "
            f"(headstart loads weights from safetensors only, never from pickles); write it again"
        ) from None
    except OSError as e:
        raise HeadstartError(f"cannot read {path}: {e.strerror or e.__class__.__name__}") from None


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
