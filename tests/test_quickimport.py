"""gitstore imports portalocker (for doctor's look at the locks) without its metadata lookup, and
portalocker is the same for it."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import sys
{first}
from gitstore.quickimport import load_portalocker
load_portalocker()
import portalocker
looked_up = "importlib.metadata" in sys.modules
import importlib.metadata, importlib.util
spec = importlib.util.spec_from_file_location("real", portalocker.__about__.__file__)
real = importlib.util.module_from_spec(spec)
spec.loader.exec_module(real)
names = [n for n in vars(real) if n.startswith("__") and isinstance(getattr(real, n), str)]
names = [n for n in names if n not in ("__name__", "__file__", "__cached__", "__doc__", "__package__")]
assert len(names) >= 5, names
for name in names:
    assert getattr(portalocker, name, getattr(real, name)) == getattr(real, name), name
    assert getattr(portalocker.__about__, name) == getattr(real, name), name
assert portalocker.__version__ == importlib.metadata.version("portalocker")
assert portalocker.__about__.get_version() == portalocker.__version__  # from the real module
with portalocker.Lock(sys.argv[1], timeout=1):
    pass
print("looked up" if looked_up else "not looked up")
"""


@pytest.mark.parametrize(
    ("first", "said"), [("", "not looked up"), ("import portalocker", "looked up")]
)
def test_portalocker_is_imported_without_its_metadata_lookup(
    tmp_path, first: str, said: str
) -> None:
    """Without portalocker imported before, gitstore skips importlib.metadata (25-35 ms of a
    doctor run) and portalocker's version and other metadata are still exactly its own;
    with it imported before, gitstore takes it as it is."""
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(first=first), str(tmp_path / "lock")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == said


HOSTILE = """
import importlib.machinery, os, sys
site, hostile, real_version = sys.argv[1], sys.argv[2], sys.argv[3]

class Editable:  # like an editable install's finder: portalocker comes from `site`, not sys.path
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "portalocker":
            return importlib.machinery.PathFinder.find_spec(name, [site])
        return None

sys.meta_path.insert(0, Editable)
sys.path.insert(0, hostile)  # e.g. the work tree, with a portalocker/ a commit put there
from gitstore.quickimport import load_portalocker
load_portalocker()
import portalocker
assert os.path.dirname(portalocker.__file__).startswith(site), portalocker.__file__
assert portalocker.__about__.__file__.startswith(site), portalocker.__about__.__file__
assert portalocker.__version__ == real_version, portalocker.__version__
assert portalocker.__author__ != "attacker"
portalocker.__about__.get_version  # a name the quick module lacks: the real one is read
assert not os.path.exists(os.path.join(hostile, "ran")), "the hostile __about__ was executed"
print("ok")
"""


def test_the_metadata_comes_from_the_portalocker_that_is_imported(tmp_path) -> None:
    """Where the import system finds portalocker (an earlier finder on sys.meta_path, e.g. an
    editable install) and the first portalocker on sys.path differ, the quick ``__about__`` is
    made from the one that is imported: never from another folder (the work tree, the current
    directory), whose ``__about__.py`` must never be run."""
    import importlib.metadata
    import os

    import portalocker

    site = os.path.dirname(os.path.dirname(portalocker.__file__))
    hostile = tmp_path / "tree"
    (hostile / "portalocker").mkdir(parents=True)
    (hostile / "portalocker-9.9.9.dist-info").mkdir()
    (hostile / "portalocker" / "__init__.py").write_text("raise SystemExit('hostile package')\n")
    marker = hostile / "ran"
    (hostile / "portalocker" / "__about__.py").write_text(
        f"__package_name__ = 'portalocker'\n__author__ = 'attacker'\nopen({str(marker)!r}, 'w')\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            HOSTILE,
            site,
            str(hostile),
            importlib.metadata.version("portalocker"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert not marker.exists()


LAYOUT = """
import importlib.metadata, sys
sys.path.insert(0, sys.argv[1])
from gitstore.quickimport import load_portalocker
load_portalocker()
import portalocker
assert portalocker.__file__.startswith(sys.argv[1]), portalocker.__file__
assert portalocker.__version__ == importlib.metadata.version("portalocker"), (
    portalocker.__version__, importlib.metadata.version("portalocker"))
assert portalocker.__about__.__version__ == portalocker.__version__
print(portalocker.__version__)
"""


@pytest.mark.parametrize(
    ("folders", "expected"),
    [
        ({"portalocker-7.0.dist-info": "7.0"}, "7.0"),
        # the folder's name and METADATA disagree: importlib.metadata says METADATA's
        ({"portalocker-7.0.dist-info": "7.0.0.post0"}, "7.0.0.post0"),
        # two installs in one folder: whichever importlib.metadata takes, the same here
        ({"portalocker-7.0.dist-info": "7.0", "portalocker-8.0.dist-info": "8.0"}, None),
        ({}, None),  # a source checkout: no metadata beside it (get_version's own fallback)
    ],
)
def test_the_version_is_what_importlib_metadata_says_in_any_layout(
    tmp_path, folders: dict[str, str], expected: str | None
) -> None:
    import shutil

    import portalocker

    site = tmp_path / "site"
    shutil.copytree(
        portalocker.__path__[0], site / "portalocker", ignore=shutil.ignore_patterns("*.pyc")
    )
    for name, version in folders.items():
        (site / name).mkdir()
        (site / name / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: portalocker\nVersion: {version}\n\nbody\n"
        )
    done = subprocess.run([sys.executable, "-c", LAYOUT, str(site)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    if expected is not None:
        assert done.stdout.strip() == expected
