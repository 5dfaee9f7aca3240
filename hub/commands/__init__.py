"""Command groups of the ``hub`` command, one module each.

Every module here defines ``register(app: typer.Typer) -> None``, which adds its
commands; ``hub.cli`` calls each in name order.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer


def register_all(app: typer.Typer) -> None:
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{module.name}").register(app)
