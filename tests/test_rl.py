"""headstart.rl: environment variants, SB3 agents trained through SB3's loop with headstart's
callbacks, safetensors run folders, the transfer methods, the Taylor & Stone metrics, the commands.

Tiny budgets (a few hundred to 2k env steps of PPO on CartPole): seconds, no download.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import assert_one_error_line, cli

from headstart.errors import HeadstartError
from headstart.rl.agents import hyperparameters, weights
from headstart.rl.env import parse_variant
from headstart.rl.metrics import area, carry_forward, compare, time_to_threshold
from headstart.rl.run import load_agent, train_run
from headstart.rl.train import Settings

CARTPOLE = parse_variant("CartPole-v1")
TINY = Settings(steps=512, eval_every=256, eval_episodes=2)


def reference_cartpole_step(state, action, g, mc, mp, half, force, tau):
    """One Euler step of the cart-pole equations (Florian 2005), written from the paper, not from gymnasium."""
    x, x_dot, th, th_dot = state
    f = force if action == 1 else -force
    total = mc + mp
    temp = (f + mp * half * th_dot**2 * math.sin(th)) / total
    th_acc = (g * math.sin(th) - math.cos(th) * temp) / (half * (4 / 3 - mp * math.cos(th) ** 2 / total))
    x_acc = temp - mp * half * th_acc * math.cos(th) / total
    return [x + tau * x_dot, x_dot + tau * x_acc, th + tau * th_dot, th_dot + tau * th_acc]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A source agent on default CartPole, trained 512 env steps, in a run folder."""
    run = tmp_path_factory.mktemp("rl") / "source"
    train_run(CARTPOLE, "ppo", hyperparameters(CARTPOLE, "ppo"), 0, TINY, run, progress=False)
    return run


# ------------------------------------------------------------------ variants
def test_a_variant_changes_the_physics_consistently():
    v = parse_variant("CartPole-v1:length=1.0,masspole=0.2,masscart=2,gravity=12,force=15")
    env = v.make()
    core = env.unwrapped
    assert (core.length, core.masspole, core.masscart, core.gravity, core.force_mag) == (1.0, 0.2, 2.0, 12.0, 15.0)
    assert core.total_mass == pytest.approx(2.2) and core.polemass_length == pytest.approx(0.2)
    env.reset(seed=0)
    start = [0.01, -0.2, 0.05, 0.3]
    core.state = np.array(start)
    after, *_ = env.step(1)
    expected = reference_cartpole_step(start, 1, 12.0, 2.0, 0.2, 1.0, 15.0, 0.02)
    np.testing.assert_allclose(after, expected, rtol=1e-5)
    default = parse_variant("CartPole-v1").make().unwrapped
    assert (default.length, default.polemass_length, default.total_mass) == (0.5, pytest.approx(0.05), 1.1)


def test_the_envs_that_train_and_evaluate_hold_the_variant_after_reset():
    # The parameters live on env.unwrapped: gymnasium 1.x wrappers no longer forward attribute writes
    # (`env.gravity = 30` on gym.make's TimeLimit leaves the physics at 9.8), and a reset keeps them.
    from stable_baselines3.common.env_util import make_vec_env

    from headstart.rl.agents import make_env
    from headstart.rl.train import EVAL_SEED

    v = parse_variant("CartPole-v1:gravity=30,masscart=5,length=0.8,force_mag=2.5")
    for vec in (make_env(v, 2, 0), make_vec_env(v.make, n_envs=2, seed=EVAL_SEED)):
        vec.reset()
        vec.step(np.array([1, 0]))
        for env in vec.envs:
            core = env.unwrapped
            got = (core.gravity, core.masscart, core.length, core.force_mag, core.total_mass, core.polemass_length)
            assert got == pytest.approx((30.0, 5.0, 0.8, 2.5, 5.1, 0.08))
        vec.close()


