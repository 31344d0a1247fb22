"""gitstore imports portalocker without its metadata lookup, and portalocker is the same for it."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import sys
{first}
import gitstore.lock
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
    """Without portalocker imported before, gitstore skips importlib.metadata (25-35 ms of each
    write command) and portalocker's version and other metadata are still exactly its own;
    with it imported before, gitstore takes it as it is."""
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(first=first), str(tmp_path / "lock")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == said
