"""Transfer between environments: a source agent, a target variant, a method against scratch.

``rl_transfer(RUN, "CartPole-v1:length=0.8", method="policy", seeds=5)`` trains the target
agent ``seeds`` times with the method and ``seeds`` times from scratch (seeds 0..n-1, the
same environment seeds in both arms), with the source run's algorithm and
hyper-parameters, and compares the curves (:mod:`headstart.rl.metrics`). With ``out``, each
run is a run folder of its own (``OUT/runs/METHOD[-OPTIONS]-seedN``, ``OUT/runs/scratch-seedN``)
and ``resume=True`` continues an interrupted comparison where it stopped; the summary is
``OUT/rl_transfer.json``.

Before any training the spaces are checked: a method that needs the source's observation
or action space where the target's differs is one line that names the methods that still
apply.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from headstart.errors import HeadstartError
from headstart.io import load_tensors, write_json
from headstart.rl.env import Variant, parse_variant
from headstart.rl.methods._base import Source
from headstart.rl.registry import METHODS
from headstart.rl.run import WEIGHTS, read_config, spaces, train_run
from headstart.rl.train import Settings, evaluate, one_thread

RESULTS = "rl_transfer.json"
KIND = "rl-transfer"


def load_source(run_dir: Path) -> Source:
    """The source agent's config and weights (safetensors); one line when the folder is not a finished RL run."""
    config = read_config(run_dir)
    return Source(config, load_tensors(Path(run_dir) / WEIGHTS), parse_variant(config["env"]))


def mismatches(source: Source, target: Variant) -> tuple[dict[str, str], dict[str, str]]:
    """``({what: "source vs target"} that differ, the target's spaces)``."""
    theirs = spaces(target)
    mine = {
        "observation_space": source.config.get("observation_space"),
        "action_space": source.config.get("action_space"),
    }
    if None in mine.values():
        mine = spaces(source.variant)
    differ = {}
    for what, key in (("observations", "observation_space"), ("actions", "action_space")):
        if mine[key] != theirs[key]:
            differ[what] = f"{mine[key]} in {source.variant.env_id}, {theirs[key]} in {target.env_id}"
    return differ, theirs


def check_compatible(name: str, method: Any, source: Source, target: Variant) -> None:
    """One line when ``method`` needs a space the target does not share with the source."""
    differ, _ = mismatches(source, target)
    bad = [w for w in method.needs(source.algo) if w in differ]
    fits = [
        n
        for n in METHODS.names()
        if source.algo in METHODS.create(n).algos and not any(w in differ for w in METHODS.create(n).needs(source.algo))
    ]
    if source.algo not in method.algos:
        raise HeadstartError(
            f"{name} works with {', '.join(a.upper() for a in method.algos)} agents and the source is "
            f"{source.algo.upper()}; methods that apply: {', '.join(fits)}"
        )
    if not bad:
        return
    what = "; ".join(f"{w}: {differ[w]}" for w in bad)
    raise HeadstartError(
        f"{name} transfer needs the same {' and '.join(f'{w[:-1]} space' for w in bad)} in source and target ({what}); "
        f"methods that still apply: {', '.join(fits)}"
    )


def zero_shot(source: Source, target: Variant, episodes: int = 10, seed: int = 0) -> dict[str, float]:
    """The source agent, unchanged, on the target: mean and std of the greedy return."""
    with one_thread():
        mean, std = evaluate(source.teacher(target), target, episodes, seed)
    return {"mean": mean, "std": std, "episodes": episodes}


def rl_transfer(
    source_dir: Path,
    target: str | Variant,
    method: str = "policy",
    options: dict[str, Any] | None = None,
    seeds: int = 5,
    settings: Settings | None = None,
    out: Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Train the target with ``method`` and from scratch over ``seeds`` seeds; the metrics and the verdict."""
    from headstart.rl.metrics import compare

    source = load_source(Path(source_dir))
    target = parse_variant(target) if isinstance(target, str) else target
    if method == "scratch":
        raise HeadstartError("--method scratch is the baseline every method is compared with; choose a transfer method")
    chosen = METHODS.create(method, **(options or {}))
    check_compatible(method, chosen, source, target)
    settings = settings or Settings(steps=50_000, threshold=target.reward_threshold())
    hyper, algo = source.config["hyperparameters"], source.algo
    arms = {"transfer": chosen, "scratch": METHODS.create("scratch")}
    curves: dict[str, list[Any]] = {"transfer": [], "scratch": []}
    cost: dict[str, float] = {"transfer": 0.0, "scratch": 0.0}
    # Run folders are named by what they train, so comparisons of several methods in one OUT share the
    # scratch runs (same target, hyper-parameters, seed and settings: the same run).
    names = {
        "transfer": method + "".join(f"-{k}={v}" for k, v in sorted((options or {}).items())),
        "scratch": "scratch",
    }
    started = time.process_time()
    for seed in range(seeds):
        for arm, how in arms.items():
            run_dir = Path(out) / "runs" / f"{names[arm]}-seed{seed}" if out is not None else None
            prepare = lambda agent, fresh, how=how: how.prepare(agent, source, target, fresh)  # noqa: E731
            label = f"{method if arm == 'transfer' else 'scratch'} seed {seed + 1}/{seeds} on {target.spec}"
            arm_hyper = how.hyperparameters(dict(hyper), source, settings.steps)
            trained = train_run(target, algo, arm_hyper, seed, settings, run_dir, resume, progress, prepare,
                                extra={"arm": arm, "method": method if arm == "transfer" else "scratch"},
                                label=label)  # fmt: skip
            curves[arm].append(trained.result.curve)
            cost[arm] += trained.result.cpu_seconds
    metrics = compare(curves["transfer"], curves["scratch"], settings.steps, settings.eval_every, settings.threshold)
    result = {
        "kind": KIND,
        "source": str(source_dir),
        "source_env": source.variant.spec,
        "target_env": target.spec,
        "algo": algo,
        "method": method,
        "options": dict(options or {}),
        "seeds": list(range(seeds)),
        "settings": settings.to_dict(),
        "zero_shot": zero_shot(source, target, max(10, settings.eval_episodes)),
        "cpu_seconds": {**cost, "total": time.process_time() - started},
        "curves": curves,
        **metrics,
    }
    if out is not None:
        write_json(Path(out) / RESULTS, result)
    return result
