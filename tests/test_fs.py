"""fs.py: the atomic replace protocol, modes, symlinks, and what a failed write leaves."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from gitstore import folders, fs
from gitstore.errors import RecordError, WriteError


@pytest.fixture
def fault(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def arm(step: str, error: int) -> None:
        def hook(name: str, path: str) -> None:
            if name == step:
                raise OSError(error, os.strerror(error))

        monkeypatch.setattr(fs, "fault_hook", hook)

    return arm


def test_replace_writes_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a.yaml"
    fs.atomic_write(target, b"one\n")
    fs.atomic_write(target, b"two\n")
    assert target.read_bytes() == b"two\n"
    assert os.listdir(tmp_path) == ["a.yaml"]


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o664])
def test_mode_is_kept(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "a.yaml"
    target.write_bytes(b"x\n")
    target.chmod(mode)
    fs.atomic_write(target, b"y\n")
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_refuses_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.write_bytes(b"keep\n")
    link = tmp_path / "a.yaml"
    link.symlink_to(real)
    with pytest.raises(WriteError, match="symlink"):
        fs.atomic_write(link, b"new\n")
    with pytest.raises(RecordError, match="symlink"):
        fs.read_bytes(link)
    assert real.read_bytes() == b"keep\n" and link.is_symlink()


def test_refuses_read_only_file(tmp_path: Path) -> None:
    target = tmp_path / "a.yaml"
    target.write_bytes(b"keep\n")
    target.chmod(0o444)
    with pytest.raises(WriteError, match="read-only"):
        fs.atomic_write(target, b"new\n")
    assert target.read_bytes() == b"keep\n"


@pytest.mark.parametrize("step", ["open", "chmod", "write", "fsync", "replace"])
@pytest.mark.parametrize("error", [errno.EIO, errno.ENOSPC])
def test_error_at_any_step_keeps_old_content_and_no_temp(
    tmp_path: Path,
    fault,
    step: str,
    error: int,  # type: ignore[no-untyped-def]
) -> None:
    target = tmp_path / "a.yaml"
    target.write_bytes(b"old\n")
    fault(step, error)
    with pytest.raises(WriteError, match="unchanged"):
        fs.atomic_write(target, b"new\n")
    assert target.read_bytes() == b"old\n"
    assert os.listdir(tmp_path) == ["a.yaml"]


def test_failed_directory_fsync_is_reported_not_swallowed(tmp_path: Path, fault) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "a.yaml"
    target.write_bytes(b"old\n")
    fault("fsync_dir", errno.EIO)
    with pytest.raises(WriteError, match="fsync failed"):
        fs.atomic_write(target, b"new\n")


def test_read_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a" * (fs.MAX_FILE_BYTES + 1))
    with pytest.raises(RecordError, match="limit"):
        fs.read_bytes(big)


def test_stray_temps_found(tmp_path: Path) -> None:
    (tmp_path / f"{fs.TMP_PREFIX}x").write_bytes(b"")
    (tmp_path / "keep.yaml").write_bytes(b"")
    assert [p.name for p in folders.stray_temps([tmp_path, tmp_path / "missing"])] == [
        f"{fs.TMP_PREFIX}x"
    ]
