"""One registry for every kind of registered thing: strategies, imbalance methods,
debiasing and adaptation methods, distillation losses, few-shot and zero-shot
methods, transferability scores, report sections and backbones.

A family keeps one :class:`Registry` in a module of its own (e.g.
``headstart/strategies/registry.py``) that method files import without
importing anything else of the family. Each method file registers its class
(or function) with a decorator, and the registry imports every module of its
package the first time it is asked for a name (``pkgutil``, as report sections
always did), so adding a method is one new file and nothing else: no
``__init__`` and no list of names to edit.

    >>> from dataclasses import dataclass
    >>> LOSSES = Registry("loss")
    >>> @LOSSES.register("focal")
    ... @dataclass
    ... class Focal:
    ...     '''Focal loss (Lin et al. 2017).'''
    ...     gamma: float = 2.0
    >>> LOSSES.names()
    ['focal']
    >>> LOSSES.create("focal", gamma=1.0)
    Focal(gamma=1.0)
    >>> LOSSES.options("focal")
    {'gamma': 2.0}
    >>> LOSSES.describe("focal")
    'Focal loss (Lin et al. 2017).'
    >>> LOSSES.create("focal", gama=1.0)
    Traceback (most recent call last):
    ...
    headstart.errors.HeadstartError: loss 'focal' has no option 'gama'; did you mean 'gamma'? (options: gamma)

Names are listed by ``order`` (smaller first, default 100), then by module
name, then in the order of their file: a family lists its entries in a fixed
order whatever was imported first.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import itertools
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from headstart.errors import HeadstartError, did_you_mean

DEFAULT_ORDER = 100


class _Required:
    """The value :meth:`Registry.options` gives a parameter without a default."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
_SEQUENCE = itertools.count()


@dataclass(frozen=True)
class Entry:
    """One registered thing: its name, the object, where it sorts, and free-form metadata."""

    name: str
    obj: Any
    order: float = DEFAULT_ORDER
    meta: Mapping[str, Any] = field(default_factory=dict)
    seq: int = 0

    @property
    def module(self) -> str:
        return getattr(self.obj, "__module__", None) or ""

    @property
    def qualname(self) -> str:
        return f"{self.module}.{getattr(self.obj, '__qualname__', repr(self.obj))}"


def first_doc_line(obj: Any) -> str:
    """The first line of ``obj``'s own docstring ("" without one; a dataclass's generated signature is none)."""
    doc = obj.__doc__ if isinstance(obj, type) else getattr(obj, "__doc__", None)
    if not doc or (isinstance(obj, type) and doc.startswith(f"{obj.__name__}(")):
        return ""
    return inspect.cleandoc(doc).splitlines()[0].strip()


