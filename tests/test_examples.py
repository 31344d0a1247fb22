"""Every example runs, as a person would run it, and ends as its README says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

ENDINGS = {
    "daemon_and_user": "nothing was lost",
    "migrate_sqlite": "5 tasks from 2 databases in one store",
    "team_sync": "0 conflicts",
    "pre-commit": "the broken record was refused by the pre-commit framework",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ENDINGS))
def test_example_runs(name: str, tmp_path: Path) -> None:
    script = EXAMPLES / name / "run.py"
    assert (EXAMPLES / name / "README.md").is_file()
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,  # generous: a busy CI machine; nothing here is timed
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert ENDINGS[name] in done.stdout
