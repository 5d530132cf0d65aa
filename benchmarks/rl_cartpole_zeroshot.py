"""Zero-shot CartPole sweep (issue 25, check of its first look) over several source seeds, two ways.

For each source run folder (SB3 PPO at the zoo's CartPole-v1 settings, 100k env steps; seed 0 is
``benchmarks/rl_cartpole.py``'s, ``--train-seeds 1 2 3`` trains more into ``--out``/source-seedN,
evaluated every 10k steps, which does not change the training), each variant of the sweep is
evaluated

- by headstart: ``headstart.rl.transfer.zero_shot`` (20 greedy episodes, the benchmark's numbers);
- by a minimal hand-written loop, independent of headstart's evaluation: ``gymnasium.make``,
  the parameter set on ``env.unwrapped`` (``total_mass``/``polemass_length`` derived again),
  100 episodes from seeds 5000..5099, the policy's greedy action and, separately, a sampled one
  (``deterministic=False``, the way PPO acts while it trains);
- for the cart-mass and pole-length variants also without deriving ``total_mass`` and
  ``polemass_length`` again (what setting the attribute alone does: ``step`` reads only the
  derived two, so ``masscart`` alone changes nothing and ``length`` alone changes only the
  angular acceleration's denominator);
- and it checks that the environments headstart's evaluation steps really hold the values
  (gravity, force_mag, total_mass, polemass_length after reset).

    nice -n 5 python benchmarks/rl_cartpole_zeroshot.py --sources /tmp/rl-cartpole/source \
        --train-seeds 1 2 3 --out /tmp/rl-study
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

SWEEP = [
    "CartPole-v1", "CartPole-v1:gravity=20", "CartPole-v1:gravity=25", "CartPole-v1:gravity=30",
    "CartPole-v1:force_mag=2.5", "CartPole-v1:force_mag=5", "CartPole-v1:force_mag=30",
    "CartPole-v1:masscart=0.2", "CartPole-v1:masscart=2", "CartPole-v1:masscart=5",
    "CartPole-v1:length=0.6", "CartPole-v1:length=0.7", "CartPole-v1:length=0.8", "CartPole-v1:length=1.0",
]  # fmt: skip


def hand_made(spec: str, derive: bool = True) -> object:
    """CartPole with the parameters set by hand (no headstart code)."""
    import gymnasium as gym

    env = gym.make("CartPole-v1")
    core = env.unwrapped
    _, _, rest = spec.partition(":")
    for item in [i for i in rest.split(",") if i]:
        key, _, value = item.partition("=")
        setattr(core, key, float(value))
    if derive:
        core.total_mass = core.masspole + core.masscart
        core.polemass_length = core.masspole * core.length
    return env


def returns(agent: object, spec: str, episodes: int, deterministic: bool, derive: bool = True) -> np.ndarray:
    """``episodes`` episodes stepped side by side, one batched forward per step."""
    import torch

    torch.manual_seed(0)
    envs = [hand_made(spec, derive) for _ in range(episodes)]
    obs = np.stack([e.reset(seed=5000 + i)[0] for i, e in enumerate(envs)])
    total, alive = np.zeros(episodes), np.ones(episodes, bool)
    while alive.any():
        actions, _ = agent.predict(obs, deterministic=deterministic)
        for i in np.flatnonzero(alive):
            o, r, term, trunc, _ = envs[i].step(int(actions[i]))
            obs[i], total[i] = o, total[i] + r
            alive[i] = not (term or trunc)
    return total


def check_eval_envs(spec: str) -> str:
    """The physical values in the environments headstart's evaluation steps (after a reset)."""
    from stable_baselines3.common.env_util import make_vec_env

    from headstart.rl.env import parse_variant

    vec = make_vec_env(parse_variant(spec).make, n_envs=2, seed=1)
    vec.reset()
    core = vec.envs[1].unwrapped
    vec.close()
    return (f"g {core.gravity:g} F {core.force_mag:g} M {core.total_mass:g} "
            f"ml {core.polemass_length:g} l {core.length:g}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", nargs="*", type=Path, default=[])
    ap.add_argument("--train-seeds", nargs="*", type=int, default=[])
    ap.add_argument("--out", type=Path, default=Path("/tmp/rl-study"))
    ap.add_argument("--episodes", type=int, default=100)
    args = ap.parse_args()

    from headstart.rl.env import parse_variant
    from headstart.rl.train import one_thread
    from headstart.rl.transfer import load_source, zero_shot

    start = time.process_time()
    for seed in args.train_seeds:
        from headstart.rl.agents import hyperparameters
        from headstart.rl.run import train_run
        from headstart.rl.train import Settings

        v, run = parse_variant("CartPole-v1"), args.out / f"source-seed{seed}"
        r = train_run(v, "ppo", hyperparameters(v, "ppo"), seed, Settings(100_000, 10_000, 5), run, resume=True,
                      progress=False).result  # fmt: skip
        print(f"[source] seed {seed}: {r.steps} steps, {r.cpu_seconds:.1f} CPU-s (when trained); returns every 10k: "
              + ", ".join(f"{p['return']:.0f}" for p in r.curve), flush=True)  # fmt: skip
        args.sources.append(run)
    for spec in SWEEP:
        print(f"[env] {spec:28s} evaluation envs hold: {check_eval_envs(spec)}", flush=True)
    table: dict[str, dict[str, list[str]]] = {}
    for src in args.sources:
        source = load_source(src)
        seed = source.config["seed"]
        with one_thread():
            for spec in SWEEP:
                zs = zero_shot(source, parse_variant(spec), episodes=20)
                agent = source.teacher(parse_variant(spec))
                g = returns(agent, spec, args.episodes, True)
                s = returns(agent, spec, args.episodes, False)
                cells = [f"{zs['mean']:.0f}", f"{g.mean():.0f} ({(g >= 475).mean():.0%})",
                         f"{s.mean():.0f} ({(s >= 475).mean():.0%})"]  # fmt: skip
                if "masscart" in spec or "length" in spec:
                    n = returns(agent, spec, args.episodes, True, derive=False)
                    cells.append(f"{n.mean():.0f}")
                table.setdefault(spec, {})[f"seed {seed}"] = cells
                print(f"[zero-shot] source seed {seed} {spec:28s} headstart greedy(20) {cells[0]:>4s} | by hand "
                      f"greedy({args.episodes}) {cells[1]:>10s} | sampled {cells[2]:>10s}"
                      + (f" | greedy, not derived {cells[3]}" if len(cells) > 3 else ""), flush=True)  # fmt: skip
    print("\n| variant | " + " | ".join(f"source seed {k.split()[1]}: headstart / greedy / sampled" for k in
                                         table[SWEEP[0]]) + " |")  # fmt: skip
    for spec, row in table.items():
        print(
            f"| {spec.partition(':')[2] or 'default'} | " + " | ".join(" / ".join(c[:3]) for c in row.values()) + " |"
        )
    print(f"[total] {time.process_time() - start:.0f} CPU-s")


if __name__ == "__main__":
    main()
