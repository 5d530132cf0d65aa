"""Environment variants as data: ``CartPole-v1:length=1.0,masscart=2.0``.

A variant is a Gymnasium environment id and the physical parameters to change. The
parameters are set on the unwrapped environment after :func:`gymnasium.make`, and every
attribute the environment derives from them is derived again, so the physics stays
consistent. CartPole is the case that needs it: its ``length`` is the *half*-pole length
and its constructor computes ``total_mass = masspole + masscart`` and
``polemass_length = masspole * length`` once; ``step`` reads those two, so setting
``length`` alone would change the angular acceleration's denominator but not the
coupling terms. Gymnasium 1.4's ``cartpole.py`` derives nothing else (its thresholds
are fixed numbers, not functions of the masses or the length).

Parameters that would change the observation or action space (CartPole's
``x_threshold``, Pendulum's ``max_torque``) are not offered: a variant changes the task's
dynamics, not the shapes an agent reads and writes.

MiniGrid layouts (``MiniGrid-Empty-8x8-v0``, ``MiniGrid-DoorKey-6x6-v0``, ... every id the
``minigrid`` package registers) are grid worlds seen through the agent's 7x7x3 egocentric
view (``ImgObsWrapper``): the same observation shape in every layout, so a visual encoder
learnt in one layout can be carried to another. Their numeric constructor arguments
(``size``, ``max_steps``) are the variant's parameters.

    >>> v = parse_variant("CartPole-v1:length=1.0,masscart=2.0")
    >>> v.spec, v.params
    ('CartPole-v1:length=1.0,masscart=2.0', {'length': 1.0, 'masscart': 2.0})
    >>> env = v.make()
    >>> core = env.unwrapped
    >>> round(core.polemass_length, 6), round(core.total_mass, 6)
    (0.1, 2.1)
    >>> parse_variant("CartPole-v1:lenght=1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    headstart.errors.HeadstartError: CartPole-v1 has no parameter 'lenght'; did you mean 'length'? (parameters: ...)
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from headstart.errors import HeadstartError, did_you_mean


def _cartpole(core: Any) -> None:
    # What CartPoleEnv.__init__ derives from the masses and the half-pole length.
    core.total_mass = core.masspole + core.masscart
    core.polemass_length = core.masspole * core.length


@dataclass(frozen=True)
class Family:
    """The parameters of one kind of environment: ``{name: attribute}`` and what to derive after setting them."""

    params: dict[str, str]
    derive: Callable[[Any], None] | None = None
    positive: tuple[str, ...] = ()  # parameters that must be > 0 (masses, lengths, time steps)


_CARTPOLE = Family(
    {
        "gravity": "gravity",
        "masscart": "masscart",
        "masspole": "masspole",
        "length": "length",  # the HALF-pole length (gymnasium's own comment: "actually half the pole's length")
        "force_mag": "force_mag",
        "force": "force_mag",
        "tau": "tau",
    },
    _cartpole,
    ("masscart", "masspole", "length", "tau"),
)
_ACROBOT = Family(
    {
        "link_length_1": "LINK_LENGTH_1",
        "link_length_2": "LINK_LENGTH_2",
        "link_mass_1": "LINK_MASS_1",
        "link_mass_2": "LINK_MASS_2",
        "link_com_pos_1": "LINK_COM_POS_1",
        "link_com_pos_2": "LINK_COM_POS_2",
        "link_moi": "LINK_MOI",
        "dt": "dt",
        "torque_noise_max": "torque_noise_max",
    },
    None,  # _dsdt reads every attribute at each step: nothing is derived
    ("link_length_1", "link_length_2", "link_mass_1", "link_mass_2", "link_moi", "dt"),
)
CLASSIC: dict[str, Family] = {
    "CartPole-v1": _CARTPOLE,
    "CartPole-v0": _CARTPOLE,
    "Acrobot-v1": _ACROBOT,
    "MountainCar-v0": Family({"force": "force", "gravity": "gravity"}, None, ("force",)),
    "MountainCarContinuous-v0": Family({"power": "power"}, None, ("power",)),
    "Pendulum-v1": Family({"g": "g", "gravity": "g", "m": "m", "l": "l", "dt": "dt"}, None, ("m", "l", "dt")),
}
MINIGRID = "MiniGrid-"


def minigrid_ids() -> list[str]:
    """Every MiniGrid layout id registered by the installed ``minigrid`` package."""
    import gymnasium as gym

    try:
        import minigrid  # noqa: F401  (importing it registers its environments)
    except ImportError:
        return []
    return sorted(k for k in gym.registry if k.startswith(MINIGRID))


def known_ids() -> list[str]:
    return list(CLASSIC) + minigrid_ids()


def _minigrid_params(env_id: str) -> dict[str, Any]:
    """The numeric constructor arguments of a MiniGrid layout and their defaults."""
    import gymnasium as gym

    minigrid_ids()  # registers the layouts
    spec = gym.spec(env_id)
    entry = spec.entry_point
    if isinstance(entry, str):
        import importlib

        module, _, attr = entry.partition(":")
        entry = getattr(importlib.import_module(module), attr)
    out: dict[str, Any] = {}
    for p in inspect.signature(entry).parameters.values():
        default = spec.kwargs.get(p.name, p.default)
        if p.name.startswith("agent_"):
            continue  # where the agent starts is a layout detail, not a size; not offered
        if isinstance(default, int | float) and not isinstance(default, bool):
            out[p.name] = default
        elif p.name == "max_steps":
            out[p.name] = default
    return out


def parameters(env_id: str) -> list[str]:
    """The parameter names a variant of ``env_id`` may set."""
    if env_id in CLASSIC:
        return list(CLASSIC[env_id].params)
    return list(_minigrid_params(env_id))


def _number(env_id: str, key: str, text: str) -> float | int:
    try:
        value = int(text) if text.strip().lstrip("+-").isdigit() else float(text)
    except ValueError:
        raise HeadstartError(f"{env_id}:{key}={text}: the value must be a number (e.g. {key}=1.0)") from None
    if not math.isfinite(value):
        raise HeadstartError(f"{env_id}:{key}={text}: the value must be a finite number")
    return value


def check_env_id(env_id: str) -> str:
    """``env_id`` if headstart knows it, else the one line naming what exists."""
    if env_id in CLASSIC:
        return env_id
    grids = minigrid_ids()
    if env_id in grids:
        return env_id
    close = did_you_mean(env_id, known_ids())
    sample = ", ".join([g for g in grids if "Empty" in g or "DoorKey" in g][:4])
    raise HeadstartError(
        f"unknown environment '{env_id}'{close} (available: {', '.join(CLASSIC)}; MiniGrid layouts: "
        f"{len(grids)} ids such as {sample or 'none: pip install minigrid'})"
    )


@dataclass(frozen=True)
class Variant:
    """An environment id and the parameters that change its dynamics."""

    env_id: str
    params: dict[str, float | int] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        if not self.params:
            return self.env_id
        return self.env_id + ":" + ",".join(f"{k}={v}" for k, v in self.params.items())

    @property
    def is_grid(self) -> bool:
        return self.env_id.startswith(MINIGRID)

    def __str__(self) -> str:
        return self.spec

    def make(self, render_mode: str | None = None) -> Any:
        """The Gymnasium environment with the parameters applied (and derived attributes recomputed)."""
        import gymnasium as gym

        if self.is_grid:
            from minigrid.wrappers import ImgObsWrapper

            return ImgObsWrapper(gym.make(self.env_id, render_mode=render_mode, **self.params))
        env = gym.make(self.env_id, render_mode=render_mode)
        family = CLASSIC[self.env_id]
        core = env.unwrapped
        for key, value in self.params.items():
            setattr(core, family.params[key], float(value))
        if family.derive is not None:
            family.derive(core)
        return env

    def reward_threshold(self) -> float | None:
        """Gymnasium's "solved" return for the environment (CartPole-v1: 475), or None."""
        import gymnasium as gym

        return gym.spec(self.env_id).reward_threshold


