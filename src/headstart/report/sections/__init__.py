"""The report's sections: one module per concern, each registering one builder.

:data:`headstart.report.section.SECTIONS` imports every module here the first
time a report is built (``pkgutil``): a new command's section is one new file,
nothing else to edit.
"""

from __future__ import annotations


def load_all() -> None:
    """Import every section module (each registers its builder on import)."""
    from headstart.report.section import SECTIONS

    SECTIONS.load()
