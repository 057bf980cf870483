"""The adapters Village Brain knows: every module in this package that declares one.

An adapter module defines `NAME`, an `Options` struct (its settings, checked once when the
configuration is read) and `make(options, catalog) -> Adapter`. Adding a family is adding
such a module; nothing else needs to change.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType
from typing import Any

import msgspec

from village_brain.core.catalog import Catalog
from village_brain.ingest.sources.base import Adapter


@cache
def adapter_modules() -> dict[str, ModuleType]:
    package = importlib.import_module(__package__)
    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{__package__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "make"):
            found[module.NAME] = module
    return found


def build_adapter(raw: dict[str, Any], catalog: Catalog, where: str) -> Adapter:
    """The adapter one `[[ingest.sources]]` table asks for; ValueError says what to fix."""
    options = dict(raw)
    name = options.pop("adapter", None)
    modules = adapter_modules()
    if name not in modules:
        known = ", ".join(sorted(modules))
        raise ValueError(f"{where}: adapter {name!r} is not one of: {known}")
    module = modules[name]
    try:
        parsed = msgspec.convert(options, module.Options, strict=False)
        return module.make(parsed, catalog)
    except (msgspec.ValidationError, ValueError) as exc:
        raise ValueError(f"{where} ({name}): {exc}") from None
