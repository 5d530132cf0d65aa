"""``headstart rl-train ENV -o RUN``: train a source agent (Stable-Baselines3, the zoo's settings) on an
environment variant; ``headstart rl-transfer RUN TARGET --method policy --seeds 5 -o OUT``: train the
target with a transfer method and from scratch, and compare them (jumpstart, asymptotic return, area
ratio, time to threshold, a verdict)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import command, console
from headstart.cli.report import ReportFlag, require_out, write_report
from headstart.errors import HeadstartError

EnvHelp = (
    "Environment variant ENV_ID[:key=value,...], e.g. CartPole-v1:length=0.8 (the half-pole length), "
    "Acrobot-v1:link_mass_2=2, MountainCar-v0:force=0.0015, Pendulum-v1:g=12, MiniGrid-Empty-8x8-v0."
)
EvalEvery = typer.Option(2000, "--eval-every", min=1, help="Env steps between evaluations (the curve's grid).")
EvalEpisodes = typer.Option(5, "--eval-episodes", min=1, help="Greedy episodes per evaluation (fixed seeds).")
Hold = typer.Option(3, "--hold", min=0, help="Stop a run once this many evaluations in a row reach the threshold.")


def _kept(run_dir: Path) -> Any:
    def kept() -> str | None:
        from headstart.io import read_json

        curve = run_dir / "curve.json"
        if not curve.is_file():
            return None
        return f"at {read_json(curve).get('num_timesteps', '?')} env steps"

    return kept


def _resolve(env: str, algo: str, steps: int | None, hyper: list[str] | None) -> tuple[Any, str, int, dict[str, Any]]:
    from headstart.rl.agents import ZOO_STEPS, check_algo, check_fits, default_algo, family, hyperparameters
    from headstart.rl.env import parse_variant

    variant = parse_variant(env)
    algo = default_algo(variant) if algo == "auto" else check_algo(algo)
    check_fits(algo, variant)
    return variant, algo, steps or ZOO_STEPS[family(variant)], hyperparameters(variant, algo, c.parse_options(hyper))


@command("rl-train")
def rl_train(
    env: str = typer.Argument(..., help=EnvHelp),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder to write (policy.safetensors, curve, config)."),
    algo: str = typer.Option("auto", "--algo", help="ppo, dqn or sac (auto: PPO for discrete actions, SAC else)."),
    steps: int = typer.Option(None, "--steps", min=1, help="Env steps (default: the zoo's budget; CartPole 100000)."),
    eval_every: int = EvalEvery,
    eval_episodes: int = EvalEpisodes,
    stop_at: float = typer.Option(None, "--stop-at", help="Stop early once --hold evaluations reach this return."),
    hold: int = Hold,
    hyper: list[str] = typer.Option(None, "--hyper", help="SB3 hyper-parameter KEY=VALUE, repeatable (n_envs=4)."),
    seed: int = c.Seed,
    resume: bool = c.Resume,
    report: bool = ReportFlag,
) -> None:
    """Train a source agent on ENV (SB3's learn() with headstart's evaluation and checkpoint callbacks)."""
    from headstart.rl.run import CONFIG, can_resume, train_run
    from headstart.rl.train import Settings

    c.check_out(out)
    variant, algo, steps, params = _resolve(env, algo, steps, hyper)
    if (out / CONFIG).is_file() and not (resume and can_resume(out)):
        raise HeadstartError(f"{out} already holds an RL run: use --resume to continue it, or a new --out")
    if resume and can_resume(out):
        _check_same(out, variant.spec, algo)
    settings = Settings(steps, eval_every, eval_episodes, stop_at, hold if stop_at is not None else 0)
    with c.resumable(out, kept=_kept(out)):
        trained = train_run(variant, algo, params, seed, settings, out, resume)
    curve = trained.result.curve
    goal = variant.reward_threshold()
    reached = next((p["steps"] for p in curve if goal is not None and p["return"] >= goal), None)
    console.print(
        f"{algo.upper()} on {variant.spec}: {trained.result.steps} env steps, {trained.result.cpu_seconds:.1f} CPU-s; "
        f"return {curve[0]['return']:.1f} at step 0, {curve[-1]['return']:.1f} at the end"
        + (f"; first reached {goal:g} at {reached} steps" if reached is not None else "")
        + f" -> {out}",
        highlight=False,
    )
    if report:
        write_report(out)


def _check_same(out: Path, spec: str, algo: str) -> None:
    from headstart.io import read_json
    from headstart.rl.run import CONFIG

    saved = read_json(out / CONFIG)
    if (saved.get("env"), saved.get("algo")) != (spec, algo):
        raise HeadstartError(
            f"--resume: {out} trained {str(saved.get('algo')).upper()} on {saved.get('env')}, not {algo.upper()} on "
            f"{spec}; resume with the same ENV and --algo, or use a new --out"
        )


def _check_target(run: Path, target: str, method: str, option: list[str] | None) -> tuple[Any, Any, dict[str, Any]]:
    from headstart.rl.env import parse_variant
    from headstart.rl.registry import METHODS
    from headstart.rl.transfer import check_compatible, load_source

    source = load_source(run)
    variant = parse_variant(target)
    options = c.parse_options(option)
    if method == "scratch":
        raise HeadstartError("--method scratch is the baseline every method is compared with; choose a transfer method")
    check_compatible(method, METHODS.create(method, **options), source, variant)
    return source, variant, options


@command("rl-transfer")
def rl_transfer(
    run: Path = typer.Argument(..., help="The source agent's run folder (headstart rl-train)."),
    target: str = typer.Argument(..., help="Target environment variant, e.g. CartPole-v1:length=0.8."),
    method: str = typer.Option("policy", "--method", "-m", help="RL transfer method: {choices:rl}."),
    option: list[str] = typer.Option(
        None, "--option", help="Method option KEY=VALUE (reset_heads=True, layers=1, schedule=continue)."
    ),
    seeds: int = typer.Option(5, "--seeds", min=2, help="Seeds per arm (0..N-1; the CIs are over them)."),
    steps: int = typer.Option(50_000, "--steps", min=1, help="Env steps per run (the horizon of every curve)."),
    eval_every: int = EvalEvery,
    eval_episodes: int = EvalEpisodes,
    threshold: float = typer.Option(None, "--threshold", help="Return threshold (default: the env's, CartPole 475)."),
    hold: int = Hold,
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write (rl_transfer.json, runs/ARM-seedN)."),
    resume: bool = c.Resume,
    report: bool = ReportFlag,
) -> None:
    """Train TARGET with a transfer method from RUN and from scratch; compare them over seeds (Taylor & Stone 2009)."""
    from headstart.rl.train import Settings
    from headstart.rl.transfer import RESULTS
    from headstart.rl.transfer import rl_transfer as compare

    c.check_out(out)
    require_out(report, out)
    source, variant, options = _check_target(run, target, method, option)
    threshold = threshold if threshold is not None else variant.reward_threshold()
    if threshold is None:
        raise HeadstartError(f"{variant.env_id} has no reward threshold of its own: give --threshold (a return)")
    if not resume and ((out / RESULTS).is_file() or (out / "runs").is_dir()):
        raise HeadstartError(f"{out} already holds an RL transfer comparison: use --resume, or a new --out")
    settings = Settings(steps, eval_every, eval_episodes, threshold, hold)
    with c.resumable(out, kept=lambda: "of every finished run in runs/" if (out / "runs").is_dir() else None):
        result = compare(run, variant, method, options, seeds, settings, out, resume)
    _print(result)
    if report:
        write_report(out)


def _print(r: dict[str, Any]) -> None:
    def both(key: str) -> str:
        m = r[key]
        ci = lambda x: f"{x['mean']:.1f} ± {x['ci95']:.1f}" if x["ci95"] is not None else f"{x['mean']:.1f}"  # noqa: E731
        return f"{key.replace('_', ' ')}: {ci(m['transfer'])} vs {ci(m['scratch'])} (p {m['p']:.3g})"

    ratio = r["transfer_ratio"]
    lo, hi = ratio["ci95"]
    arms = r["arms"]
    lines = [
        f"{r['method']} from {r['source_env']} to {r['target_env']}, {len(r['seeds'])} seeds per arm, "
        f"zero-shot return {r['zero_shot']['mean']:.1f}",
        *(both(k) for k in ("jumpstart", "asymptotic", "area", "time_to_threshold")),
        f"median steps to {r['threshold']:g}: {arms['transfer']['median_time']:.0f} vs "
        f"{arms['scratch']['median_time']:.0f}"
        f" ({arms['transfer']['never_reached']} / {arms['scratch']['never_reached']} runs never reached it)",
        f"transfer ratio (area): {ratio['value']:+.3f}" + (f" [95% CI {lo:+.3f}, {hi:+.3f}]" if lo is not None else ""),
        f"verdict: {r['verdict']} ({r['reading']})",
    ]
    console.print("\n".join(lines), highlight=False)