class Registry:
    """Named things of one ``kind`` ("strategy", "imbalance method" ...), discovered in ``package``.

    ``factory=True`` (classes, or functions that build an object from options):
    :meth:`create` calls the entry with the options. ``factory=False``
    (functions that take data, e.g. a score ``f(features, labels)``): the
    parameters without a default are the function's inputs, the others its
    options, and :meth:`create` returns the function with the options bound.

    The registry also reads like a mapping: ``name in REG``, ``REG[name]`` (the
    registered object), ``list(REG)`` (the names, in order), ``len(REG)``.
    """

    def __init__(self, kind: str, package: str | None = None, *, factory: bool = True) -> None:
        self.kind = kind
        self.package = package
        self.factory = factory
        self._entries: dict[str, Entry] = {}
        self._loaded = package is None

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.package!r})"

    # ------------------------------------------------------------ registering
    def register(self, name: Any = None, *, order: float = DEFAULT_ORDER, **meta: Any) -> Any:
        """Register a class or function: ``@REG.register("name")``, or ``@REG.register()`` /
        ``@REG.register`` to use the object's ``name`` attribute. ``order`` places it in
        :meth:`names`; other keywords are metadata (:meth:`entry`)."""
        if name is not None and not isinstance(name, str):  # bare @REG.register
            return self.register(order=order, **meta)(name)

        def decorate(obj: Any) -> Any:
            key = name if name is not None else getattr(obj, "name", None)
            if not isinstance(key, str) or not key:
                raise TypeError(f"{self.kind} {obj!r}: give a name, @register('name'), or a class attribute `name`")
            self.add(key, obj, order=order, **meta)
            return obj

        return decorate

    def add(self, name: str, obj: Any, *, order: float = DEFAULT_ORDER, **meta: Any) -> Entry:
        """Register ``obj`` as ``name`` (what the decorator does)."""
        entry = Entry(name, obj, order, dict(meta), next(_SEQUENCE))
        known = self._entries.get(name)
        if known is not None and known.qualname != entry.qualname:  # the same object again: a reloaded module
            raise ValueError(f"{self.kind} '{name}' is registered twice ({known.qualname} and {entry.qualname})")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests that register a temporary entry)."""
        self._entries.pop(name, None)

    # ---------------------------------------------------------------- looking up
    def load(self) -> None:
        """Import every module of the package once (each registers its entries on import)."""
        if self._loaded or self.package is None:
            return
        self._loaded = True  # set first: a module that asks this registry while being imported sees what exists
        try:
            package = importlib.import_module(self.package)
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
                if not info.name.startswith("_"):
                    importlib.import_module(f"{self.package}.{info.name}")
        except BaseException:
            self._loaded = False
            raise

    def entries(self) -> list[Entry]:
        """Every entry, in order."""
        self.load()
        return sorted(self._entries.values(), key=lambda e: (e.order, e.module, e.seq))

    def names(self) -> list[str]:
        """The registered names, in order."""
        return [e.name for e in self.entries()]

    def unknown(self, name: str) -> HeadstartError:
        """The one-line error for a name that is not registered."""
        names = self.names()
        return HeadstartError(
            f"unknown {self.kind} '{name}'{did_you_mean(name, names)} (available: {', '.join(names)})"
        )

    def check(self, name: str) -> str:
        """``name`` if it is registered, else the one-line error."""
        self.load()
        if name not in self._entries:
            raise self.unknown(name)
        return name

    def entry(self, name: str) -> Entry:
        return self._entries[self.check(name)]

    def get(self, name: str) -> Any:
        """The registered class or function."""
        return self.entry(name).obj

    def describe(self, name: str) -> str:
        """The first line of the entry's docstring."""
        return first_doc_line(self.get(name))

    def options(self, name: str) -> dict[str, Any]:
        """The entry's options and their defaults (:data:`REQUIRED` for one without a default)."""
        return options_of(self.get(name), inputs=not self.factory)

    def create(self, name: str, **options: Any) -> Any:
        """The entry built with ``options`` (a factory), or the function with them bound.

        An unknown name or option is one line with a did-you-mean."""
        obj = self.get(name)
        allowed = self.options(name)
        for key in options:
            if key not in allowed:
                raise HeadstartError(
                    f"{self.kind} '{name}' has no option '{key}'{did_you_mean(key, allowed)} "
                    f"(options: {', '.join(allowed) or 'none'})"
                )
        if self.factory:
            return obj(**options)
        return functools.partial(obj, **options) if options else obj

    # ------------------------------------------------------------- the mapping
    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._entries

    def __getitem__(self, name: str) -> Any:
        self.load()
        return self._entries[name].obj

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self.load()
        return len(self._entries)


def options_of(obj: Callable[..., Any], inputs: bool = False) -> dict[str, Any]:
    """The keyword options ``obj`` takes, with their defaults (:data:`REQUIRED` for none).

    ``inputs=True``: the parameters without a default are the call's inputs, not options."""
    out: dict[str, Any] = {}
    for p in inspect.signature(obj).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
            continue
        if p.default is p.empty:
            if not inputs:
                out[p.name] = REQUIRED
        else:
            out[p.name] = p.default
    return out


def make_named(kind: str, registry: Mapping[str, Any], name: str, options: Mapping[str, Any]) -> Any:
    """``registry[name](**options)`` with the registry's one-line errors, for a plain ``{name: class}`` dict.

    A :class:`Registry` does this itself (:meth:`Registry.create`)."""
    reg = Registry(kind)
    for key, cls in registry.items():
        reg.add(key, cls, order=len(reg))
    return reg.create(name, **options)
