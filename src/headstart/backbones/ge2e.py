"""``ge2e``: the GE2E speaker encoder of Resemblyzer 0.1.4 (Wan et al. 2018), audio at 16 kHz.

The network: a 3-layer LSTM (40 mel bands -> 256) and a Linear(256 -> 256) + ReLU,
trained by Resemblyzer's authors with the generalised end-to-end speaker loss.
Its weights are ``pretrained.pt`` inside the installed ``resemblyzer`` wheel (17 MB,
nothing downloaded). We never run Resemblyzer's code: the tensors are read with
``torch.load(path, weights_only=True)`` (no pickled objects are rebuilt: the most a
file we did not write is allowed) into a plain ``nn.LSTM`` + ``nn.Linear`` of our own.

Front end, computed here as Resemblyzer's ``audio.wav_to_mel_spectrogram`` does
(``benchmarks/audio_fsdd.py --check-mel`` compares the two): audio at 16 kHz (other
rates resampled, and said), the volume raised to -30 dBFS (never lowered), a power
mel spectrogram (not log) of 40 bands, 25 ms Hann windows every 10 ms (centred,
zero-padded), ``librosa.filters.mel``'s Slaney filters. Resemblyzer's voice-activity
trimming is not done (it needs webrtcvad; the clips we use are already trimmed).

Tokens: ``relu(linear(h_t))`` for every LSTM output ``h_t`` of the top layer;
``pool`` (default ``last``: the state at the last real step, which is GE2E's own
embedding, ``relu(linear(hidden[-1]))``) then L2 normalisation, as GE2E does.
Options: ``pool`` (``mean``, ``max``, ``last``, ``attention``, ``meanmax``, ``segments``), ``layers``
(1-3: keep the first K LSTM layers and take their states as tokens, not normalised;
for spoken digits the middle layer holds far more of what was said than the speaker
embedding on top: ``ge2e?layers=2&pool=meanmax``, docs/BENCHMARKS.md), ``pretrained=False``
(the same network with random weights: the from-scratch baseline).
Parameter groups: ``lstm.l0``, ``lstm.l1``, ``lstm.l2``, ``linear`` (+ ``pool``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from headstart.backbones.base import ParamGroup
from headstart.backbones.registry import register_embedded
from headstart.backbones.sequence import SequenceBackbone
from headstart.errors import HeadstartError

PACKAGE = "resemblyzer"
RATE = 16000
N_MELS, WINDOW_MS, STEP_MS, HIDDEN, LAYERS = 40, 25, 10, 256, 3
TARGET_DBFS = -30.0


def weights_path() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise HeadstartError("backbone 'ge2e' needs its weights from the resemblyzer wheel: pip install resemblyzer")
    path = Path(spec.submodule_search_locations[0]) / "pretrained.pt"
    if not path.is_file():
        raise HeadstartError(f"{path} is missing: reinstall resemblyzer (pip install --force-reinstall resemblyzer)")
    return path


def raise_volume(wav: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Scale ``wav`` up to ``target_dbfs`` (RMS), never down (Resemblyzer's ``normalize_volume``,
    ``increase_only=True``)."""
    rms = float(np.sqrt(np.mean((wav.astype(np.float64) * 32767) ** 2)))
    if rms == 0:
        return wav
    change = target_dbfs - 20 * np.log10(rms / 32767)
    return wav if change < 0 else (wav * 10 ** (change / 20)).astype(np.float32)


