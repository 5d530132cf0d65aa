"""Stable-Baselines3 agents built from data, and their weights as plain tensors.

An agent is rebuilt from its config (``algo``, hyper-parameters, the environment
variant, the seed), never unpickled: SB3's own ``.save`` writes a zip of pickles, so a
run folder holds the policy's ``state_dict`` (and the optimizers' states, for
``--resume``) in safetensors, and the settings in JSON (:mod:`headstart.rl.run`).

The hyper-parameters are rl-baselines3-zoo's (``hyperparams/{ppo,dqn,sac}.yml``) for
the environments headstart knows; ``lin_X`` is the zoo's linear schedule from X to 0.
CartPole-v1 with PPO, for example: 8 environments, 32 steps each per rollout, 20
epochs over minibatches of 256, gamma 0.98, GAE lambda 0.8, learning rate and clip
range decaying linearly from 1e-3 and 0.2. Where the zoo normalises observations
(Acrobot, MountainCar) headstart does not: a ``VecNormalize`` running mean would be
one more piece of state to carry between environments.

MiniGrid layouts use a small convolutional encoder over the 7x7x3 egocentric view
(:class:`GridEncoder`, the one of MiniGrid's SB3 tutorial), shared by the policy and the
value function: the representation that ``representation`` transfer freezes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from headstart.errors import HeadstartError, did_you_mean
from headstart.rl.env import Variant

ALGOS = ("ppo", "dqn", "sac")

# rl-baselines3-zoo's settings (n_envs and policy_kwargs included); "lin_X": linear from X to 0.
ZOO: dict[tuple[str, str], dict[str, Any]] = {
    ("ppo", "CartPole"): {
        "n_envs": 8, "n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.98, "n_epochs": 20,
        "ent_coef": 0.0, "learning_rate": "lin_0.001", "clip_range": "lin_0.2",
    },
    ("ppo", "Acrobot"): {
        "n_envs": 16, "n_steps": 256, "gae_lambda": 0.94, "gamma": 0.99, "n_epochs": 4, "ent_coef": 0.0,
    },
    ("ppo", "MountainCar"): {
        "n_envs": 16, "n_steps": 16, "gae_lambda": 0.98, "gamma": 0.99, "n_epochs": 4, "ent_coef": 0.0,
    },
    ("ppo", "Pendulum"): {
        "n_envs": 4, "n_steps": 1024, "gae_lambda": 0.95, "gamma": 0.9, "n_epochs": 10, "ent_coef": 0.0,
        "learning_rate": 1e-3, "clip_range": 0.2, "use_sde": True, "sde_sample_freq": 4,
    },
    ("ppo", "MiniGrid"): {
        "n_envs": 8, "n_steps": 128, "batch_size": 64, "gae_lambda": 0.95, "gamma": 0.99, "n_epochs": 10,
        "ent_coef": 0.0, "learning_rate": 2.5e-4, "clip_range": 0.2,
        "policy_kwargs": {"features": "grid-cnn", "net_arch": [64]},
    },
    ("dqn", "CartPole"): {
        "learning_rate": 2.3e-3, "batch_size": 64, "buffer_size": 100000, "learning_starts": 1000, "gamma": 0.99,
        "target_update_interval": 10, "train_freq": 256, "gradient_steps": 128, "exploration_fraction": 0.16,
        "exploration_final_eps": 0.04, "policy_kwargs": {"net_arch": [256, 256]},
    },
    ("dqn", "Acrobot"): {
        "learning_rate": 6.3e-4, "batch_size": 128, "buffer_size": 50000, "learning_starts": 0, "gamma": 0.99,
        "target_update_interval": 250, "train_freq": 4, "gradient_steps": -1, "exploration_fraction": 0.12,
        "exploration_final_eps": 0.1, "policy_kwargs": {"net_arch": [256, 256]},
    },
    ("dqn", "MountainCar"): {
        "learning_rate": 4e-3, "batch_size": 128, "buffer_size": 10000, "learning_starts": 1000, "gamma": 0.98,
        "target_update_interval": 600, "train_freq": 16, "gradient_steps": 8, "exploration_fraction": 0.2,
        "exploration_final_eps": 0.07, "policy_kwargs": {"net_arch": [256, 256]},
    },
    ("sac", "Pendulum"): {"learning_rate": 1e-3},
    ("sac", "MountainCarContinuous"): {
        "learning_rate": 3e-4, "buffer_size": 50000, "batch_size": 512, "ent_coef": 0.1, "train_freq": 32,
        "gradient_steps": 32, "gamma": 0.9999, "tau": 0.01, "learning_starts": 0,
        "policy_kwargs": {"net_arch": [64, 64]},
    },
}  # fmt: skip
# How many environment steps the zoo trains each for (the default of `headstart rl-train --steps`).
ZOO_STEPS = {"CartPole": 100_000, "Acrobot": 1_000_000, "MountainCar": 1_000_000, "Pendulum": 20_000,
             "MountainCarContinuous": 50_000, "MiniGrid": 100_000}  # fmt: skip


def family(variant: Variant) -> str:
    """``CartPole``, ``Acrobot``, ``MountainCar``, ``MountainCarContinuous``, ``Pendulum`` or ``MiniGrid``."""
    return "MiniGrid" if variant.is_grid else variant.env_id.split("-")[0]


def default_algo(variant: Variant) -> str:
    """PPO for discrete actions, SAC for continuous ones."""
    import gymnasium as gym

    env = variant.make()
    try:
        return "ppo" if isinstance(env.action_space, gym.spaces.Discrete) else "sac"
    finally:
        env.close()


def hyperparameters(variant: Variant, algo: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The zoo's settings for ``algo`` on the variant's family (SB3's defaults where the zoo has none),
    with ``overrides``."""
    algo = check_algo(algo)
    hyper = copy.deepcopy(ZOO.get((algo, family(variant)), {}))
    hyper.setdefault("n_envs", 1)
    if overrides:
        allowed = set(_constructor_args(algo)) | {"n_envs"}
        for key in overrides:
            if key not in allowed:
                raise HeadstartError(
                    f"{algo.upper()} has no hyper-parameter '{key}'{did_you_mean(key, allowed)} "
                    f"(e.g. n_envs, learning_rate, gamma, batch_size)"
                )
        hyper.update(overrides)
    return hyper


