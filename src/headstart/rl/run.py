"""An RL run folder, readable without headstart (and never unpickled):

    rl_config.json         kind "rl-agent", the environment variant, the algorithm and its
                           hyper-parameters, the seed, the training settings, the observation
                           and action spaces, versions, CPU seconds, "finished"
    policy.safetensors     the policy's state_dict (SB3's ``.save`` would write pickles)
    optimizer.safetensors  the optimizers' states (for ``--resume``), their param groups in
                           optimizer.json
    curve.json             the learning curve: return of greedy evaluation episodes by env step,
                           with num_timesteps and the counters a resumed run needs

Each file is written atomically (:func:`headstart.io.write_json`, :func:`headstart.io.save_tensors`),
and rewritten at every evaluation: a run killed at any moment resumes from its last one. The
agent is rebuilt from ``rl_config.json`` (:func:`rebuild`), then its weights are loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headstart.errors import HeadstartError
from headstart.io import folder_kind, load_tensors, read_json, save_tensors, write_json
from headstart.rl.agents import (
    build_agent,
    load_optimizer_state,
    load_weights,
    optimizer_state,
    weights,
)
from headstart.rl.env import Variant, parse_variant, space_text
from headstart.rl.train import Result, Settings, learn

CONFIG = "rl_config.json"
WEIGHTS = "policy.safetensors"
OPTIMIZER = "optimizer.safetensors"
OPTIMIZER_JSON = "optimizer.json"
CURVE = "curve.json"
KIND = "rl-agent"
COUNTERS = ("_n_updates", "_n_calls", "_episode_num")


def spaces(variant: Variant) -> dict[str, str]:
    env = variant.make()
    try:
        return {"observation_space": space_text(env.observation_space), "action_space": space_text(env.action_space)}
    finally:
        env.close()


def make_config(variant: Variant, algo: str, hyper: dict[str, Any], seed: int, settings: Settings) -> dict[str, Any]:
    import stable_baselines3

    return {
        "kind": KIND,
        "env": variant.spec,
        "algo": algo,
        "hyperparameters": hyper,
        "seed": seed,
        "settings": settings.to_dict(),
        **spaces(variant),
        "stable_baselines3": stable_baselines3.__version__,
        "finished": False,
    }


def is_rl_run(path: Any) -> bool:
    return folder_kind(path, CONFIG) == KIND


def read_config(run_dir: Path) -> dict[str, Any]:
    """The run's config; one line when ``run_dir`` is not an RL run or is unfinished."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise HeadstartError(
            f"no such run folder: {run_dir}; train a source agent with `headstart rl-train ENV -o RUN`"
        )
    path = run_dir / CONFIG
    if not path.is_file():
        raise HeadstartError(
            f"{run_dir} is not an RL run (no {CONFIG}); train a source agent with `headstart rl-train ENV -o {run_dir}`"
        )
    config = read_json(path)
    if not isinstance(config, dict) or config.get("kind") != KIND:
        raise HeadstartError(
            f"{path} is not an RL run's config (kind '{KIND}'); write it again with headstart rl-train"
        )
    for key in ("env", "algo", "hyperparameters", "seed"):
        if key not in config:
            raise HeadstartError(f"{path} lacks '{key}': it is damaged or was edited; write it again with rl-train")
    if not (run_dir / WEIGHTS).is_file():
        raise HeadstartError(f"{run_dir} has no {WEIGHTS}: the run did not finish; resume it with rl-train --resume")
    return config


def save_checkpoint(run_dir: Path, agent: Any, result: Result, config: dict[str, Any], finished: bool = False) -> None:
    """Weights, optimizer state, curve and config of ``agent`` now (each file atomic; the curve last)."""
    run_dir = Path(run_dir)
    save_tensors(run_dir / WEIGHTS, weights(agent))
    tensors, groups = optimizer_state(agent)
    save_tensors(run_dir / OPTIMIZER, tensors)
    write_json(run_dir / OPTIMIZER_JSON, groups)
    counters = {k: int(getattr(agent, k)) for k in COUNTERS if hasattr(agent, k)}
    write_json(run_dir / CONFIG, {**config, "finished": finished, "cpu_seconds": result.cpu_seconds,
                                  "wall_seconds": result.wall_seconds})  # fmt: skip
    write_json(run_dir / CURVE, {"curve": result.curve, "num_timesteps": int(agent.num_timesteps),
                                 "stopped_early": result.stopped_early, "counters": counters,
                                 "cpu_seconds": result.cpu_seconds, "wall_seconds": result.wall_seconds})  # fmt: skip


