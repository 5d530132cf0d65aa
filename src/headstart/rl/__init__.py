"""Transfer in reinforcement learning: policies, values and representations carried from a
source environment to a target one, measured with jumpstart, area ratio and time to threshold.

- environment variants as data (:mod:`headstart.rl.env`): ``CartPole-v1:length=1.0``,
  Acrobot, MountainCar, Pendulum parameters, MiniGrid layouts;
- agents from Stable-Baselines3 at rl-baselines3-zoo's settings (:mod:`headstart.rl.agents`):
  PPO for discrete actions, SAC for continuous ones, DQN on request;
- training (:mod:`headstart.rl.train`): SB3's own ``learn()`` is the loop (RL collects its
  data by acting; the maintained library's loop is the algorithm), headstart adds callbacks
  for evaluation, checkpoints (safetensors + JSON, ``--resume``), progress and early stopping;
- run folders (:mod:`headstart.rl.run`), never pickles;
- transfer methods, one file each (:data:`METHODS`): ``scratch``, ``policy``, ``value``,
  ``representation``, ``distill``;
- metrics (:mod:`headstart.rl.metrics`, Taylor & Stone 2009) and the comparison
  (:func:`rl_transfer`).
"""

from __future__ import annotations

from headstart.rl.env import Variant, parse_variant
from headstart.rl.registry import METHODS

__all__ = ["METHODS", "Variant", "parse_variant"]