def test_other_families_and_minigrid_layouts():
    acro = parse_variant("Acrobot-v1:link_mass_2=2,dt=0.1").make().unwrapped
    assert (acro.LINK_MASS_2, acro.dt, type(acro).LINK_MASS_2) == (2.0, 0.1, 1.0)  # the class keeps its default
    car = parse_variant("MountainCar-v0:force=0.002").make().unwrapped
    assert car.force == 0.002 and car.gravity == 0.0025
    grid = parse_variant("MiniGrid-Empty-8x8-v0:size=6").make()
    assert grid.observation_space.shape == (7, 7, 3) and grid.unwrapped.width == 6


@pytest.mark.parametrize(
    ("spec", "fragments"),
    [
        ("CartPol-v1", ("unknown environment 'CartPol-v1'", "did you mean 'CartPole-v1'", "MiniGrid layouts")),
        ("CartPole-v1:lenght=1", ("no parameter 'lenght'", "did you mean 'length'", "(parameters: gravity")),
        (
            "CartPole-v1:length=long",
            (
                "length=long",
                "must be a number",
            ),
        ),
        ("CartPole-v1:length=-1", ("length must be > 0",)),
        ("CartPole-v1:force=1,force_mag=2", ("force and force_mag are the same parameter",)),
        ("Acrobot-v1:x_threshold=3", ("Acrobot-v1 has no parameter 'x_threshold'",)),
        ("CartPole-v1:length", ("not KEY=VALUE",)),
    ],
)
def test_bad_variants_are_one_line(spec, fragments):
    with pytest.raises(HeadstartError) as e:
        parse_variant(spec)
    assert "\n" not in str(e.value)
    for f in fragments:
        assert f in str(e.value)


# ------------------------------------------------------------------ training
def test_same_seed_same_curve_and_another_seed_another():
    settings = Settings(steps=2048, eval_every=512, eval_episodes=2)
    hyper = hyperparameters(CARTPOLE, "ppo")
    a = train_run(CARTPOLE, "ppo", hyper, 3, settings, progress=False)
    b = train_run(CARTPOLE, "ppo", hyper, 3, settings, progress=False)
    assert a.result.curve == b.result.curve and len(a.result.curve) == 5
    assert all(torch.equal(x, y) for x, y in zip(weights(a.agent).values(), weights(b.agent).values(), strict=True))
    from headstart.rl.agents import build_agent

    three, four = (weights(build_agent(CARTPOLE, "ppo", hyper, s)) for s in (3, 4))
    assert not torch.equal(three["action_net.weight"], four["action_net.weight"])  # the seed sets the initialisation


def test_the_run_folder_round_trips_without_pickles(source):
    names = sorted(p.name for p in source.iterdir())
    assert names == ["curve.json", "optimizer.json", "optimizer.safetensors", "policy.safetensors", "rl_config.json"]
    agent, config = load_agent(source)
    again, _ = load_agent(source)
    assert config["finished"] and config["env"] == "CartPole-v1" and config["action_space"] == "Discrete(2)"
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    np.testing.assert_array_equal(agent.predict(obs, deterministic=True)[0], again.predict(obs, deterministic=True)[0])
    from headstart.io import load_tensors

    saved = load_tensors(source / "policy.safetensors")
    assert all(torch.equal(saved[k], v) for k, v in weights(agent).items())
    assert any(k.endswith("exp_avg") for k in load_tensors(source / "optimizer.safetensors"))


def test_an_interrupted_run_resumes_to_the_end(tmp_path, monkeypatch):
    from headstart.rl import run as run_module

    settings = Settings(steps=1024, eval_every=256, eval_episodes=2)
    hyper = hyperparameters(CARTPOLE, "ppo")
    real = run_module.save_checkpoint
    calls = []

    def dies_after_two(*args, **kw):
        real(*args, **kw)
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "save_checkpoint", dies_after_two)
    with pytest.raises(KeyboardInterrupt):
        train_run(CARTPOLE, "ppo", hyper, 0, settings, tmp_path / "r", progress=False)
    monkeypatch.setattr(run_module, "save_checkpoint", real)
    from headstart.io import read_json

    kept = read_json(tmp_path / "r" / "curve.json")
    assert [p["steps"] for p in kept["curve"]] == [0, 256] and not read_json(tmp_path / "r" / "rl_config.json")[
        "finished"
    ]
    done = train_run(CARTPOLE, "ppo", hyper, 0, settings, tmp_path / "r", resume=True, progress=False)
    assert [p["steps"] for p in done.result.curve] == [0, 256, 512, 768, 1024]
    assert done.result.curve[:2] == kept["curve"] and done.result.steps >= 1024
    assert read_json(tmp_path / "r" / "rl_config.json")["finished"]


