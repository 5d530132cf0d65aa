"""Transfer in RL on CartPole (issue 25): the source agent, the zero-shot sweep, transfer to a
longer pole against scratch, and a case of negative transfer, all in one run.

1. Source: SB3 PPO at rl-baselines3-zoo's CartPole-v1 settings, seed 0, 100k env steps,
   evaluated every 2k steps (5 greedy episodes from fixed seeds); the first step at 500 and
   the CPU seconds (time.process_time, torch on one thread).
2. Zero-shot: the source agent, unchanged, on variants (gravity, force, cart mass, half-pole
   length 0.5..1.0), 20 episodes each: where transfer has a problem to solve.
3. Target half-pole length 0.8 (the source's is 0.5): each transfer method against scratch,
   5 seeds per arm (seeds 0-4, the same environment seeds in both arms), 50k steps, threshold
   475 (CartPole-v1's own), a run stops once 3 evaluations in a row reach it and its curve is
   carried forward to 50k (both arms' areas over the same horizon). Median steps to 475, the
   area transfer ratio with its bootstrap CI, Welch's t on area and on time, the verdict.
4. Target half-pole length 1.0: full fine-tuning of the source policy against scratch (the
   issue's first look saw negative transfer there), the policy with fresh heads, and full
   fine-tuning that continues the source's learning-rate and clip schedules where the source
   left them (``schedule=continue``: SB3's ``learn(reset_num_timesteps=False)``) instead of
   restarting them (10 seeds: over 5 its negative ratio was not yet significant).
5. Target force_mag=-10 (the push is reversed: action 0 pushes right): full fine-tuning of a
   policy that confidently pushes the wrong way, and the policy with fresh heads.

    nice -n 5 python benchmarks/rl_cartpole.py --out /tmp/rl-cartpole
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

SWEEP = [
    "CartPole-v1",
    "CartPole-v1:gravity=20",
    "CartPole-v1:gravity=30",
    "CartPole-v1:force_mag=2.5",
    "CartPole-v1:force_mag=30",
    "CartPole-v1:masscart=0.2",
    "CartPole-v1:masscart=5",
    "CartPole-v1:length=0.6",
    "CartPole-v1:length=0.7",
    "CartPole-v1:length=0.8",
    "CartPole-v1:length=0.9",
    "CartPole-v1:length=1.0",
]


def line(result: dict) -> str:
    arms = result["arms"]
    ratio = result["transfer_ratio"]
    lo, hi = ratio["ci95"]
    tt = result["time_to_threshold"]
    name = result["method"] + "".join(f" {k}={v}" for k, v in result["options"].items())
    return (
        f"{result['target_env']:26s} {name:26s} {len(result['seeds'])} seeds, median steps to {result['threshold']:g}: "
        f"{arms['transfer']['median_time']:6.0f} vs "
        f"scratch {arms['scratch']['median_time']:6.0f} (x{result['time_ratio']:.2f}; never: "
        f"{arms['transfer']['never_reached']}/{arms['scratch']['never_reached']}; "
        f"Welch t {tt['t']:.2f} p {tt['p']:.3g}) | "
        f"ratio {ratio['value']:+.3f} [{lo:+.3f}, {hi:+.3f}] (area {result['area']['transfer']['mean']:.4g} vs "
        f"{result['area']['scratch']['mean']:.4g}, Welch t {result['area']['t']:.2f} p {result['area']['p']:.3g}) | "
        f"jumpstart {result['jumpstart']['transfer']['mean']:.4g} vs {result['jumpstart']['scratch']['mean']:.4g} | "
        f"asymptotic {result['asymptotic']['transfer']['mean']:.4g} vs {result['asymptotic']['scratch']['mean']:.4g} | "
        f"{result['verdict']} | CPU-s {result['cpu_seconds']['transfer']:.0f} + {result['cpu_seconds']['scratch']:.0f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("/tmp/rl-cartpole"))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=50_000)
    ap.add_argument("--negative-seeds", type=int, default=10, help="seeds for the schedule=continue case")
    ap.add_argument("--source-steps", type=int, default=100_000)
    ap.add_argument("--methods", default="policy:reset_heads=True,policy,value,representation,distill")
    args = ap.parse_args()

    from headstart.cli.common import literal
    from headstart.rl.agents import hyperparameters
    from headstart.rl.env import parse_variant
    from headstart.rl.run import train_run
    from headstart.rl.train import Settings
    from headstart.rl.transfer import load_source, rl_transfer, zero_shot

    start_all = time.process_time()
    source_dir = args.out / "source"
    variant = parse_variant("CartPole-v1")
    trained = train_run(variant, "ppo", hyperparameters(variant, "ppo"), 0,
                        Settings(args.source_steps, 2000, 5), source_dir, resume=True, progress=False)  # fmt: skip
    curve = trained.result.curve
    first500 = next((p["steps"] for p in curve if p["return"] >= 500), None)
    print(f"[source] PPO (zoo CartPole-v1 settings) seed 0, {trained.result.steps} env steps, "
          f"{trained.result.cpu_seconds:.1f} CPU-s, {trained.result.wall_seconds:.1f} wall-s; first evaluation at 500: "
          f"{first500} steps; final return {curve[-1]['return']:.1f}; returns every 10k: "
          + ", ".join(f"{p['return']:.0f}" for p in curve[::5]), flush=True)  # fmt: skip

    source = load_source(source_dir)
    print("[zero-shot] the source agent unchanged, 20 greedy episodes each:")
    for spec in SWEEP:
        zs = zero_shot(source, parse_variant(spec), episodes=20)
        print(f"  {spec:28s} {zs['mean']:6.1f} ± {zs['std']:5.1f}", flush=True)

    settings = Settings(args.steps, 2000, 5, 475.0, 3)
    results = []
    cases = [("CartPole-v1:length=0.8", m) for m in args.methods.split(",")]
    cases += [("CartPole-v1:length=1.0", "policy"), ("CartPole-v1:length=1.0", "policy:reset_heads=True")]
    continued = ("CartPole-v1:length=1.0", "policy:schedule=continue")  # the negative case: 10 seeds (see docs)
    cases += [continued]
    cases += [("CartPole-v1:force_mag=-10", "policy"), ("CartPole-v1:force_mag=-10", "policy:reset_heads=True")]
    for target, how in cases:
        method, _, opts = how.partition(":")
        options = dict(o.split("=") for o in opts.split(";") if o)
        options = {k: literal(v) for k, v in options.items()}
        out = args.out / target.split(":")[1].replace("=", "-")
        seeds = args.negative_seeds if (target, how) == continued else args.seeds
        result = rl_transfer(source_dir, target, method, options, seeds, settings, out, resume=True,
                             progress=False)  # fmt: skip
        (out / f"{method}{''.join(f'-{k}={v}' for k, v in options.items())}.json").write_text(json.dumps(result))
        results.append(result)
        print("[transfer] " + line(result), flush=True)
    print(f"[total] {time.process_time() - start_all:.0f} CPU-s in this process")


if __name__ == "__main__":
    main()