def check_algo(algo: str) -> str:
    if algo not in ALGOS:
        raise HeadstartError(f"unknown algorithm '{algo}'{did_you_mean(algo, ALGOS)} (available: {', '.join(ALGOS)})")
    return algo


def check_fits(algo: str, variant: Variant) -> None:
    """DQN needs discrete actions, SAC continuous ones: one line otherwise."""
    import gymnasium as gym

    env = variant.make()
    discrete = isinstance(env.action_space, gym.spaces.Discrete)
    env.close()
    if algo == "dqn" and not discrete:
        raise HeadstartError(f"DQN needs discrete actions and {variant.env_id}'s are continuous; use --algo sac or ppo")
    if algo == "sac" and discrete:
        raise HeadstartError(f"SAC needs continuous actions and {variant.env_id}'s are discrete; use --algo ppo or dqn")


def _algo_class(algo: str) -> Any:
    from stable_baselines3 import DQN, PPO, SAC

    return {"ppo": PPO, "dqn": DQN, "sac": SAC}[algo]


def _constructor_args(algo: str) -> list[str]:
    import inspect

    skip = {"self", "policy", "env", "seed", "device", "verbose", "_init_setup_model", "tensorboard_log"}
    return [p for p in inspect.signature(_algo_class(algo).__init__).parameters if p not in skip]


def schedule(value: Any) -> Any:
    """The zoo's ``lin_X`` (linear from X to 0 over training) as SB3's schedule; a number as itself.

    >>> schedule("lin_0.001")(0.5)
    0.0005
    >>> schedule(3e-4)
    0.0003
    """
    if isinstance(value, str) and value.startswith("lin_"):
        start = float(value[4:])
        return lambda progress_remaining: progress_remaining * start
    return value


class GridEncoder(nn.Module):
    """Three 2x2 convolutions over MiniGrid's 7x7x3 view, then a linear layer to ``features_dim`` (64)."""

    def __init__(self, observation_space: Any, features_dim: int = 64) -> None:
        from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

        BaseFeaturesExtractor.__init__(self, observation_space, features_dim)  # type: ignore[arg-type]
        channels = observation_space.shape[0]
        self.cnn = nn.Sequential(
            nn.Conv2d(channels, 16, 2), nn.ReLU(), nn.Conv2d(16, 32, 2), nn.ReLU(), nn.Conv2d(32, 64, 2), nn.ReLU(),
            nn.Flatten(),
        )  # fmt: skip
        with torch.no_grad():
            flat = self.cnn(torch.zeros(1, *observation_space.shape)).shape[1]
        self.linear = nn.Sequential(nn.Linear(flat, features_dim), nn.ReLU())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.linear(self.cnn(observations))