def rebuild(config: dict[str, Any], variant: Variant | None = None, seed: int | None = None) -> Any:
    """A fresh agent with the run's algorithm and hyper-parameters, on its own variant or on ``variant``."""
    variant = variant if variant is not None else parse_variant(config["env"])
    return build_agent(variant, config["algo"], config["hyperparameters"], config["seed"] if seed is None else seed)


def load_agent(run_dir: Path, variant: Variant | None = None) -> tuple[Any, dict[str, Any]]:
    """The trained agent of ``run_dir`` (weights from safetensors) and its config."""
    config = read_config(run_dir)
    agent = rebuild(config, variant)
    load_weights(agent, load_tensors(Path(run_dir) / WEIGHTS))
    return agent, config


def resume_state(run_dir: Path, agent: Any) -> Result:
    """Load a checkpoint into ``agent`` (weights, optimizers, counters) and return its curve so far."""
    run_dir = Path(run_dir)
    load_weights(agent, load_tensors(run_dir / WEIGHTS))
    if (run_dir / OPTIMIZER).is_file() and (run_dir / OPTIMIZER_JSON).is_file():
        load_optimizer_state(agent, load_tensors(run_dir / OPTIMIZER), read_json(run_dir / OPTIMIZER_JSON))
    saved = read_json(run_dir / CURVE)
    agent.num_timesteps = int(saved["num_timesteps"])
    for key, value in saved.get("counters", {}).items():
        setattr(agent, key, int(value))
    return Result(list(saved["curve"]), int(saved["num_timesteps"]), bool(saved.get("stopped_early")),
                  float(saved.get("cpu_seconds", 0.0)), float(saved.get("wall_seconds", 0.0)))  # fmt: skip


def can_resume(run_dir: Path) -> bool:
    run_dir = Path(run_dir)
    return all((run_dir / f).is_file() for f in (CONFIG, WEIGHTS, CURVE))


def _check_same_run(run_dir: Path, saved: dict[str, Any], config: dict[str, Any]) -> None:
    """A run folder resumes only the run it holds (same environment, algorithm, hyper-parameters, seed, and
    the same budget and evaluation settings, so its curve stays on one grid)."""
    for key in ("env", "algo", "hyperparameters", "seed", "settings"):
        if saved.get(key) != config[key]:
            raise HeadstartError(
                f"--resume: {run_dir} holds a run with {key} {saved.get(key)!r}, not {config[key]!r}; resume with the "
                f"same settings, or use a new --out"
            )


@dataclass
class Trained:
    agent: Any
    result: Result
    config: dict[str, Any]


def train_run(
    variant: Variant,
    algo: str,
    hyper: dict[str, Any],
    seed: int,
    settings: Settings,
    run_dir: Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
    prepare: Any = None,
    extra: dict[str, Any] | None = None,
    label: str = "",
) -> Trained:
    """Train (or resume) one agent; with ``run_dir`` the run folder is written at every evaluation.

    ``prepare(agent) -> callbacks`` is a transfer method's set-up on a fresh agent (not on a resumed one:
    the checkpoint holds what it made)."""
    config = {**make_config(variant, algo, hyper, seed, settings), **(extra or {})}
    agent = build_agent(variant, algo, hyper, seed)
    result = None
    if resume and run_dir is not None and can_resume(run_dir):
        saved = read_json(Path(run_dir) / CONFIG)
        _check_same_run(Path(run_dir), saved, config)
        result = resume_state(run_dir, agent)
        if saved.get("finished"):
            return Trained(agent, result, saved)
    callbacks = prepare(agent, fresh=result is None) if prepare is not None else []
    checkpoint = None
    if run_dir is not None:
        checkpoint = lambda a, r: save_checkpoint(run_dir, a, r, config)  # noqa: E731
    result = learn(agent, variant, settings, seed, result, callbacks, checkpoint, progress, label)
    if run_dir is not None:
        save_checkpoint(run_dir, agent, result, config, finished=True)
    config.update(finished=True, cpu_seconds=result.cpu_seconds)
    return Trained(agent, result, config)
