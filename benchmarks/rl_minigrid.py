"""Representation transfer on a grid world (issue 25): a frozen encoder learnt in one MiniGrid
layout against an encoder learnt from scratch in another.

Source: SB3 PPO (rl-baselines3-zoo's MiniGrid settings: 8 envs x 128 steps, 10 epochs of
minibatches of 64, lr 2.5e-4, gamma 0.99, GAE 0.95) with headstart's convolutional encoder
over the 7x7x3 egocentric view (:class:`headstart.rl.agents.GridEncoder`, shared by actor
and critic), trained on MiniGrid-Empty-5x5-v0 for 20k env steps (seed 0). Target:
MiniGrid-Empty-8x8-v0 (a larger room: the goal is out of view at the start). Arms, 5 seeds
each (0-4, the same environment seeds): ``representation`` (the source's encoder copied and
frozen; the 64-unit policy and value layers and the heads new and trained) against
``scratch`` (everything, the encoder included, learnt on the target). 40k env steps per run,
evaluation every 2048 steps (5 greedy episodes from fixed seeds), threshold 0.9 (the return
is 1 - 0.9 * steps / max_steps: >= 0.9 is a near-shortest path), a run stops once 3
evaluations in a row reach it and is carried forward to 40k.

    nice -n 5 python benchmarks/rl_minigrid.py --out /tmp/rl-minigrid
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rl_cartpole import line  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("/tmp/rl-minigrid"))
    ap.add_argument("--source", default="MiniGrid-Empty-5x5-v0")
    ap.add_argument("--target", default="MiniGrid-Empty-8x8-v0")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=40_960)
    ap.add_argument("--source-steps", type=int, default=20_480)
    ap.add_argument("--methods", default="representation")
    args = ap.parse_args()

    from headstart.rl.agents import hyperparameters
    from headstart.rl.env import parse_variant
    from headstart.rl.run import train_run
    from headstart.rl.train import Settings
    from headstart.rl.transfer import load_source, rl_transfer, zero_shot

    start = time.process_time()
    variant = parse_variant(args.source)
    trained = train_run(variant, "ppo", hyperparameters(variant, "ppo"), 0, Settings(args.source_steps, 2048, 5),
                        args.out / "source", resume=True, progress=False)  # fmt: skip
    curve = trained.result.curve
    print(f"[source] PPO + grid encoder on {args.source}, {trained.result.steps} env steps, "
          f"{trained.result.cpu_seconds:.1f} CPU-s; returns: " + ", ".join(f"{p['return']:.2f}" for p in curve),
          flush=True)  # fmt: skip
    zs = zero_shot(load_source(args.out / "source"), parse_variant(args.target), episodes=20)
    print(f"[zero-shot] source agent on {args.target}: {zs['mean']:.3f} ± {zs['std']:.3f} (20 episodes)", flush=True)
    settings = Settings(args.steps, 2048, 5, 0.9, 3)
    for method in args.methods.split(","):
        result = rl_transfer(args.out / "source", args.target, method, {}, args.seeds, settings, args.out / "target",
                             resume=True, progress=False)  # fmt: skip
        print("[transfer] " + line(result), flush=True)
        for arm in ("transfer", "scratch"):
            a = result["arms"][arm]
            print(f"  {arm:9s} steps to 0.9 by seed: {a['time_to_threshold']}; area by seed: "
                  + ", ".join(f"{x:.3f}" for x in a["area"]), flush=True)  # fmt: skip
    print(f"[total] {time.process_time() - start:.0f} CPU-s in this process")


if __name__ == "__main__":
    main()