class MelFrontEnd:
    """Waveform at 16 kHz -> power mel spectrogram ``(frames, 40)`` (float32)."""

    def __init__(self) -> None:
        import librosa

        self.n_fft = RATE * WINDOW_MS // 1000
        self.hop = RATE * STEP_MS // 1000
        self.basis = torch.from_numpy(librosa.filters.mel(sr=RATE, n_fft=self.n_fft, n_mels=N_MELS)).float()
        self.window = torch.hann_window(self.n_fft, periodic=True)

    def __call__(self, wav: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.asarray(wav, dtype=np.float32).reshape(-1))
        if len(x) <= self.n_fft // 2:  # centred framing pads by n_fft / 2 each side: too short to pad
            x = torch.nn.functional.pad(x, (0, self.n_fft // 2 + 1 - len(x)))
        spec = torch.stft(
            x, self.n_fft, self.hop, window=self.window, center=True, pad_mode="constant", return_complex=True
        )
        return (self.basis @ spec.abs().pow(2)).T.contiguous().numpy()


class GE2EBackbone(SequenceBackbone):
    """``ge2e``: mel front end, 3-layer LSTM, Linear + ReLU per step, pooled, L2-normalised."""

    modality = "audio"
    source = "embedded"

    def __init__(self, pool: str = "last", load_weights: bool = True, layers: int = LAYERS) -> None:
        super().__init__()
        if not 1 <= int(layers) <= LAYERS:
            raise HeadstartError(f"ge2e layers must be 1 to {LAYERS}, got {layers}")
        self.spec = "ge2e"
        self.layers = int(layers)
        self.normalize = self.layers == LAYERS  # GE2E's L2-normalised embedding; a cut network's states as they are
        # One single-layer nn.LSTM per layer (the same computation as nn.LSTM(40, 256, 3)), so that a
        # cut network (``layers=2``) keeps only the layers it runs.
        self.lstm = nn.ModuleList(
            [nn.LSTM(N_MELS if i == 0 else HIDDEN, HIDDEN, 1, batch_first=True) for i in range(self.layers)]
        )
        self.linear = nn.Linear(HIDDEN, HIDDEN) if self.layers == LAYERS else None
        self.init_pool(pool, HIDDEN)
        self.mel = MelFrontEnd()
        self.pretrained_config = {
            "architecture": "ge2e",
            "sample_rate": RATE,
            "pooling": pool,
            "layers": self.layers,
            "normalize": self.normalize,
            "n_mels": N_MELS,
            "window_ms": WINDOW_MS,
            "step_ms": STEP_MS,
        }
        if load_weights:
            self.load_resemblyzer()

    def load_resemblyzer(self) -> None:
        """The wheel's tensors, read with ``weights_only=True``, into our LSTM and Linear."""
        try:
            checkpoint = torch.load(weights_path(), map_location="cpu", weights_only=True)
            state = checkpoint["model_state"]
            for i, layer in enumerate(self.lstm):
                names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                layer.load_state_dict({f"{n}_l0": state[f"lstm.{n}_l{i}"] for n in names})
            if self.linear is not None:
                self.linear.load_state_dict({k: state[f"linear.{k}"] for k in ("weight", "bias")})
        except HeadstartError:
            raise
        except Exception as e:  # a damaged or changed file: unpickling refused, keys or shapes that differ
            raise HeadstartError(
                f"cannot read the GE2E weights in {weights_path()} ({e.__class__.__name__}); "
                "reinstall resemblyzer 0.1.4"
            ) from None

    def frontend(self, x: np.ndarray) -> np.ndarray:
        return self.mel(raise_volume(np.asarray(x, dtype=np.float32).reshape(-1)))

    def forward_tokens(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        mask = batch["mask"].bool()
        # A unidirectional LSTM: padding after a row's end never changes its states before it.
        h = batch["x"].float()
        for layer in self.lstm:
            h, _ = layer(h)
        return (torch.relu(self.linear(h)) if self.linear is not None else h), mask

    def encoder_groups(self) -> list[ParamGroup]:
        groups = [ParamGroup(f"lstm.l{i}", list(layer.parameters())) for i, layer in enumerate(self.lstm)]
        return groups + ([ParamGroup("linear", list(self.linear.parameters()))] if self.linear is not None else [])


@register_embedded(
    "ge2e",
    modality="audio",
    package=PACKAGE,
    description="GE2E speaker encoder (Resemblyzer 0.1.4): 3-layer LSTM over 40 mel bands, 16 kHz, 256-d",
)
def load(pretrained: bool = True, pool: str = "last", layers: int = LAYERS, **kwargs: Any) -> GE2EBackbone:
    """``ge2e``: Resemblyzer's GE2E speaker encoder (weights read as tensors; options pool, layers)."""
    if kwargs:
        raise HeadstartError(f"ge2e takes the options pool and layers, not {', '.join(kwargs)}")
    return GE2EBackbone(pool=pool, load_weights=pretrained, layers=layers)
