"""Every table of the product: the models of ``storage/models*.py`` together.

Tables of one area may live in a module of their own, ``storage/models_<area>.py``,
on the shared :class:`storage.models.Base`; Alembic sees them all through here.
"""

from __future__ import annotations

import importlib
import pkgutil

import storage
from storage.models import Base

for _module in pkgutil.iter_modules(storage.__path__):
    if _module.name.startswith("models"):
        importlib.import_module(f"storage.{_module.name}")

metadata = Base.metadata
