"""Resolving hub models to local folders, offline first.

A model id is looked up in the local Hugging Face cache first. Only when it is
not there, and offline mode is off, is the network tried; when that fails the
user gets one line saying how to get the model, never a hang or a traceback
from inside a library.
"""

from __future__ import annotations

import os
from pathlib import Path

from headstart.errors import HeadstartError

TRUTHY = {"1", "true", "yes", "on"}


def offline_mode() -> bool:
    """True when HF_HUB_OFFLINE or HEADSTART_OFFLINE is set to a true value."""
    return any(os.environ.get(v, "").strip().lower() in TRUTHY for v in ("HF_HUB_OFFLINE", "HEADSTART_OFFLINE"))


def resolve_hf(name: str) -> Path:
    """A local folder or a hub id -> a local folder with the model's files."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    if name.startswith(("/", ".", "~")) or os.sep in name.strip("/").replace("/", "", 1):
        raise HeadstartError(f"no such model folder: {name}")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(name, local_files_only=True))
    except Exception:  # not cached: LocalEntryNotFoundError and friends
        pass
    how = (
        f"download it where there is network (`hf download {name}`) and copy the "
        f"Hugging Face cache here, or pass a local folder (hf:/path/to/model)"
    )
    if offline_mode():
        raise HeadstartError(f"hf model '{name}' is not in the local cache and HF_HUB_OFFLINE=1 is set; {how}")
    try:
        return Path(
            snapshot_download(
                name,
                allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "1_Pooling/*", "tokenizer*"],
            )
        )
    except Exception as e:
        reason = str(e).strip().splitlines()[0][:160] if str(e).strip() else e.__class__.__name__
        raise HeadstartError(
            f"hf model '{name}' is not in the local cache and could not be downloaded ({reason}); {how}"
        ) from None
