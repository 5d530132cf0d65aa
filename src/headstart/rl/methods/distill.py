"""``distill``: policy distillation from the source agent (Rusu et al. 2016, "Policy distillation").

The student (a fresh target agent) acts in the target environment; on the states it
visits, it is trained to match the teacher's action distribution,

    L = E_{s ~ student} KL( pi_teacher(. | s) || pi_student(. | s) ),

Rusu et al.'s KL loss (their best of three), with the teacher's distribution at
temperature 1 (the teacher here is a stochastic policy, not a Q-network, so no
sharpening is needed). The states are those of the student's own rollouts (on-policy
data, so the student learns to act well where it goes), which SB3's PPO has just
collected: after each rollout of the first ``steps`` environment steps, ``epochs``
passes of minibatch KL steps run on the rollout's observations, then PPO's update on
the same rollout; after ``steps``, plain RL. The environment steps the distillation
uses are counted in the learning curve like any other.

PPO only (SAC and DQN have no action distribution of the same kind); the source and
target must share observation and action spaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from headstart.errors import HeadstartError
from headstart.rl.env import Variant
from headstart.rl.methods._base import Source, TransferMethod
from headstart.rl.registry import METHODS


@METHODS.register(order=40)
@dataclass
class Distill(TransferMethod):
    """Policy distillation (Rusu et al. 2016): KL to the teacher's actions on the student's states, then RL.

    >>> Distill(steps=2048).steps
    2048
    """

    steps: int = 8192
    epochs: int = 4
    batch_size: int = 256
    lr: float = 1e-3
    name: ClassVar[str] = "distill"
    algos: ClassVar[tuple[str, ...]] = ("ppo",)

    def __post_init__(self) -> None:
        for key in ("steps", "epochs", "batch_size"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise HeadstartError(f"distill: {key} must be a whole number >= 1, got {value!r}")

    def prepare(self, agent: Any, source: Source, target: Variant, fresh: bool) -> list[Any]:
        if source.algo != "ppo":
            raise HeadstartError(
                f"distill needs a PPO source (an action distribution to match); this one is {source.algo.upper()}: "
                f"use policy or value"
            )
        return [make_callback(self, source.teacher(target))]


def make_callback(method: Distill, teacher: Any) -> Any:
    """The SB3 callback that runs the KL steps after each of the first rollouts."""
    import torch
    from stable_baselines3.common.callbacks import BaseCallback

    class Distillation(BaseCallback):
        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            if self.model.num_timesteps > method.steps:
                return
            buffer = self.model.rollout_buffer
            obs = torch.as_tensor(buffer.observations.reshape(-1, *buffer.obs_shape))
            policy = self.model.policy
            optimizer = torch.optim.Adam([p for p in policy.parameters() if p.requires_grad], lr=method.lr)
            with torch.no_grad():
                taught = teacher.policy.get_distribution(obs).distribution
            generator = torch.Generator().manual_seed(int(self.model.num_timesteps))
            policy.set_training_mode(True)
            for _ in range(method.epochs):
                order = torch.randperm(len(obs), generator=generator)
                for start in range(0, len(obs), method.batch_size):
                    idx = order[start : start + method.batch_size]
                    student = policy.get_distribution(obs[idx]).distribution
                    loss = _kl(_select(taught, idx), student).mean()
                    optimizer.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(policy.parameters(), 0.5)
                    optimizer.step()

    return Distillation()


def _select(dist: Any, idx: Any) -> Any:
    import torch

    if isinstance(dist, torch.distributions.Categorical):
        return torch.distributions.Categorical(logits=dist.logits[idx])
    return torch.distributions.Normal(dist.loc[idx], dist.scale[idx])


def _kl(teacher: Any, student: Any) -> Any:
    import torch

    kl = torch.distributions.kl_divergence(teacher, student)
    return kl.sum(-1) if kl.dim() > 1 else kl
