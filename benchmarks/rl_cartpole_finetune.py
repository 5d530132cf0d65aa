"""Full fine-tuning of the CartPole source onto half-pole length 1.0 (issue 25): which setting gives
the issue's first look (transfer ratio -0.33, negative transfer) when headstart measures +0.50?

Every arm: SB3 PPO at the zoo's CartPole-v1 settings on ``CartPole-v1:length=1.0``, seeds 0-2 (3
seeds, the same environment seeds in every arm), 50k env steps, evaluation every 2k steps (5
greedy episodes from fixed seeds), stop once 3 evaluations in a row reach 475, carried forward.
The transfer arms start from all of the source's weights (``policy``, full fine-tuning); scratch
is the benchmark's own scratch runs (``benchmarks/rl_cartpole.py``, the same seeds and settings).

Settings compared (one at a time against the benchmark's protocol):

- ``restarted``: the benchmark's (headstart's) fine-tuning: the zoo's ``lin_0.001``/``lin_0.2``
  schedules start again from 1e-3 and 0.2 over the target's 50k steps (what
  ``PPO.load(...).learn(50_000)`` does too: ``reset_num_timesteps=True``);
- ``continued``: the source's schedule continued, as SB3's ``learn(50_000,
  reset_num_timesteps=False)`` on the loaded source does: progress runs on from 100k of 150k,
  so the learning rate goes from 3.3e-4 and the clip range from 0.067 down to 0;
- ``early-source``: the source trained by the same protocol with early stopping (3 evaluations
  at >= 475), not to 100k, then the restarted schedule;
- ``continued-10``: headstart's ``policy`` with ``schedule="continue"`` (the same setting as
  ``continued``, as a method option) in the benchmark's own folder, 10 seeds (0-4 are the
  benchmark's runs, 5-9 are trained here, both arms);
- ``horizon``: the benchmark's own curves (restarted, 5 seeds) with the area taken over the
  first H env steps only (no new training).

    nice -n 5 python benchmarks/rl_cartpole_finetune.py --bench /tmp/rl-cartpole --out /tmp/rl-study
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

TARGET = "CartPole-v1:length=1.0"


def summary(name: str, m: dict) -> str:
    t, s = m["arms"]["transfer"], m["arms"]["scratch"]
    lo, hi = m["transfer_ratio"]["ci95"]
    return (f"{name:34s} ratio {m['transfer_ratio']['value']:+.3f} [{lo:+.2f}, {hi:+.2f}] "
            f"area {m['area']['transfer']['mean']:.0f} vs {m['area']['scratch']['mean']:.0f} "
            f"(Welch t {m['area']['t']:+.2f} p {m['area']['p']:.3f}) | median steps to 475 "
            f"{t['median_time']:.0f} vs {s['median_time']:.0f}, never {t['never_reached']}/{s['never_reached']} "
            f"(p {m['time_to_threshold']['p']:.3f}) | jumpstart {m['jumpstart']['transfer']['mean']:.0f} vs "
            f"{m['jumpstart']['scratch']['mean']:.0f} | {m['verdict']}")  # fmt: skip


def continued(start: float, done: int, more: int) -> object:
    """SB3's linear schedule continued: ``learn(more, reset_num_timesteps=False)`` after ``done`` steps."""
    share = more / (done + more)
    return lambda progress_remaining: start * progress_remaining * share


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", type=Path, default=Path("/tmp/rl-cartpole"))
    ap.add_argument("--out", type=Path, default=Path("/tmp/rl-study"))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--cases", default="horizon,restarted,continued,early-source")
    args = ap.parse_args()

    from headstart.rl.env import parse_variant
    from headstart.rl.methods.policy import Policy
    from headstart.rl.metrics import compare
    from headstart.rl.run import train_run
    from headstart.rl.train import Settings
    from headstart.rl.transfer import load_source, rl_transfer

    settings = Settings(50_000, 2_000, 5, 475.0, 3)
    bench = json.loads((args.bench / "length-1.0" / "policy.json").read_text())
    scratch = bench["curves"]["scratch"]
    cases = args.cases.split(",")
    start = time.process_time()
    if "horizon" in cases:
        for h in (4_000, 6_000, 8_000, 10_000, 12_000, 20_000, 50_000):
            m = compare(bench["curves"]["transfer"], scratch, h, 2_000, 475.0)
            print("[horizon] " + summary(f"restarted, 5 seeds, area over {h}", m), flush=True)
    n = args.seeds
    target = parse_variant(TARGET)
    if "restarted" in cases:
        m = compare(bench["curves"]["transfer"][:n], scratch[:n], settings.steps, 2_000, 475.0)
        print("[case] " + summary(f"restarted (benchmark), seeds 0-{n - 1}", m), flush=True)
    if "continued" in cases:
        source = load_source(args.bench / "source")
        done = int(json.loads((args.bench / "source" / "curve.json").read_text())["num_timesteps"])
        hyper = dict(source.config["hyperparameters"])
        hyper["learning_rate"] = continued(1e-3, done, settings.steps)
        hyper["clip_range"] = continued(0.2, done, settings.steps)
        curves, cpu = [], 0.0
        for seed in range(n):
            path = args.out / "continued" / f"seed{seed}.json"
            if path.is_file():
                saved = json.loads(path.read_text())
            else:
                prepare = lambda agent, fresh: Policy().prepare(agent, source, target, fresh)  # noqa: E731
                r = train_run(target, "ppo", hyper, seed, settings, None, prepare=prepare, progress=False).result
                saved = {"curve": r.curve, "cpu_seconds": r.cpu_seconds}
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(saved))
            curves.append(saved["curve"])
            cpu += saved["cpu_seconds"]
            print(f"  continued seed {seed}: " + ", ".join(f"{p['return']:.0f}" for p in saved["curve"]), flush=True)
        m = compare(curves, scratch[:n], settings.steps, 2_000, 475.0)
        print("[case] " + summary(f"continued schedule, seeds 0-{n - 1}", m) + f" | CPU-s {cpu:.0f}", flush=True)
    if "early-source" in cases:
        from headstart.rl.agents import hyperparameters

        v = parse_variant("CartPole-v1")
        early = train_run(v, "ppo", hyperparameters(v, "ppo"), 0, Settings(100_000, 2_000, 5, 475.0, 3),
                          args.out / "source-seed0-early", resume=True, progress=False).result  # fmt: skip
        print(f"[early-source] seed 0 stopped at {early.steps} steps, {early.cpu_seconds:.1f} CPU-s; returns: "
              + ", ".join(f"{p['return']:.0f}" for p in early.curve), flush=True)  # fmt: skip
        out = args.out / "early-source-length-1.0"
        for seed in range(n):  # the benchmark's scratch runs are the same runs: carried over, not trained again
            dst = out / "runs" / f"scratch-seed{seed}"
            if not dst.exists():
                import shutil

                shutil.copytree(args.bench / "length-1.0" / "runs" / f"scratch-seed{seed}", dst)
        r = rl_transfer(args.out / "source-seed0-early", TARGET, "policy", {}, n, settings, out, resume=True,
                        progress=False)  # fmt: skip
        for c in r["curves"]["transfer"]:
            print("  early-source: " + ", ".join(f"{p['return']:.0f}" for p in c), flush=True)
        print("[case] " + summary(f"early-stopped source, seeds 0-{n - 1}", r) +
              f" | CPU-s {r['cpu_seconds']['transfer']:.0f}", flush=True)  # fmt: skip
    if "continued-10" in cases:  # headstart's own option, in the benchmark's folder: seeds 0-4 reused, 5-9 trained
        r = rl_transfer(args.bench / "source", TARGET, "policy", {"schedule": "continue"}, 10, settings,
                        args.bench / "length-1.0", resume=True, progress=False)  # fmt: skip
        cpu = f" | CPU-s {r['cpu_seconds']['transfer']:.0f} + {r['cpu_seconds']['scratch']:.0f}"
        print("[case] " + summary("policy schedule=continue, seeds 0-9", r) + cpu, flush=True)
        for arm in ("transfer", "scratch"):
            print(f"  {arm} steps to 475 per seed: {r['arms'][arm]['time_to_threshold']}; area per seed: "
                  + ", ".join(f"{a:.0f}" for a in r["arms"][arm]["area"]))  # fmt: skip
    print(f"[total] {time.process_time() - start:.0f} CPU-s in this process")


if __name__ == "__main__":
    main()