def test_a_run_folder_resumes_only_its_own_run(source):
    other = parse_variant("CartPole-v1:length=0.8")
    with pytest.raises(HeadstartError, match="holds a run with env 'CartPole-v1', not 'CartPole-v1:length=0.8'"):
        train_run(other, "ppo", hyperparameters(other, "ppo"), 0, TINY, source, resume=True, progress=False)


def test_a_run_folder_resumes_only_with_its_own_settings(source):
    other = Settings(steps=TINY.steps, eval_every=128, eval_episodes=TINY.eval_episodes)
    with pytest.raises(HeadstartError, match="holds a run with settings .*'eval_every': 256"):
        train_run(CARTPOLE, "ppo", hyperparameters(CARTPOLE, "ppo"), 0, other, source, resume=True, progress=False)


def test_early_stop_once_the_threshold_held():
    settings = Settings(steps=4096, eval_every=256, eval_episodes=1, threshold=0.0, hold=2)
    done = train_run(CARTPOLE, "ppo", hyperparameters(CARTPOLE, "ppo"), 0, settings, progress=False)
    assert done.result.stopped_early and len(done.result.curve) == 2 and done.result.steps < 4096


# ------------------------------------------------------------------ transfer methods
@pytest.mark.parametrize(
    ("method", "options"),
    [("policy", {}), ("policy", {"reset_heads": True}), ("policy", {"layers": 1}), ("value", {}),
     ("representation", {}), ("distill", {"steps": 256, "epochs": 2})],
)  # fmt: skip
def test_each_method_builds_and_trains(method, options, source, tmp_path):
    from headstart.io import load_tensors
    from headstart.rl.transfer import rl_transfer

    target = "CartPole-v1:length=0.8"
    settings = Settings(steps=256, eval_every=256, eval_episodes=1, threshold=475, hold=0)
    result = rl_transfer(source, target, method, options, 2, settings, tmp_path / "out", progress=False)
    assert result["verdict"] and len(result["curves"]["transfer"]) == 2 and result["arms"]["scratch"]["seeds"] == 2
    assert (tmp_path / "out" / "rl_transfer.json").is_file()
    theirs = load_tensors(source / "policy.safetensors")
    name = method + "".join(f"-{k}={v}" for k, v in sorted(options.items()))
    fresh = {k: v for k, v in weights(_fresh(target)).items()}
    trained = load_tensors(tmp_path / "out" / "runs" / f"{name}-seed0" / "policy.safetensors")
    if method == "representation":  # frozen: the encoder is the source's, exactly, after training
        for k in theirs:
            if k.startswith("mlp_extractor."):
                assert torch.equal(trained[k], theirs[k]), k
        assert not torch.equal(trained["action_net.weight"], theirs["action_net.weight"])
    if method == "policy" and options.get("reset_heads"):
        assert not torch.equal(trained["action_net.weight"], theirs["action_net.weight"])
    del fresh


def _fresh(spec):
    from headstart.rl.agents import build_agent

    v = parse_variant(spec)
    return build_agent(v, "ppo", hyperparameters(v, "ppo"), 0)


