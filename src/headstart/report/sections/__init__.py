"""The report's sections: one module per concern, each registering one builder.

Every module here is imported when a report is built (see
:func:`headstart.report.section.register`): a new command's section is one new
file, nothing else to edit.
"""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    """Import every section module (each registers its builder on import)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
