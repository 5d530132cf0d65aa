"""Training an RL agent: Stable-Baselines3's ``learn()`` with headstart's callbacks.

Reinforcement learning is not a pass over rows: the data comes from the agent acting,
and collecting it (rollouts, replay buffers, GAE, target networks) is the algorithm.
headstart's one loop (:mod:`headstart.train.loop`) trains on batches of a dataset; the
RL training loop is the one of Stable-Baselines3, the maintained library for these
algorithms, and headstart does not write a second one. What headstart adds are
callbacks on SB3's loop (:class:`Evaluator`): a deterministic evaluation every
``eval_every`` environment steps (the learning curve), a checkpoint at each evaluation
(safetensors + JSON, atomic: ``--resume`` after a kill), a progress bar, early stopping
once the return has held a threshold, and the transfer methods' own callbacks
(distillation's KL steps).

The evaluation is deterministic given the weights: ``eval_episodes`` copies of the
environment, reset with the same seeds at every evaluation, act greedily (the mode of
the policy). The curve's x is the nominal grid ``0, eval_every, 2 * eval_every ...`` (the
evaluation runs at the first callback past each grid point, fewer than ``n_envs`` steps
later). The first point, before any update, is the jumpstart.

Early stopping (``threshold`` and ``hold``): a run stops once its last ``hold``
evaluations are all at or above ``threshold``; the area under its curve is then
computed over the full horizon with the last evaluation carried forward
(:func:`headstart.rl.metrics.carry_forward`), the same horizon as an arm that never
stopped.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from headstart.rl.env import Variant

EVAL_SEED = 1_000_003  # evaluation episodes start from seeds EVAL_SEED + seed * 100 + i


@dataclass
class Settings:
    """How long to train and how to measure it."""

    steps: int = 100_000
    eval_every: int = 2_000
    eval_episodes: int = 5
    threshold: float | None = None
    hold: int = 0  # 0: never stop early

    def to_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "eval_every": self.eval_every, "eval_episodes": self.eval_episodes,
                "threshold": self.threshold, "hold": self.hold}  # fmt: skip


@dataclass
class Result:
    """A training run: its learning curve (``[{"steps", "return", "std"}]``) and what it cost."""

    curve: list[dict[str, float]] = field(default_factory=list)
    steps: int = 0
    stopped_early: bool = False
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Torch on one thread for the run: the networks are tiny (faster so) and the sums' order is fixed."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def evaluate(agent: Any, variant: Variant, episodes: int, seed: int) -> tuple[float, float]:
    """Mean and standard deviation of the return over ``episodes`` greedy episodes from fixed seeds."""
    import numpy as np
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    env = make_vec_env(variant.make, n_envs=episodes, seed=EVAL_SEED + seed * 100)
    try:
        if variant.is_grid:
            from stable_baselines3.common.vec_env import VecTransposeImage

            env = VecTransposeImage(env)
        returns, _ = evaluate_policy(
            agent, env, n_eval_episodes=episodes, deterministic=True, return_episode_rewards=True
        )
    finally:
        env.close()
    return float(np.mean(returns)), float(np.std(returns))


def make_evaluator(**kw: Any) -> Any:
    """An :class:`Evaluator` (SB3's ``BaseCallback`` is imported only when one is made)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class Evaluator(BaseCallback):
        """Evaluate on a grid of env steps, checkpoint, advance the bar, stop once the threshold held."""

        def __init__(
            self,
            variant: Variant,
            settings: Settings,
            seed: int,
            result: Result,
            checkpoint: Callable[[Any, Result], None] | None,
            advance: Callable[[int], None],
        ) -> None:
            super().__init__()
            self.variant, self.settings, self.seed, self.result = variant, settings, seed, result
            self.checkpoint, self.advance = checkpoint, advance
            self.next_eval = (len(result.curve)) * settings.eval_every
            self.last = 0

        def _measure(self) -> None:
            mean, std = evaluate(self.model, self.variant, self.settings.eval_episodes, self.seed)
            self.result.curve.append({"steps": self.next_eval, "return": mean, "std": std})
            self.next_eval += self.settings.eval_every
            self.result.steps = int(self.model.num_timesteps)
            if self.checkpoint is not None:
                self.checkpoint(self.model, self.result)

        def _on_training_start(self) -> None:
            self.last = int(self.model.num_timesteps)
            if not self.result.curve:
                self._measure()  # before any update: the jumpstart

        def held(self) -> bool:
            s = self.settings
            if s.threshold is None or s.hold <= 0 or len(self.result.curve) < s.hold:
                return False
            return all(p["return"] >= s.threshold for p in self.result.curve[-s.hold :])

        def _on_step(self) -> bool:
            now = int(self.model.num_timesteps)
            self.advance(now - self.last)
            self.last = now
            if now >= self.next_eval and self.next_eval <= self.settings.steps:
                self._measure()
                if self.held():
                    self.result.stopped_early = True
                    return False
            return True

    return Evaluator(**kw)


def learn(
    agent: Any,
    variant: Variant,
    settings: Settings,
    seed: int,
    result: Result | None = None,
    callbacks: list[Any] | None = None,
    checkpoint: Callable[[Any, Result], None] | None = None,
    progress: bool | None = None,
    label: str = "",
) -> Result:
    """Train ``agent`` (already built, perhaps from transferred weights) to ``settings.steps`` env steps.

    ``result`` carries a resumed run's curve (its agent loaded from the checkpoint). SB3's
    ``learn`` is the loop; the evaluator records the curve and may stop it early."""
    from stable_baselines3.common.callbacks import CallbackList

    from headstart.progress import bar

    result = result if result is not None else Result()
    done = int(agent.num_timesteps)
    remaining = max(0, settings.steps - done)
    start_cpu, start_wall = time.process_time(), time.time()
    with one_thread(), bar(label or f"training on {variant.spec}", settings.steps, progress) as advance:
        advance(done)
        if remaining > 0 and not result.stopped_early:
            evaluator = make_evaluator(variant=variant, settings=settings, seed=seed, result=result,
                                       checkpoint=checkpoint, advance=advance)  # fmt: skip
            if done:
                agent.get_env().seed(seed + done)  # a resumed run restarts its episodes from known seeds
            agent.learn(remaining, callback=CallbackList([evaluator, *(callbacks or [])]),
                        reset_num_timesteps=done == 0, progress_bar=False)  # fmt: skip
            if not result.stopped_early and result.curve[-1]["steps"] < settings.steps <= agent.num_timesteps:
                evaluator.next_eval = settings.steps
                evaluator._measure()  # the curve always ends at the horizon
    result.steps = int(agent.num_timesteps)
    result.cpu_seconds += time.process_time() - start_cpu
    result.wall_seconds += time.time() - start_wall
    return result
