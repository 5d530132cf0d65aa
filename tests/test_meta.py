"""Meta-learning (issue 22): the meta-gradient against finite differences, every method trains
through the one loop and adapts at test time, the run folder, resume, bad input, the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import headstart as hs
from headstart.backbones.base import Backbone
from headstart.backbones.embedded import IdentityBackbone
from headstart.errors import HeadstartError
from headstart.meta import evaluate, meta_train
from headstart.meta.base import MetaBatches, new_meta_model, predict_labels
from headstart.meta.registry import METHODS
from headstart.meta.run import load_run, save_run


class TinyMLP(Backbone):
    """A two-layer tanh network: smooth, so finite differences are exact to ~1e-9 in float64."""

    modality = "tabular"

    def __init__(self, d_in: int = 4, d_out: int = 5) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, 6), nn.Tanh(), nn.Linear(6, d_out))
        self.feature_dim, self.spec = d_out, "tiny-mlp"

    def preprocess(self, raw):
        return torch.as_tensor(np.asarray(raw, dtype=np.float32))

    def forward_features(self, x):
        return self.net(x)


def meta_gradient(method: str, x: torch.Tensor, **options) -> tuple[torch.Tensor, torch.Tensor]:
    """(autograd meta-gradient, central finite differences of the same outer loss) on a float64 tiny model."""
    torch.manual_seed(0)
    model = new_meta_model(TinyMLP(), METHODS.create(method, inner_steps=2, inner_lr=0.5, **options), 3, 1, 2, 0)
    model = model.double().train()
    params = list(model.parameters())
    grad = torch.cat([g.reshape(-1) for g in torch.autograd.grad(model(x).mean(), params)])
    flat = nn.utils.parameters_to_vector(params).detach()
    fd = torch.empty_like(flat)
    eps = 1e-6
    for i in range(len(flat)):  # the inner loop differentiates: no torch.no_grad here
        up, down = flat.clone(), flat.clone()
        up[i] += eps
        down[i] -= eps
        nn.utils.vector_to_parameters(up, params)
        hi = model(x).mean().item()
        nn.utils.vector_to_parameters(down, params)
        lo = model(x).mean().item()
        fd[i] = (hi - lo) / (2 * eps)
    nn.utils.vector_to_parameters(flat, params)
    return grad, fd


@pytest.fixture(scope="module")
def episode_x():
    return torch.randn(2 * 3 * 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))


def test_second_order_maml_meta_gradient_equals_finite_differences(episode_x):
    grad, fd = meta_gradient("maml", episode_x)
    assert torch.allclose(grad, fd, atol=1e-7), (grad - fd).abs().max()


def test_first_order_differs_from_the_true_meta_gradient(episode_x):
    grad, fd = meta_gradient("fomaml", episode_x)
    assert (grad - fd).abs().max() > 1e-3


def test_vmap_matches_the_per_task_loop_first_order(episode_x):
    grads = []
    for vmap in (False, True):
        torch.manual_seed(0)
        model = new_meta_model(TinyMLP(), METHODS.create("fomaml", vmap=vmap), 3, 1, 2, 0).double().train()
        grads.append(
            torch.cat([g.reshape(-1) for g in torch.autograd.grad(model(episode_x).mean(), model.parameters())])
        )
    assert torch.allclose(grads[0], grads[1], atol=1e-10)


def test_vmap_second_order_is_refused():
    with pytest.raises(HeadstartError, match="vmap is first order only"):
        METHODS.create("maml", vmap=True)


def clustered(n_classes=12, per=8, dim=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim)) * 2
    y = np.repeat(np.arange(n_classes), per)
    return (centres[y] + rng.normal(size=(len(y), dim))).astype("float32"), y


@pytest.mark.parametrize("name", ["maml", "fomaml", "anil", "protomaml", "reptile", "protonet"])
def test_every_method_trains_through_the_loop_and_adapts(name, tmp_path):
    X, y = clustered()
    data = hs.from_arrays(X, y)
    lr = 1.0 if name == "reptile" else 1e-2
    backbone = hs.backbones.load_backbone("scratch:mlp", feature_dim=6, seed=0)
    model, result = meta_train(backbone, data, METHODS.create(name), ways=3, shots=1, queries=2, tasks=2, batches=3,
                               lr=lr, run_dir=tmp_path / "run", progress=False)  # fmt: skip
    assert len(result.history) == 1 and np.isfinite(result.history[0]["train_loss"])
    ev = evaluate(model, data, ways=3, shots=1, queries=3, episodes=20)
    assert ev.accuracies.shape == (20, model.method.test_steps + 1)
    assert ev.mean > 0.5  # clustered classes: adaptation (or prototypes) beats chance (1/3)
    if model.method.test_steps:
        assert ev.mean > ev.accuracies[:, 0].mean() or name == "protomaml"  # protomaml starts at the prototypes


def test_anil_zero_head_starts_every_task_at_zero_and_first_steps_to_centred_class_means():
    """The zeroing trick: before adaptation every query is scored equal (all logits 0); after one
    step of lr a from zero, the head is a * (onehot - 1/K)^T z / n (the softmax at zero is uniform)."""
    from headstart.meta.base import split_tasks

    torch.manual_seed(0)
    method = METHODS.create("anil", inner_steps=1, inner_lr=0.5, zero_head=True)
    model = new_meta_model(TinyMLP(), method, 3, 2, 2, 0).train()
    xs, ys, xq, _ = split_tasks(torch.randn(12, 4), 3, 2, 2)[0]
    (start, after), predict = method.adapt(model, xs, ys, 1, create_graph=False, keep=True)
    assert not predict(start, xq).any()
    zs = model(xs, part="features").detach()
    centred = torch.nn.functional.one_hot(ys, 3).float() - 1 / 3
    assert torch.allclose(after["head.linear.weight"], 0.5 * centred.T @ zs / len(zs), atol=1e-6)
    assert torch.allclose(after["head.linear.bias"], 0.5 * centred.mean(0), atol=1e-6)
    learnt = new_meta_model(TinyMLP(), METHODS.create("anil", inner_steps=1, inner_lr=0.5), 3, 2, 2, 0).train()
    (start,), _ = learnt.method.adapt(learnt, xs, ys, 0, create_graph=False)
    assert start["head.linear.weight"].abs().sum() > 0  # without the option: the meta-learnt start
    with pytest.raises(HeadstartError, match="zero_head is anil's"):
        METHODS.create("protomaml", zero_head=True)


def test_reptile_outer_step_is_the_interpolation():
    """One Reptile step with SGD(lr=eps) moves theta to theta + eps (phi - theta)."""
    from headstart.meta.base import sgd_steps, split_tasks

    torch.manual_seed(0)
    model = new_meta_model(TinyMLP(), METHODS.create("reptile", inner_steps=3), 3, 1, 2, 0).train()
    task = split_tasks(torch.randn(9, 4), 3, 1, 2)[0]
    xs, ys = torch.cat([task[0], task[2]]), torch.cat([task[1], task[3]])  # train_on_query: the whole task
    before = nn.utils.parameters_to_vector(model.parameters()).detach().clone()
    start = {k: v.detach().requires_grad_() for k, v in model.params().items()}
    (phi,) = sgd_steps(lambda p: nn.functional.cross_entropy(model.call(p, xs, "logits"), ys), start,
                       dict.fromkeys(start, 0.1), 3, False)  # fmt: skip
    phi_vec = torch.cat([phi[k].detach().reshape(-1) for k in start])
    opt = model.method.optimizer([{"params": list(model.parameters())}], lr=0.5)
    loss, _ = model.method.task_loss(model, *task)
    loss.backward()
    opt.step()
    after = nn.utils.parameters_to_vector(model.parameters()).detach()
    assert torch.allclose(after, before + 0.5 * (phi_vec - before), atol=1e-6)


def test_reptile_support_only_adapts_on_the_support_rows():
    from headstart.meta.base import split_tasks

    torch.manual_seed(0)
    task = split_tasks(torch.randn(9, 4), 3, 1, 2)[0]
    moved = []
    for on_query in (True, False):
        model = new_meta_model(TinyMLP(), METHODS.create("reptile", train_on_query=on_query), 3, 1, 2, 0).train()
        loss, _ = model.method.task_loss(model, *task)
        loss.backward()
        moved.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]))
    assert not torch.allclose(moved[0], moved[1])  # the query rows change the pseudo-gradient


def test_run_folder_round_trip_and_resume(tmp_path):
    X, y = clustered()
    data = hs.from_arrays(X, y)
    run = tmp_path / "run"
    model, _ = meta_train(IdentityBackbone(6), data, METHODS.create("maml"), ways=3, shots=1, queries=2, tasks=2,
                          batches=3, epochs=2, run_dir=run, progress=False)  # fmt: skip
    save_run(run, model, {"data": "arrays"}, data)
    loaded = load_run(run)
    for (k, a), b in zip(model.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    a = evaluate(model, data, 3, 1, 2, 10)
    b = evaluate(loaded, data, 3, 1, 2, 10)
    assert np.array_equal(a.accuracies, b.accuracies)
    # resume: a run of 3 epochs continues from the 2-epoch checkpoint (same config apart from epochs is refused)
    with pytest.raises(HeadstartError, match="cannot resume"):
        meta_train(IdentityBackbone(6), data, METHODS.create("maml"), ways=3, shots=1, queries=2, tasks=2,
                   batches=3, epochs=3, run_dir=run, resume=True, progress=False)  # fmt: skip
    _, again = meta_train(IdentityBackbone(6), data, METHODS.create("maml"), ways=3, shots=1, queries=2, tasks=2,
                          batches=3, epochs=2, run_dir=run, resume=True, progress=False)  # fmt: skip
    assert again.resumed_from is not None and len(again.history) == 2


def test_predict_labels_adapts_on_a_support_set():
    X, y = clustered()
    data = hs.from_arrays(X, y)
    model, _ = meta_train(IdentityBackbone(6), data, METHODS.create("fomaml"), ways=3, shots=1, queries=2, tasks=2,
                          batches=5, progress=False)  # fmt: skip
    rows = np.concatenate([np.flatnonzero(y == k)[:2] for k in (0, 1, 2)])
    support = hs.from_arrays(X[rows[::2]], y[rows[::2]])
    query = hs.from_arrays(X[rows[1::2]], y[rows[1::2]])
    assert predict_labels(model, support, query).shape == (3,)
    with pytest.raises(HeadstartError, match="learnt a 3-way head"):
        predict_labels(model, hs.from_arrays(X[:16], y[:16]), query)


def test_bad_input_is_one_line():
    X, y = clustered(n_classes=4, per=3)
    data = hs.from_arrays(X, y)
    with pytest.raises(HeadstartError, match="need 5 classes") as e:
        meta_train(IdentityBackbone(6), data, METHODS.create("maml"), ways=5, shots=1, queries=1, progress=False)
    assert "\n" not in str(e.value)
    with pytest.raises(HeadstartError, match="at least 4 rows each"):
        meta_train(IdentityBackbone(6), data, METHODS.create("maml"), ways=3, shots=2, queries=2, progress=False)
    frozen = TinyMLP(6, 5)
    frozen.requires_grad_(False)
    with pytest.raises(HeadstartError, match="frozen") as e:
        meta_train(frozen, hs.from_arrays(*clustered()), METHODS.create("maml"), ways=3, shots=1, queries=2,
                   progress=False)  # fmt: skip
    assert "\n" not in str(e.value)

    class Detached(torch.autograd.Function):  # a forward with a backward but no double backward
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clone()

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, g):
            return g

    class NotTwiceDifferentiable(TinyMLP):
        def forward_features(self, x):
            return Detached.apply(self.net(x))

    with pytest.raises(HeadstartError, match="not twice differentiable"):
        meta_train(NotTwiceDifferentiable(6, 5), hs.from_arrays(*clustered()), METHODS.create("maml"), ways=3,
                   shots=1, queries=2, progress=False)  # fmt: skip
    with pytest.raises(HeadstartError, match="nothing to meta-train"):
        meta_train(IdentityBackbone(6), hs.from_arrays(*clustered()), METHODS.create("protonet"), ways=3, queries=2,
                   progress=False)  # fmt: skip
    with pytest.raises(HeadstartError, match="meta-batch needs"):
        MetaBatches(np.repeat(np.arange(4), 4), 3, 1, 1, tasks=0, batches=1)


def test_cli_meta_train_writes_a_loadable_run_and_fewshot_takes_it(tmp_path, capsys):
    from headstart.cli import run

    X, y = clustered()
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    df["label"] = [f"c{v}" for v in y]
    train, test = df[df.label.isin([f"c{i}" for i in range(8)])], df[~df.label.isin([f"c{i}" for i in range(8)])]
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    test.groupby("label").head(1).to_csv(tmp_path / "sup.csv", index=False)
    test.groupby("label").tail(3).to_csv(tmp_path / "qry.csv", index=False)
    out = tmp_path / "run"
    args = ["meta-train", str(tmp_path / "train.csv"), "--method", "fomaml", "--ways", "4", "--queries", "3",
            "--batches", "3", "-o", str(out), "--eval", str(tmp_path / "test.csv"), "--eval-episodes", "10",
            "--report"]  # fmt: skip
    assert run(args) == 0
    for name in ("meta_config.json", "model.safetensors", "history.json", "meta.json", "report.md"):
        assert (out / name).is_file(), name
    assert "Meta-learning" in (out / "report.md").read_text()
    assert load_run(out).ways == 4
    assert run(["fewshot-eval", str(tmp_path / "test.csv"), "--backbone", str(out), "--ways", "4", "--queries", "3",
                "--episodes", "10", "--methods", "protonet"]) == 0  # fmt: skip
    assert "meta-train run" in capsys.readouterr().out
    pred = tmp_path / "p.csv"
    assert run(["fewshot", str(tmp_path / "sup.csv"), str(tmp_path / "qry.csv"), "--backbone", str(out),
                "-o", str(pred)]) == 0  # fmt: skip
    assert len(pd.read_csv(pred)) == 12
    assert run([*args[:-1]]) == 2  # the folder holds a run: --resume or a new --out
    assert run(["meta-train", str(tmp_path / "train.csv"), "--ways", "9", "-o", str(tmp_path / "r2")]) == 2
    assert run(["meta-train", str(tmp_path / "train.csv"), "--method", "mam", "-o", str(tmp_path / "r3")]) == 2
