"""Import portalocker without its metadata lookup.

portalocker's ``__init__`` takes its ``__version__`` from the installed package's metadata:
importing ``importlib.metadata`` and searching ``sys.path`` for it costs 25-35 ms, more than the
rest of a ``gitstore set``. The same version is the ``Version`` header of the ``METADATA`` file
in the ``.dist-info`` folder beside the package (the one :func:`importlib.util.find_spec` finds,
as the import will), and the other ``__about__`` values are literals in its source. So a
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
    import importlib.util
    from importlib.machinery import SourceFileLoader

    try:
        # Where ``import portalocker`` will look (sys.meta_path first, as the import does), not
        # the first portalocker on sys.path: those differ under an editable install's finder,
        # and the second may be a folder a commit put in the work tree.
        spec = importlib.util.find_spec("portalocker")
        if (
            spec is None
            or not isinstance(spec.loader, SourceFileLoader)
            or spec.origin is None
            or os.path.basename(spec.origin) != "__init__.py"
        ):
            return None
        package = os.path.dirname(spec.origin)
        path = os.path.join(package, "__about__.py")
        with open(path, encoding="utf-8") as source:
            values = dict(_LITERAL.findall(source.read()))
        with os.scandir(os.path.dirname(package)) as entries:
            found = [
                e.path
                for e in entries
                if e.name.startswith("portalocker-") and e.name.endswith(".dist-info")
            ]
        if len(found) != 1 or "__package_name__" not in values:
            return None  # two installs side by side, or not the layout this knows: ask metadata
        version = _version(os.path.join(found[0], "METADATA"))
    except (OSError, UnicodeDecodeError, ValueError, ImportError):
        return None
    if version is None:
        return None
    about = types.ModuleType("portalocker.__about__")
    about.__dict__.update(values, __file__=path, __version__=version)
    about.__dict__["__getattr__"] = lambda name: getattr(_real_about(path), name)
    return about


_HEADER = re.compile(r"^(Name|Version): *(.*?) *$", re.MULTILINE)


def _version(metadata: str) -> str | None:
    """The ``Version`` header of a ``METADATA`` file (what importlib.metadata reports, which
    the folder's name may spell otherwise), when its ``Name`` is portalocker's."""
    with open(metadata, encoding="utf-8") as source:
        head = source.read(8192).split("\n\n", 1)[0]
    headers: dict[str, str] = {}
    for key, value in _HEADER.findall(head):
        headers.setdefault(key, value)
    if re.sub(r"[-_.]+", "-", headers.get("Name", "")).lower() != "portalocker":
        return None
    return headers.get("Version") or None


_real: dict[str, types.ModuleType] = {}


def _real_about(path: str) -> types.ModuleType:
    """portalocker's own ``__about__``, for a name the quick one lacks (e.g. ``get_version``);
    run once."""
    if path in _real:
        return _real[path]
    import importlib.util

    spec = importlib.util.spec_from_file_location("portalocker._real_about", path)
    if spec is None or spec.loader is None:
        raise AttributeError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _real[path] = module
    return module
