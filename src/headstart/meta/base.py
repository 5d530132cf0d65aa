"""What every meta-learning method shares: the meta-batch sampler, the model, the
torch.func inner loop, meta-training through the one loop, and test-time adaptation.

- :class:`MetaBatches` (the loop's ``batch_sampler``) yields one *meta-batch* per
  step: ``tasks`` episodes, each class-major (class 0's ``shots`` support rows then
  its ``queries`` query rows, then class 1's ...), a pure function of (seed, epoch)
  with ``set_epoch``, so a resumed run replays the interrupted epoch.
- :class:`MetaModel` holds the backbone and a ``ways``-output head. In training
  mode its forward takes the meta-batch's inputs and returns each task's *outer*
  loss (the query loss after the method's inner adaptation), so the loop's
  ``loss_fn`` is their mean and the loop does backward, the optimiser, the LR
  schedule, checkpoints, ``--resume`` and the progress bar.
- The inner loop is functional: ``torch.func.functional_call(model, params, x)``
  with ``params`` a dict of tensors, one SGD step ``p - lr * grad`` per inner step
  with ``torch.autograd.grad(create_graph=second_order)``; second order, the outer
  gradient runs back through the steps; first order, through their end point only.
  ``vmap=True`` maps one task's inner loop over the tasks of a meta-batch
  (``torch.func.vmap`` of ``torch.func.grad``), first order only: through Conv4's
  batch norm and max-pool its second-order meta-gradient is off finite differences
  by 3e-3 (float64) where the per-task loop agrees to 2e-10. ``learn_lr=True`` meta-learns one
  inner learning rate per adapted tensor (Meta-SGD, Li et al. 2017, per layer).
- Batch norm uses the statistics of the batch it sees (support or query), in
  training and at test, as MAML does (``torch.func.replace_all_batch_norm_modules_``):
  the running averages of many different tasks mean nothing for one task.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from headstart.errors import HeadstartError
from headstart.fewshot.episodes import EpisodeResult, EpisodeSampler
from headstart.fewshot.episodic import EpisodeBatches
from headstart.stats import mean_ci

Params = dict[str, torch.Tensor]


class MetaBatches(EpisodeBatches):
    """``batches`` meta-batches per epoch, each ``tasks`` episodes of row indices, class-major
    (the episodic sampler with ``tasks`` episodes per batch).

    >>> mb = MetaBatches(np.repeat(np.arange(6), 4), ways=3, shots=1, queries=2, tasks=2, batches=5)
    >>> len(mb), len(next(iter(mb)))
    (5, 18)
    """

    def __init__(
        self, labels: Any, ways: int, shots: int, queries: int, tasks: int, batches: int, seed: int = 0
    ) -> None:
        if tasks < 1 or batches < 1:
            raise HeadstartError(f"a meta-batch needs at least 1 task and an epoch 1 batch, got {tasks} and {batches}")
        super().__init__(labels, ways, shots, queries, episodes=batches, seed=seed, tasks=tasks)


def take(inputs: Any, index: Any) -> Any:
    """Rows ``index`` of a batch (a tensor, or a dict of tensors such as a tokenizer's output)."""
    if isinstance(inputs, dict) or hasattr(inputs, "keys"):
        return {k: v[index] for k, v in inputs.items()}
    return inputs[index]


def stack_inputs(parts: list[Any]) -> Any:
    if isinstance(parts[0], dict) or hasattr(parts[0], "keys"):
        return {k: torch.stack([p[k] for p in parts]) for k in parts[0]}
    return torch.stack(parts)


def split_tasks(inputs: Any, ways: int, shots: int, queries: int) -> list[tuple[Any, torch.Tensor, Any, torch.Tensor]]:
    """A meta-batch laid out by :class:`MetaBatches` -> per task (support x, y, query x, y), labels 0..ways-1."""
    per = shots + queries
    n = ways * per
    rows = len(inputs["input_ids"] if isinstance(inputs, dict) else inputs)
    if rows % n:
        raise HeadstartError(
            f"a meta-batch of {rows} rows is not a whole number of {ways}-way episodes of {per} rows per class "
            f"(use MetaBatches as the batch sampler)"
        )
    offsets = torch.arange(ways) * per
    s_idx = (offsets[:, None] + torch.arange(shots)).reshape(-1)
    q_idx = (offsets[:, None] + shots + torch.arange(queries)).reshape(-1)
    ys, yq = torch.arange(ways).repeat_interleave(shots), torch.arange(ways).repeat_interleave(queries)
    return [(take(inputs, s_idx + t * n), ys, take(inputs, q_idx + t * n), yq) for t in range(rows // n)]


def as_float(z: torch.Tensor) -> torch.Tensor:
    """Half-precision features as float32; float32 and float64 as they are."""
    return z.float() if z.dtype in (torch.float16, torch.bfloat16) else z


class MetaHead(nn.Module):
    """The ``ways``-output linear head, and the learned inner learning rates (Meta-SGD) when there are any:
    what the loop's strategy trains as "the head"."""

    def __init__(self, dim: int, ways: int, n_lrs: int = 0, lr: float = 0.1) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, ways)
        self.log_lrs = nn.Parameter(torch.full((n_lrs,), math.log(lr))) if n_lrs else None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.linear(z)


class MetaModel(nn.Module):
    """A backbone and a ``ways``-way head, meta-trained by ``method``.

    Training mode: ``forward(meta_batch)`` is the ``(tasks,)`` outer losses.
    ``part="features"`` / ``"logits"`` / ``"head"`` are the plain forwards that the
    inner loop calls through ``functional_call`` with its own parameters.
    """

    def __init__(self, backbone: nn.Module, ways: int, method: MetaMethod, shots: int = 1, queries: int = 1) -> None:
        super().__init__()
        self.backbone = backbone
        self.method, self.ways, self.shots, self.queries = method, int(ways), int(shots), int(queries)
        if method.batch_stats:
            torch.func.replace_all_batch_norm_modules_(backbone)
        if method.vmap and getattr(backbone, "channels_last", False):
            backbone.channels_last = False  # vmap cannot query a channels-last layout
        dim = int(backbone.feature_dim)
        self.head = MetaHead(dim, self.ways)
        names = self.adapted_names()
        if method.learn_lr:
            self.head = MetaHead(dim, self.ways, len(names), method.inner_lr)
        self.last_accuracy = float("nan")

    # -- the parameters the inner loop adapts -----------------------------------------------------
    def adapted_names(self) -> list[str]:
        head = ["head.linear.weight", "head.linear.bias"]
        if self.method.adapts == "head":
            return head
        body = [f"backbone.{n}" for n, p in self.backbone.named_parameters()]
        return body + head

    def params(self, names: list[str] | None = None) -> Params:
        own = dict(self.named_parameters())
        return {n: own[n] for n in (names or self.adapted_names())}

    def inner_lrs(self, names: list[str]) -> dict[str, Any]:
        """The inner learning rate of each adapted tensor: the method's, or the learned ones."""
        if self.head.log_lrs is None:
            return dict.fromkeys(names, self.method.inner_lr)
        lrs = self.head.log_lrs.exp()
        return {n: lrs[i] for i, n in enumerate(names)}

    # -- the forwards ---------------------------------------------------------------------------
    def forward(self, inputs: Any, part: str | None = None) -> torch.Tensor:
        if part == "features":
            return as_float(self.backbone.forward_features(inputs))
        if part == "logits":
            return self.head(as_float(self.backbone.forward_features(inputs)))
        if part == "head":
            return self.head(inputs)
        tasks = split_tasks(inputs, self.ways, self.shots, self.queries)
        losses, accs = self.method.outer_losses(self, tasks)
        self.last_accuracy = float(accs.mean())
        return losses

    def call(self, params: Params, x: Any, part: str) -> torch.Tensor:
        return functional_call(self, params, (x,), {"part": part}, strict=False)


def sgd_steps(
    loss_of: Any, params: Params, lrs: dict[str, Any], steps: int, create_graph: bool, keep: bool = False
) -> list[Params]:
    """``steps`` SGD steps on ``loss_of(params)``; the parameters after the last step (after each, ``keep``)."""
    # A tensor nothing differentiates yet (prototypes of a frozen body): a leaf the inner loop can.
    params = {k: p if p.requires_grad else p.detach().requires_grad_() for k, p in params.items()}
    out = [params]
    for _ in range(steps):
        loss = loss_of(params)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=create_graph, allow_unused=True)
        params = {k: p if g is None else p - lrs[k] * g for (k, p), g in zip(params.items(), grads, strict=True)}
        out = [*out, params] if keep else [params]
    return out


@dataclass
class MetaMethod:
    """The gradient-based meta-learner: ``inner_steps`` SGD steps of ``inner_lr`` on the support set.

    Subclasses say what adapts (``adapts``: "all" or "head"), how the head starts
    (:meth:`head_init`) and what the outer loss is (:meth:`outer_losses`).
    """

    inner_steps: int = 5
    inner_lr: float = 0.4
    test_steps: int = 10
    second_order: bool = False
    learn_lr: bool = False
    vmap: bool = False

    name: ClassVar[str] = ""
    adapts: ClassVar[str] = "all"
    batch_stats: ClassVar[bool] = True
    any_ways: ClassVar[bool] = False  # the head is built per task (prototypes), not learnt for ``ways`` classes

    def __post_init__(self) -> None:
        if self.inner_steps < 0 or self.test_steps < 0:
            raise HeadstartError(f"inner steps must be at least 0, got {self.inner_steps} and {self.test_steps}")
        if not self.inner_lr > 0:
            raise HeadstartError(f"inner_lr must be positive, got {self.inner_lr}")
        if self.vmap and self.second_order:
            # Measured (torch 2.x, float64): on Conv4 (batch norm, max-pool) the vmapped second-order
            # meta-gradient is 3e-3 off finite differences where the per-task loop agrees to 2e-10.
            raise HeadstartError(
                f"{self.name}: vmap is first order only (its second-order meta-gradient through batch norm "
                f"and max-pool is wrong in this torch); set second_order=False or vmap=False"
            )

    # -- hooks of the methods ---------------------------------------------------------------------
    def head_init(self, model: MetaModel, params: Params, zs: torch.Tensor, ys: torch.Tensor, ways: int) -> Params:
        """The head's parameters before adaptation (default: the meta-learnt ones)."""
        return {k: params[k] for k in ("head.linear.weight", "head.linear.bias")}

    def optimizer(self, groups: list[dict[str, Any]], lr: float) -> torch.optim.Optimizer | None:
        """The outer optimiser (None: the loop's AdamW)."""
        return None

    # -- one task ---------------------------------------------------------------------------------
    def adapt(
        self, model: MetaModel, xs: Any, ys: torch.Tensor, steps: int, create_graph: bool, keep: bool = False
    ) -> tuple[list[Params], Any]:
        """The adapted parameters (after each step with ``keep``) and how to score them:
        ``predict(params, xq) -> logits``."""
        names = model.adapted_names()
        params = model.params()
        lrs = model.inner_lrs(names)
        ways = model.ways if not self.any_ways else int(ys.max()) + 1
        if self.adapts == "head":
            body = {k: v for k, v in dict(model.named_parameters()).items() if k.startswith("backbone.")}
            zs = model.call(body, xs, "features")
            start = self.head_init(model, params, zs, ys, ways)
            steps_out = sgd_steps(
                lambda p: F.cross_entropy(model.call(p, zs, "head"), ys), start, lrs, steps, create_graph, keep
            )
            return steps_out, lambda p, xq: model.call(p, model.call(body, xq, "features"), "head")
        steps_out = sgd_steps(
            lambda p: F.cross_entropy(model.call(p, xs, "logits"), ys), params, lrs, steps, create_graph, keep
        )
        return steps_out, lambda p, xq: model.call(p, xq, "logits")

    def task_loss(self, model: MetaModel, xs: Any, ys: Any, xq: Any, yq: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """The query loss and accuracy after ``inner_steps`` steps (the MAML outer loss)."""
        (params,), predict = self.adapt(model, xs, ys, self.inner_steps, create_graph=self.second_order)
        logits = predict(params, xq)
        return F.cross_entropy(logits, yq), (logits.argmax(1) == yq).float().mean().detach()

    def outer_losses(self, model: MetaModel, tasks: list[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Each task's outer loss ``(T,)`` and query accuracy ``(T,)``."""
        if self.vmap:
            return self.vmapped_losses(model, tasks)
        out = [self.task_loss(model, *task) for task in tasks]
        return torch.stack([o[0] for o in out]), torch.stack([o[1] for o in out])

    def vmapped_losses(self, model: MetaModel, tasks: list[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`task_loss` of every task at once (first order): ``torch.func.vmap`` over the tasks,
        ``torch.func.grad`` for the inner steps (the whole model adapts)."""
        names = model.adapted_names()
        params = model.params()
        lrs = model.inner_lrs(names)
        xs, ys, xq, yq = (stack_inputs([t[i] for t in tasks]) for i in range(4))

        def one(params: Params, xs: Any, ys: Any, xq: Any, yq: Any) -> tuple[torch.Tensor, torch.Tensor]:
            def inner(p: Params) -> torch.Tensor:
                return F.cross_entropy(model.call(p, xs, "logits"), ys)

            for _ in range(self.inner_steps):
                grads = torch.func.grad(inner)(params)
                params = {k: params[k] - lrs[k] * grads[k].detach() for k in params}
            logits = model.call(params, xq, "logits")
            return F.cross_entropy(logits, yq), (logits.argmax(1) == yq).float().mean()

        losses, accs = torch.func.vmap(one, in_dims=(None, 0, 0, 0, 0), randomness="same")(params, xs, ys, xq, yq)
        return losses, accs.detach()

    def predict(self, model: MetaModel, xs: Any, ys: Any, xq: Any, steps: int | None = None) -> torch.Tensor:
        """Query logits after adapting on the support set for ``steps`` (``test_steps``) inner steps."""
        steps = self.test_steps if steps is None else int(steps)
        with torch.enable_grad():
            (params,), predict = self.adapt(model, xs, ys, steps, create_graph=False)
        with torch.no_grad():
            return predict(params, xq)

    def trace(self, model: MetaModel, xs: Any, ys: Any, xq: Any, yq: Any, steps: int) -> list[float]:
        """Query accuracy before adaptation and after each of ``steps`` inner steps (no outer graph)."""
        with torch.enable_grad():
            path, predict = self.adapt(model, xs, ys, steps, create_graph=False, keep=True)
            with torch.no_grad():
                return [float((predict(p, xq).argmax(1) == yq).float().mean()) for p in path]


class MeanLoss:
    """The loop's ``loss_fn`` for meta-training: the mean of the tasks' outer losses the model returned."""

    def __call__(self, losses: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return losses.mean()


def check_second_order(model: MetaModel, tasks: list[Any]) -> None:
    """One clear line when second-order meta-gradients cannot flow through ``model``'s backbone."""
    method = model.method
    frozen = [n for n, p in model.backbone.named_parameters() if not p.requires_grad]
    if method.adapts == "all" and frozen:
        raise HeadstartError(
            f"{method.name} with second_order differentiates through every backbone weight, but "
            f"{getattr(model.backbone, 'spec', type(model.backbone).__name__)} has {len(frozen)} frozen "
            f"(requires_grad=False, e.g. {frozen[0]}): unfreeze it, or use anil or protomaml"
        )
    try:
        xs, ys, xq, yq = tasks[0]
        loss, _ = method.task_loss(model, xs, ys, xq, yq)
        loss.backward()  # what the loop will do (autograd.grad of the parameters alone can skip a failing node)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise HeadstartError(
            f"{method.name} with second_order: the backbone's forward is not twice differentiable "
            f"under torch.func ({first}); use first order (fomaml) or anil"
        ) from None
    finally:
        for p in model.parameters():
            p.grad = None


def new_meta_model(backbone: Any, method: MetaMethod, ways: int, shots: int, queries: int, seed: int) -> MetaModel:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MetaModel(backbone, ways, method, shots, queries)


def meta_train(
    backbone: Any,
    data: Any,
    method: MetaMethod,
    ways: int = 5,
    shots: int = 1,
    queries: int = 15,
    tasks: int = 4,
    batches: int = 100,
    epochs: int = 1,
    lr: float = 1e-3,
    seed: int = 0,
    augment: bool = False,
    strategy: Any = None,
    run_dir: Any = None,
    resume: bool = False,
    progress: bool | None = None,
) -> tuple[MetaModel, Any]:
    """Meta-train ``backbone`` on ``data`` (a labelled Dataset) with ``method``: ``epochs`` x ``batches``
    meta-batches of ``tasks`` ``ways``-way ``shots``-shot episodes (``queries`` per class), through the one
    loop. Returns ``(MetaModel, TrainResult)``; the backbone is trained in place.

    >>> import numpy as np, headstart as hs
    >>> from headstart.backbones.embedded import IdentityBackbone
    >>> from headstart.meta.maml import MAML
    >>> X = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    >>> data = hs.from_arrays(X, np.repeat(np.arange(8), 5))
    >>> model, result = meta_train(IdentityBackbone(4), data, MAML(inner_steps=1), ways=3, shots=1, queries=2,
    ...                            tasks=2, batches=2, progress=False)
    >>> len(result.history)
    1
    """
    from headstart.strategies.full import Full
    from headstart.train.config import TrainConfig
    from headstart.train.job import build_job

    data.require_labels()
    _, codes = np.unique(np.asarray(data.labels), return_inverse=True)
    sampler = MetaBatches(codes, ways, shots, queries, tasks, batches, seed)  # bad shapes: one line, here
    model = new_meta_model(backbone, method, ways, shots, queries, seed)
    if method.any_ways and not method.learn_lr and not any(p.requires_grad for p in backbone.parameters()):
        raise HeadstartError(
            f"{method.name} meta-learns the backbone alone (its head comes from the support set), and "
            f"{getattr(backbone, 'spec', type(backbone).__name__)} has no trainable parameters: nothing to "
            f"meta-train (headstart fewshot-eval scores it as it is)"
        )
    config = TrainConfig(
        epochs=epochs,
        lr=lr,
        head_lr=lr,
        batch_size=tasks * ways * (shots + queries),
        weight_decay=0.0,
        warmup=0.0,
        max_grad_norm=0.0,
        precision="no",
        augment=augment,
        num_workers=0,
        seed=seed,
    )
    job = build_job(
        backbone,
        0,
        data,
        codes,
        config,
        strategy or Full(),
        identity={
            "backbone": getattr(backbone, "spec", ""),
            "meta": f"{method.name}/{ways}w{shots}s{queries}q/{tasks}t",
            "method": repr(method),
        },
        model=model,
    )
    if method.second_order:
        rows = job.train_rows
        first = next(iter(MetaBatches(codes, ways, shots, queries, 1, 1, seed)))
        inputs, _ = rows.collate([rows[i] for i in first])
        model.train()
        check_second_order(model, split_tasks(inputs, ways, shots, queries))

    def batch_sampler(train_rows: Any, batch_size: int, seed: int, num_processes: int) -> MetaBatches:
        return sampler

    job.hooks = {"loss_fn": MeanLoss(), "batch_sampler": batch_sampler}
    if method.optimizer([{"params": []}], lr) is not None:
        job.hooks["optimizer_fn"] = method.optimizer
    result = job.run(run_dir, resume=resume, progress=progress)
    model.eval()
    return model, result


@dataclass
class MetaEvaluation(EpisodeResult):
    """Query accuracy over test episodes, before adaptation (step 0) and after each inner step.

    ``accuracies[e, s]``: episode ``e`` after ``s`` steps; the figure is the last step's.
    """

    @property
    def final(self) -> np.ndarray:
        return self.accuracies[:, -1]

    def per_step(self) -> list[dict[str, float]]:
        out = []
        for s in range(self.accuracies.shape[1]):
            col = self.accuracies[:, s]
            ci = mean_ci(col, method="normal").half_width if len(col) > 1 else float("nan")
            out.append({"step": s, "accuracy": float(col.mean()), "ci95": ci})
        return out

    def details(self) -> dict[str, Any]:
        return {"steps": self.per_step()}

    def more(self) -> str:
        before = self.accuracies[:, 0].mean()
        return f"; before adaptation {before:.4f}, {self.accuracies.shape[1] - 1} steps"


def _inputs(model: MetaModel, data: Any, codes: Any, max_length: int | None = None) -> tuple[Any, Any]:
    """The rows of ``data`` as model inputs: every row at once (images, tables), or a function of indices (text)."""
    from headstart.train.data import Rows

    rows = Rows(data, model.backbone, codes, train=False, augment=False, max_length=max_length)
    if rows.modality == "text":
        return None, lambda idx: rows.collate([rows[int(i)] for i in idx])[0]
    allx = rows.collate([rows[i] for i in range(len(rows))])[0]
    return allx, lambda idx: take(allx, torch.as_tensor(np.asarray(idx)))


def predict_labels(model: MetaModel, support: Any, query: Any, steps: int | None = None) -> np.ndarray:
    """Labels of ``query`` (a Dataset) after adapting ``model`` on ``support`` (a labelled Dataset)."""
    support.require_labels()
    classes, codes = np.unique(np.asarray(support.labels), return_inverse=True)
    if len(classes) != model.ways and not model.method.any_ways:
        raise HeadstartError(
            f"{model.method.name} learnt a {model.ways}-way head; the support set has {len(classes)} classes"
        )
    _, xs = _inputs(model, support, codes)
    _, xq = _inputs(model, query, np.zeros(len(query), dtype=int))
    model.eval()
    logits = model.method.predict(model, xs(range(len(support))), torch.as_tensor(codes), xq(range(len(query))), steps)
    return classes[logits.argmax(1).numpy()]


def evaluate(
    model: MetaModel,
    data: Any,
    ways: int = 5,
    shots: int = 1,
    queries: int = 15,
    episodes: int = 600,
    steps: int | None = None,
    seed: int = 0,
    max_length: int | None = None,
) -> MetaEvaluation:
    """Adapt ``model`` on each test episode's support set for ``steps`` inner steps (the method's
    ``test_steps`` by default) and score its queries before and after each step."""

    method = model.method
    if ways != model.ways and not method.any_ways:
        raise HeadstartError(
            f"{method.name} learnt a {model.ways}-way head: evaluate {model.ways}-way episodes, not {ways}-way"
        )
    steps = method.test_steps if steps is None else int(steps)
    data.require_labels()
    _, codes = np.unique(np.asarray(data.labels), return_inverse=True)
    sampler = EpisodeSampler(codes, ways, shots, queries)
    _, rows_of = _inputs(model, data, codes, max_length)
    model.eval()
    accs = np.empty((episodes, steps + 1))
    start = time.perf_counter()
    for e, ep in enumerate(sampler.episodes(seed, episodes)):
        xs, xq = rows_of(ep.support), rows_of(ep.query)
        accs[e] = method.trace(model, xs, torch.as_tensor(ep.support_y), xq, torch.as_tensor(ep.query_y), steps)
    return MetaEvaluation(method.name, ways, shots, queries, accs, time.perf_counter() - start)
