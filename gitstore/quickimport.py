"""Import portalocker without its metadata lookup.

portalocker's ``__init__`` takes its ``__version__`` from the installed package's metadata:
importing ``importlib.metadata`` and searching ``sys.path`` for it costs 25-35 ms, more than the
rest of a ``gitstore set``. The same version is in the name of the ``.dist-info`` folder beside
the package, and the other ``__about__`` values are literals in its source. So a
``portalocker.__about__`` made from those goes into ``sys.modules`` first, and portalocker's own
``from . import __about__`` takes it. A name it lacks is looked up in the real ``__about__``
(loaded then), and anything unexpected (portalocker already imported, no ``.dist-info`` folder
as in a source checkout, another layout) leaves portalocker to import itself as usual: only
slower, never different.
"""

from __future__ import annotations

import os
import re
import sys
import types

_LITERAL = re.compile(r"^(__[a-z_]+__) = '([^'\\\n]*)'$", re.MULTILINE)


def load_portalocker() -> types.ModuleType:
    if "portalocker" not in sys.modules:
        about = _about()
        if about is not None:
            sys.modules.setdefault("portalocker.__about__", about)
    import portalocker

    return portalocker


def _about() -> types.ModuleType | None:
    from importlib.machinery import PathFinder

    try:
        spec = PathFinder.find_spec("portalocker")
        if spec is None or spec.origin is None:
            return None
        package = os.path.dirname(spec.origin)
        with open(os.path.join(package, "__about__.py"), encoding="utf-8") as source:
            values = dict(_LITERAL.findall(source.read()))
        with os.scandir(os.path.dirname(package)) as entries:
            versions = [
                e.name[len("portalocker-") : -len(".dist-info")]
                for e in entries
                if e.name.startswith("portalocker-") and e.name.endswith(".dist-info")
            ]
    except (OSError, UnicodeDecodeError, ValueError, ImportError):
        return None
    if len(versions) != 1 or "__package_name__" not in values:
        return None  # two installs side by side, or not the layout this knows: ask metadata
    path = os.path.join(package, "__about__.py")
    about = types.ModuleType("portalocker.__about__")
    about.__dict__.update(values, __file__=path, __version__=versions[0])
    about.__dict__["__getattr__"] = lambda name: getattr(_real_about(path), name)
    return about


def _real_about(path: str) -> types.ModuleType:
    """portalocker's own ``__about__``, for a name the quick one lacks (e.g. ``get_version``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("portalocker._real_about", path)
    if spec is None or spec.loader is None:
        raise AttributeError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