def test_what_each_method_copies_and_freezes(source):
    from headstart.rl.methods._base import parts
    from headstart.rl.registry import METHODS
    from headstart.rl.transfer import load_source

    src = load_source(source)
    target = parse_variant("CartPole-v1:length=0.8")
    table = parts(list(src.tensors))
    assert table["action_net.weight"].kind == "head" and table["mlp_extractor.policy_net.2.weight"].depth == 1
    assert table["mlp_extractor.value_net.0.bias"].side == "value" and table["value_net.bias"].side == "value"

    def after(name, **options):
        agent = _fresh(target.spec)
        before = weights(agent)
        METHODS.create(name, **options).prepare(agent, src, target, fresh=True)
        now = weights(agent)
        same = {k for k in now if torch.equal(now[k], src.tensors[k])}
        kept = {k for k in now if torch.equal(now[k], before[k])}
        frozen = {n for n, p in agent.policy.named_parameters() if not p.requires_grad}
        return same, kept, frozen

    same, _, frozen = after("policy")
    assert same == set(src.tensors) and not frozen
    same, kept, _ = after("policy", reset_heads=True)
    assert {"action_net.weight", "value_net.weight"} <= kept and "mlp_extractor.policy_net.0.weight" in same
    same, kept, _ = after("policy", layers=1)
    assert "mlp_extractor.policy_net.0.weight" in same and "mlp_extractor.policy_net.2.weight" in kept
    same, kept, _ = after("value")
    assert {k for k in same if not k.startswith(("mlp_extractor.value_net", "value_net"))} == set()
    assert "action_net.weight" in kept
    same, kept, frozen = after("representation")
    assert frozen == {k for k in src.tensors if k.startswith("mlp_extractor.")} and "action_net.weight" in kept
    same, _, _ = after("scratch")
    assert not same


def test_distillation_moves_the_student_towards_the_teacher(source):
    from headstart.rl.methods.distill import Distill, _kl
    from headstart.rl.transfer import load_source

    src = load_source(source)
    target = parse_variant("CartPole-v1:length=0.8")
    teacher = src.teacher(target)
    obs = torch.as_tensor(np.random.default_rng(0).normal(scale=0.1, size=(256, 4)).astype(np.float32))

    def gap(agent):
        with torch.no_grad():
            t = teacher.policy.get_distribution(obs).distribution
            return float(_kl(t, agent.policy.get_distribution(obs).distribution).mean())

    agent = _fresh(target.spec)
    before = gap(agent)
    callbacks = Distill(steps=2048, epochs=8).prepare(agent, src, target, fresh=True)
    agent.learn(512, callback=callbacks)
    assert gap(agent) < before * 0.5


def test_policy_transfer_across_action_spaces_names_what_still_applies(source):
    from headstart.rl.transfer import rl_transfer

    with pytest.raises(HeadstartError) as e:
        rl_transfer(source, "Acrobot-v1", "policy", seeds=2, settings=TINY)
    msg = str(e.value)
    assert "policy transfer needs the same observation space and action space" in msg
    assert "Discrete(2) in CartPole-v1, Discrete(3) in Acrobot-v1" in msg and msg.endswith("still apply: scratch")
    with pytest.raises(HeadstartError, match="choose a transfer method"):
        rl_transfer(source, "CartPole-v1", "scratch", seeds=2, settings=TINY)


def test_when_only_the_actions_differ_the_value_and_the_encoder_still_apply(source):
    from dataclasses import replace

    from headstart.rl.registry import METHODS
    from headstart.rl.transfer import check_compatible, load_source

    src = load_source(source)
    other = replace(src, config={**src.config, "action_space": "Discrete(3)"})  # a source with three actions
    target = parse_variant("CartPole-v1")
    for name in ("value", "representation", "scratch"):
        check_compatible(name, METHODS.create(name), other, target)
    with pytest.raises(HeadstartError) as e:
        check_compatible("distill", METHODS.create("distill"), other, target)
    assert str(e.value).startswith("distill transfer needs the same action space in source and target (actions: ")
    assert str(e.value).endswith("methods that still apply: scratch, value, representation")