def _grid_encoder_class() -> type:
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    # GridEncoder's methods on SB3's extractor base (SB3 reads features_dim from it).
    return type("GridFeatures", (BaseFeaturesExtractor,), {"__init__": GridEncoder.__init__,
                                                           "forward": GridEncoder.forward})  # fmt: skip


FEATURES: dict[str, Callable[[], type]] = {"grid-cnn": _grid_encoder_class}


def _policy_kwargs(spec: dict[str, Any] | None) -> dict[str, Any]:
    out = dict(spec or {})
    name = out.pop("features", None)
    if name is not None:
        out["features_extractor_class"] = FEATURES[name]()
        out["normalize_images"] = False  # MiniGrid's view holds small integer codes (object, colour, state), not pixels
    return out


def make_env(variant: Variant, n_envs: int, seed: int) -> Any:
    """``n_envs`` copies of the variant in a ``DummyVecEnv`` (each with SB3's Monitor), seeded ``seed, seed+1, ...``."""
    from stable_baselines3.common.env_util import make_vec_env

    return make_vec_env(variant.make, n_envs=n_envs, seed=seed)


def build_agent(variant: Variant, algo: str, hyper: dict[str, Any], seed: int, env: Any = None) -> Any:
    """A fresh SB3 agent (``algo`` with ``hyper``) on ``n_envs`` seeded copies of the variant, on the CPU."""
    hyper = dict(hyper)
    n_envs = int(hyper.pop("n_envs", 1))
    env = env if env is not None else make_env(variant, n_envs, seed)
    kwargs = {k: schedule(v) if k in ("learning_rate", "clip_range") else v for k, v in hyper.items()}
    kwargs["policy_kwargs"] = _policy_kwargs(kwargs.get("policy_kwargs"))
    policy = "MlpPolicy" if not variant.is_grid else "CnnPolicy"
    return _algo_class(algo)(policy, env, seed=seed, device="cpu", verbose=0, **kwargs)


# ------------------------------------------------------------------ weights as tensors
def optimizers(agent: Any) -> dict[str, torch.optim.Optimizer]:
    """The agent's optimizers by name (PPO, DQN: ``policy``; SAC: ``actor``, ``critic`` and ``ent_coef``)."""
    out: dict[str, torch.optim.Optimizer] = {}
    policy = agent.policy
    if hasattr(policy, "optimizer"):
        out["policy"] = policy.optimizer
    for part in ("actor", "critic"):
        if hasattr(policy, part) and hasattr(getattr(policy, part), "optimizer"):
            out[part] = getattr(policy, part).optimizer
    if getattr(agent, "ent_coef_optimizer", None) is not None:
        out["ent_coef"] = agent.ent_coef_optimizer
    return out


def weights(agent: Any) -> dict[str, torch.Tensor]:
    """The policy's ``state_dict`` (and SAC's learnt entropy coefficient, ``log_ent_coef``)."""
    out = {k: v.detach().clone() for k, v in agent.policy.state_dict().items()}
    if isinstance(getattr(agent, "log_ent_coef", None), torch.Tensor):
        out["log_ent_coef"] = agent.log_ent_coef.detach().clone()
    return out


def load_weights(agent: Any, tensors: dict[str, torch.Tensor]) -> None:
    tensors = dict(tensors)
    log_ent = tensors.pop("log_ent_coef", None)
    agent.policy.load_state_dict(tensors)
    if log_ent is not None and isinstance(getattr(agent, "log_ent_coef", None), torch.Tensor):
        with torch.no_grad():
            agent.log_ent_coef.copy_(log_ent)


def optimizer_state(agent: Any) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Every optimizer's state as tensors (``NAME.PARAM.KEY``) and its non-tensor part (param groups) as JSON."""
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {}
    for name, opt in optimizers(agent).items():
        state = opt.state_dict()
        for idx, entries in state["state"].items():
            for key, value in entries.items():
                tensors[f"{name}.{idx}.{key}"] = torch.as_tensor(value).detach().clone()
        groups = [{k: v for k, v in g.items() if k != "lr" or not callable(v)} for g in state["param_groups"]]
        meta[name] = groups
    return tensors, meta


def load_optimizer_state(agent: Any, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    for name, opt in optimizers(agent).items():
        if name not in meta:
            continue
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            owner, idx, entry = key.split(".", 2)
            if owner == name:
                state.setdefault(int(idx), {})[entry] = value
        opt.load_state_dict({"state": state, "param_groups": meta[name]})
