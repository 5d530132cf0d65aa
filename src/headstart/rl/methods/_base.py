"""What every RL transfer method shares: the source agent, and the parts of a policy's weights.

A policy's ``state_dict`` is split by key into parts, the same way for every algorithm:

- ``features``: a learnt features extractor (MiniGrid's convolutional encoder), shared by
  the policy and the value function;
- ``body``: the hidden layers (PPO's ``mlp_extractor.policy_net`` / ``value_net``, DQN's
  ``q_net.q_net`` but its last layer, SAC's ``actor.latent_pi`` and critics but their last
  layers), each with its depth from the input (0, 1, ...);
- ``head``: the output layers (PPO's ``action_net`` / ``value_net`` / ``log_std``, DQN's last
  Q layer, SAC's ``mu`` / ``log_std`` and the critics' last layers).

Each key is also on the ``policy`` or the ``value`` side (PPO's value network, DQN's
Q-network, SAC's critics are ``value``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch

from headstart.errors import HeadstartError
from headstart.rl.env import Variant

_INDEXED = re.compile(r"^(.*)\.(\d+)$")
_HEADS = ("action_net.", "value_net.", "log_std", "actor.mu.", "actor.log_std.")
_LAST_IS_HEAD = re.compile(r"^(q_net\.q_net|q_net_target\.q_net|critic\.qf\d+|critic_target\.qf\d+)$")
_VALUE = ("mlp_extractor.value_net.", "value_net.", "vf_features_extractor.", "q_net", "critic")


@dataclass(frozen=True)
class Part:
    kind: str  # "features", "body" or "head"
    side: str  # "policy" or "value"
    depth: int  # a body layer's depth from the input (0 first); 0 for the others


def parts(keys: list[str]) -> dict[str, Part]:
    """``{key: Part}`` for a policy's ``state_dict`` keys."""
    modules: dict[str, list[int]] = {}
    for key in keys:
        match = _INDEXED.match(key.rsplit(".", 1)[0])
        if match:
            modules.setdefault(match.group(1), [])
            if int(match.group(2)) not in modules[match.group(1)]:
                modules[match.group(1)].append(int(match.group(2)))
    out = {}
    for key in keys:
        side = "value" if key.startswith(_VALUE) else "policy"
        if "features_extractor." in key:
            out[key] = Part("features", side, 0)
            continue
        if key.startswith(_HEADS) or key == "log_ent_coef":
            out[key] = Part("head", side, 0)
            continue
        match = _INDEXED.match(key.rsplit(".", 1)[0])
        if match:
            body, idx = match.group(1), int(match.group(2))
            layers = sorted(modules[body])
            if _LAST_IS_HEAD.match(body) and idx == layers[-1]:
                out[key] = Part("head", side, 0)
            else:
                out[key] = Part("body", side, layers.index(idx))
        else:
            out[key] = Part("head", side, 0)
    return out


@dataclass
class Source:
    """The source agent: its run's config and weights (and the variant it was trained on)."""

    config: dict[str, Any]
    tensors: dict[str, torch.Tensor]
    variant: Variant

    @property
    def algo(self) -> str:
        return str(self.config["algo"])

    def teacher(self, target: Variant) -> Any:
        """The source agent rebuilt on the target environment's spaces, with its weights (for distillation)."""
        import warnings

        from headstart.rl.agents import build_agent, load_weights

        hyper = {**self.config["hyperparameters"], "n_envs": 1}
        with warnings.catch_warnings():  # PPO's note that one env's rollout is smaller than a minibatch: it acts only
            warnings.simplefilter("ignore", UserWarning)
            agent = build_agent(target, self.algo, hyper, int(self.config["seed"]))
        load_weights(agent, self.tensors)
        agent.policy.set_training_mode(False)
        return agent


def copy_weights(agent: Any, source: Source, keep: Any) -> list[str]:
    """Copy the source's tensors whose key ``keep(key, part)`` accepts into ``agent``; the copied keys.

    A shape that differs (another observation or action size) is one line naming the layer."""
    from headstart.rl.agents import load_weights, weights

    mine = weights(agent)
    table = parts(list(mine))
    copied = []
    for key, part in table.items():
        if key == "log_ent_coef" or not keep(key, part):
            continue
        theirs = source.tensors.get(key)
        if theirs is None:
            raise HeadstartError(f"the source policy has no layer '{key}': it was trained with another architecture")
        if tuple(theirs.shape) != tuple(mine[key].shape):
            raise HeadstartError(
                f"layer '{key}' is {tuple(theirs.shape)} in the source policy and {tuple(mine[key].shape)} in the "
                f"target's: the observation or action sizes differ; use a method that fits (scratch)"
            )
        mine[key] = theirs.clone()
        copied.append(key)
    load_weights(agent, mine)
    return copied


def freeze(agent: Any, keep: Any) -> list[str]:
    """Stop gradients to the policy parameters ``keep(name, part)`` accepts; the frozen names.

    SB3 builds its optimizer over every parameter; a frozen one gets no gradient, so Adam leaves it."""
    params = dict(agent.policy.named_parameters())
    table = parts(list(params))
    frozen = []
    for name, p in params.items():
        if keep(name, table[name]):
            p.requires_grad_(False)
            frozen.append(name)
    return frozen


def has_features(tensors: dict[str, torch.Tensor]) -> bool:
    """Whether the policy has a learnt features extractor (else its encoder is the hidden layers)."""
    return any("features_extractor." in k for k in tensors)


class TransferMethod:
    """A way to start the target agent from the source: copy, freeze, add callbacks to SB3's loop."""

    name: str = ""
    algos: tuple[str, ...] = ("ppo", "dqn", "sac")  # the algorithms it works with

    def needs(self, algo: str) -> tuple[str, ...]:
        """What must match between source and target: ``"observations"`` and/or ``"actions"``."""
        return ("observations", "actions")

    def hyperparameters(self, hyper: dict[str, Any], source: Source, steps: int) -> dict[str, Any]:
        """The target agent's hyper-parameters (the source's, unchanged, unless the method says otherwise);
        ``steps`` is the target's training budget. Part of the run's config, so a resumed run gets them too."""
        return hyper

    def prepare(self, agent: Any, source: Source, target: Variant, fresh: bool) -> list[Any]:
        """Set up ``agent`` (fresh: copy what transfers; resumed from a checkpoint: only what is not in
        the weights, e.g. which layers are frozen) and return SB3 callbacks for its training."""
        raise NotImplementedError