def test_a_dqn_source_transfers_its_q_network_and_distill_says_what_applies(tmp_path):
    from headstart.rl.registry import METHODS
    from headstart.rl.transfer import check_compatible, load_source, rl_transfer

    hyper = hyperparameters(CARTPOLE, "dqn", {"learning_starts": 64, "train_freq": 64, "gradient_steps": 4})
    train_run(CARTPOLE, "dqn", hyper, 0, Settings(steps=256, eval_every=256, eval_episodes=1), tmp_path / "dqn")
    src = load_source(tmp_path / "dqn")
    settings = Settings(steps=256, eval_every=256, eval_episodes=1, threshold=475)
    result = rl_transfer(tmp_path / "dqn", "CartPole-v1:length=0.8", "value", {}, 2, settings, tmp_path / "o")
    assert result["algo"] == "dqn" and result["verdict"]
    from headstart.rl.agents import build_agent

    target = parse_variant("CartPole-v1:length=0.8")
    agent = build_agent(target, "dqn", hyper, 1)
    METHODS.create("value").prepare(agent, src, target, fresh=True)
    copied = weights(agent)
    assert any(k.startswith("q_net.q_net.") for k in copied)
    assert all(torch.equal(copied[k], src.tensors[k]) for k in copied)  # DQN's Q-network (and its target) is all
    with pytest.raises(HeadstartError, match="distill works with PPO agents and the source is DQN; methods that apply"):
        check_compatible("distill", METHODS.create("distill"), src, parse_variant("CartPole-v1"))


# ------------------------------------------------------------------ metrics
def _curve(values, every=1000):
    return [{"steps": i * every, "return": float(v)} for i, v in enumerate(values)]


def test_metrics_on_hand_made_curves():
    steps, values = carry_forward(_curve([10, 200, 500]), 4000, 1000)  # stopped early at 2000: carried forward
    assert steps.tolist() == [0, 1000, 2000, 3000, 4000] and values.tolist() == [10, 200, 500, 500, 500]
    assert area(steps, values) == pytest.approx((105 + 350 + 500 + 500) * 1000 / 4000)  # 363.75
    assert time_to_threshold(steps, values, 475) == 2000 and time_to_threshold(steps, values, 501) is None
    _, off_grid = carry_forward(_curve([0, 100]), 1500, 1000)
    assert off_grid.tolist() == [0, 100, 100]


def test_the_verdict_is_gated_on_time_and_area_not_jumpstart():
    fast = [_curve([20, 480 + s, 500, 500, 500]) for s in range(5)]  # 475 at 1000 steps
    slow = [_curve([20, 30 + s, 100, 480, 500]) for s in range(5)]  # 475 at 3000 steps
    helps = compare(fast, slow, 4000, 1000, 475)
    assert helps["verdict"] == "transfer helps"
    assert helps["arms"]["transfer"]["median_time"] == 1000 and helps["arms"]["scratch"]["median_time"] == 3000
    assert helps["time_ratio"] == pytest.approx(1 / 3)
    a_fast = (10 + 490) / 2 + 490 + 500 + 500  # mean over seeds of each 1000-step trapezoid, / 4 below
    assert helps["area"]["transfer"]["mean"] == pytest.approx(np.mean([(20 + 480 + s) / 2 + (480 + s + 500) / 2 + 1000
                                                                         for s in range(5)]) / 4)  # fmt: skip
    assert a_fast > 0
    sa = np.mean([((20 + 30 + s) / 2 + (30 + s + 100) / 2 + (100 + 480) / 2 + (480 + 500) / 2) / 4 for s in range(5)])
    assert helps["transfer_ratio"]["value"] == pytest.approx((helps["area"]["transfer"]["mean"] - sa) / sa)
    lo, hi = helps["transfer_ratio"]["ci95"]
    assert lo <= helps["transfer_ratio"]["value"] <= hi
    hurts = compare(slow, fast, 4000, 1000, 475)
    assert hurts["verdict"] == "negative transfer" and hurts["transfer_ratio"]["value"] < 0
    jump = [_curve([400 + s, 30 + s, 100, 480, 500]) for s in range(5)]  # a high first evaluation, same learning
    same = compare(jump, slow, 4000, 1000, 475)
    assert same["jumpstart"]["p"] < 0.05 and same["time_to_threshold"]["p"] == 1.0
    assert same["verdict"] in ("no significant difference", "transfer helps")
    assert same["verdict"] == "transfer helps" or same["area"]["p"] >= 0.05
    never = compare([_curve([0, 0, 0, 0, 0]) for _ in range(3)], slow[:3], 4000, 1000, 475)
    assert never["arms"]["transfer"]["never_reached"] == 3 and never["arms"]["transfer"]["median_time"] == 4000