def parse_variant(text: str) -> Variant:
    """``ENV_ID[:key=value,...]`` as a :class:`Variant`; an unknown id or parameter is one line."""
    env_id, _, rest = str(text).strip().partition(":")
    env_id = check_env_id(env_id.strip())
    allowed = parameters(env_id)
    params: dict[str, float | int] = {}
    for item in [i for i in rest.split(",") if i.strip()]:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise HeadstartError(f"{env_id}: '{item}' is not KEY=VALUE (e.g. {env_id}:{allowed[0]}=1.0)")
        if key not in allowed:
            raise HeadstartError(
                f"{env_id} has no parameter '{key}'{did_you_mean(key, allowed)} (parameters: {', '.join(allowed)})"
            )
        if key in params:
            raise HeadstartError(f"{env_id}: the parameter '{key}' is given twice; give it once")
        params[key] = _number(env_id, key, value)
        family = CLASSIC.get(env_id)
        if family is not None and key in family.positive and params[key] <= 0:
            raise HeadstartError(f"{env_id}:{key}={value}: {key} must be > 0")
        if family is None and params[key] <= 0:
            raise HeadstartError(f"{env_id}:{key}={value}: {key} must be > 0")
    if env_id in CLASSIC:
        aliases = {}
        for key in params:
            aliases.setdefault(CLASSIC[env_id].params[key], []).append(key)
        both = [names for names in aliases.values() if len(names) > 1]
        if both:
            raise HeadstartError(f"{env_id}: {' and '.join(both[0])} are the same parameter; give one")
    return Variant(env_id, params)


def space_text(space: Any) -> str:
    """A short, stable description of a Gymnasium space: ``Discrete(2)``, ``Box(4,)``, ``Box(7, 7, 3)``."""
    name = type(space).__name__
    if hasattr(space, "n"):
        return f"{name}({int(space.n)})"
    shape = tuple(getattr(space, "shape", ()) or ())
    return f"{name}{shape}"
