"""A repository that validates its gitstore files with the pre-commit framework
(https://pre-commit.com), offline. Run: python examples/pre-commit/run.py [FOLDER]

Its `.pre-commit-config.yaml` uses the hook that this repository publishes in
`.pre-commit-hooks.yaml`, as a `repo: local` hook run with the installed `gitstore`
(`language: system`), so nothing is downloaded. A good record is committed; a broken one is
refused by the framework, with gitstore's `path:line: message`; once fixed it is committed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOOKS = HERE.parents[1] / ".pre-commit-hooks.yaml"
BIN = Path(sys.executable).parent  # where pip put gitstore and pre-commit


def environment(base: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(base / "pre-commit-cache"),  # not the user's ~/.cache
        "GIT_AUTHOR_NAME": "dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
    }


def config() -> str:
    """The published hook, as a local hook: the same id, entry, files and pass_filenames."""
    from ruamel.yaml import YAML

    (hook,) = YAML(typ="safe").load(HOOKS.read_text(encoding="utf-8"))
    lines = ["repos:", "  - repo: local", "    hooks:"]
    lines.append(f"      - id: {hook['id']}")
    lines.append(f"        name: {hook['name']}")
    lines.append(f"        entry: {hook['entry']}")
    lines.append("        language: system  # the installed gitstore: works offline")
    lines.append(f"        pass_filenames: {str(hook['pass_filenames']).lower()}")
    lines.append(f"        files: '{hook['files']}'")
    return "\n".join(lines) + "\n"


def sh(
    *args: str, cwd: Path, env: dict[str, str], ok: bool = True
) -> subprocess.CompletedProcess[str]:
    print(f"$ {' '.join(args)}")
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    output = (done.stdout + done.stderr).rstrip()
    if output:
        print(textwrap.indent(output, "  "))
    if (done.returncode == 0) != ok:
        raise SystemExit(f"expected {'success' if ok else 'a failure'}, got exit {done.returncode}")
    return done


def main() -> None:
    if shutil.which("pre-commit", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}") is None:
        raise SystemExit("pre-commit is not installed: pip install pre-commit (or '.[test]')")
    base = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="precommit-"))
    repo = base / "project"
    env = environment(base)
    sh("git", "init", "-q", str(repo), cwd=base, env=env)
    sh("gitstore", "init", ".", cwd=repo, env=env)
    (repo / ".pre-commit-config.yaml").write_text(config(), encoding="utf-8")
    print(textwrap.indent(config(), "  | "))
    # --overwrite: the framework's hook replaces the plain one `gitstore init` installed, so the
    # framework alone validates here (the two together are covered by the hook's own tests).
    sh("pre-commit", "install", "--overwrite", cwd=repo, env=env)
    sh("git", "add", "-A", cwd=repo, env=env)
    sh("git", "commit", "-qm", "Add gitstore and pre-commit", cwd=repo, env=env)

    sh("gitstore", "add", "tasks", "T-1", "title=Ship the dashboard", cwd=repo, env=env)
    sh("git", "add", "-A", cwd=repo, env=env)
    sh("git", "commit", "-qm", "A good record", cwd=repo, env=env)

    broken = repo / "records" / "tasks" / "T-2.yaml"
    broken.write_text(
        "id: T-2\nversion: 1\ntitle: Broken by hand\nstatus: finished\n", encoding="utf-8"
    )
    sh("git", "add", "-A", cwd=repo, env=env)
    refused = sh("git", "commit", "-qm", "A broken record", cwd=repo, env=env, ok=False)
    said = refused.stdout + refused.stderr
    assert "gitstore validate" in said and "Failed" in said, said
    assert "records/tasks/T-2.yaml" in said and "finished" in said, said
    head = sh("git", "log", "--format=%s", cwd=repo, env=env).stdout.splitlines()
    assert head[0] == "A good record", head  # the broken record was not committed

    broken.write_text("id: T-2\nversion: 1\ntitle: Fixed\nstatus: done\n", encoding="utf-8")
    sh("git", "add", "-A", cwd=repo, env=env)
    sh("git", "commit", "-qm", "The record, fixed", cwd=repo, env=env)
    sh("pre-commit", "run", "--all-files", cwd=repo, env=env)
    print("the broken record was refused by the pre-commit framework; the fixed one went in")


if __name__ == "__main__":
    main()