# ------------------------------------------------------------------ commands
def test_rl_train_then_rl_transfer_then_the_report(tmp_path, capsys):
    run, out = tmp_path / "src", tmp_path / "cmp"
    code, stdout, err = cli(capsys, "rl-train", "CartPole-v1", "-o", run, "--steps", "512", "--eval-every", "256",
                            "--eval-episodes", "1")  # fmt: skip
    assert code == 0, err
    assert "PPO on CartPole-v1" in stdout and (run / "policy.safetensors").is_file()
    assert_one_error_line(
        cli(capsys, "rl-train", "CartPole-v1", "-o", run, "--steps", "512"), "already holds an RL run"
    )
    code, stdout, err = cli(capsys, "rl-transfer", run, "CartPole-v1:length=0.8", "--seeds", "2", "--steps", "512",
                            "--eval-every", "256", "--eval-episodes", "1", "-o", out, "--option", "reset_heads=True",
                            "--report")  # fmt: skip
    assert code == 0, err
    assert "transfer ratio (area)" in stdout and "verdict:" in stdout
    html = (out / "report.html").read_text()
    assert "RL transfer" in html and "data:image/png;base64" in html
    code, _, err = cli(capsys, "report", run, "-q")
    assert code == 0 and "RL agent" in (run / "report.html").read_text()
    assert_one_error_line(
        cli(capsys, "rl-train", "CartPole-v1:length=0.8", "-o", run, "--resume"), "trained PPO on CartPole-v1"
    )


def test_ctrl_c_in_rl_train_says_how_to_resume(tmp_path, capsys, monkeypatch):
    from headstart.rl import run as run_module

    real = run_module.save_checkpoint

    def dies(*args, **kw):
        real(*args, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "save_checkpoint", dies)
    code, _, err = cli(capsys, "rl-train", "CartPole-v1", "-o", tmp_path / "r", "--steps", "512")
    assert code == 130 and "keeps its checkpoint at 0 env steps" in err and "--resume" in err


def test_policy_can_continue_the_source_schedule_instead_of_restarting_it(source, tmp_path):
    import json

    from headstart.rl.agents import build_agent
    from headstart.rl.methods.policy import Policy
    from headstart.rl.transfer import rl_transfer

    settings = Settings(steps=256, eval_every=256, eval_episodes=1, threshold=475, hold=0)
    rl_transfer(source, "CartPole-v1:length=0.8", "policy", {"schedule": "continue"}, 1, settings, tmp_path,
                progress=False)  # fmt: skip
    read = lambda name: json.loads((tmp_path / "runs" / name / "rl_config.json").read_text())["hyperparameters"]  # noqa: E731
    share = 256 / (TINY.steps + 256)  # SB3's learn(256, reset_num_timesteps=False) after the source's steps
    mine, scratch = read("policy-schedule=continue-seed0"), read("scratch-seed0")
    assert mine["learning_rate"] == f"lin_{1e-3 * share:.6g}" and mine["clip_range"] == f"lin_{0.2 * share:.6g}"
    assert (scratch["learning_rate"], scratch["clip_range"]) == ("lin_0.001", "lin_0.2")  # scratch restarts
    assert {k: v for k, v in mine.items() if k not in ("learning_rate", "clip_range")} == {
        k: v for k, v in scratch.items() if k not in ("learning_rate", "clip_range")
    }
    agent = build_agent(CARTPOLE, "ppo", mine, 0)
    assert agent.lr_schedule(1.0) == pytest.approx(1e-3 * share, rel=1e-5)
    assert agent.clip_range(0.5) == pytest.approx(0.1 * share, rel=1e-5)
    with pytest.raises(HeadstartError, match="schedule must be one of restart, continue"):
        Policy(schedule="resume")
