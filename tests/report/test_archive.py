"""Write-once content-addressed archive."""
from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

import pytest

from assessments.archive import Archive, ArchiveError, StoredFile

PDF = b"%PDF-1.7\n% sealed report \xc3\xa5\xc3\xa4\xc3\xb6\n%%EOF\n"


def _all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_store_layout_and_read(tmp_path):
    archive = Archive(tmp_path / "archive")
    stored = archive.store(PDF)
    sha = hashlib.sha256(PDF).hexdigest()
    assert stored == StoredFile(sha256=sha, size=len(PDF), relative_path=f"{sha[:2]}/{sha}.pdf")
    path = archive.path_for(stored.relative_path)
    assert path == (tmp_path / "archive").resolve() / sha[:2] / f"{sha}.pdf"
    assert stat.S_IMODE(path.stat().st_mode) == 0o440  # owner and group read only
    assert stat.S_IMODE(path.parent.stat().st_mode) == stat.S_IMODE(archive.root.stat().st_mode) == 0o750
    assert archive.read(stored.relative_path) == PDF
    assert archive.read(stored.relative_path, expected_sha256=sha) == PDF
    assert archive.read(stored.relative_path, expected_sha256=sha.upper()) == PDF
    assert list(archive.iter_files()) == [stored.relative_path]


def test_store_is_idempotent_and_leaves_no_temp_files(tmp_path):
    archive = Archive(tmp_path)
    first = archive.store(PDF)
    second = archive.store(PDF)
    assert first == second
    other = archive.store(b"other bytes", suffix=".json")
    assert other.relative_path.endswith(".json")
    assert _all_files(tmp_path) == sorted([first.relative_path, other.relative_path])
    assert sorted(archive.iter_files()) == sorted([first.relative_path, other.relative_path])


def test_existing_file_with_other_content(tmp_path):
    archive = Archive(tmp_path)
    stored = archive.store(PDF)
    path = archive.path_for(stored.relative_path)
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(ArchiveError) as err:
        archive.store(PDF)
    assert err.value.code == "exists_different"
    assert path.read_bytes() == b"tampered"  # never overwritten
    with pytest.raises(ArchiveError) as err:
        archive.read(stored.relative_path)  # the name is the hash: checked by default
    assert err.value.code == "corrupt"


def test_read_errors(tmp_path):
    archive = Archive(tmp_path)
    stored = archive.store(PDF)
    with pytest.raises(ArchiveError) as err:
        archive.read(stored.relative_path, expected_sha256="0" * 64)
    assert err.value.code == "corrupt"
    with pytest.raises(ArchiveError) as err:
        archive.read("ab/" + "ab" * 32 + ".pdf")
    assert err.value.code == "missing"


@pytest.mark.parametrize(
    "bad",
    ["../secret.pdf", "ab/../../secret.pdf", "/etc/passwd", "ab//x.pdf", "ab\\..\\x", "", "ab/./x", "a\x00b"],
)
def test_path_traversal_refused(tmp_path, bad):
    archive = Archive(tmp_path / "archive")
    with pytest.raises(ArchiveError) as err:
        archive.path_for(bad)
    assert err.value.code == "invalid_path"
    with pytest.raises(ArchiveError):
        archive.read(bad)


def test_symlink_out_of_archive_refused(tmp_path):
    root = tmp_path / "archive"
    (root / "ab").mkdir(parents=True)
    (tmp_path / "secret.pdf").write_bytes(b"secret")
    (root / "ab" / "x.pdf").symlink_to(tmp_path / "secret.pdf")
    archive = Archive(root)
    with pytest.raises(ArchiveError) as err:
        archive.read("ab/x.pdf")
    assert err.value.code == "invalid_path"
    assert list(archive.iter_files()) == []


def test_invalid_suffix(tmp_path):
    with pytest.raises(ValueError):
        Archive(tmp_path).store(PDF, suffix="/../x")


def test_no_space_left(tmp_path, monkeypatch):
    archive = Archive(tmp_path)
    real_write = os.write
    calls = []

    def full_disk(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:5]))  # a partial write first…
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # …then the disk is full

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(ArchiveError) as err:
        archive.store(PDF)
    monkeypatch.undo()
    assert err.value.code == "no_space"
    assert len(calls) == 2
    assert _all_files(tmp_path) == []  # neither the temp file nor a partial final file
    assert list(archive.iter_files()) == []
    # The archive still works once there is space again.
    assert archive.read(archive.store(PDF).relative_path) == PDF


def test_other_io_error(tmp_path, monkeypatch):
    archive = Archive(tmp_path)

    def broken_fsync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(ArchiveError) as err:
        archive.store(PDF)
    monkeypatch.undo()
    assert err.value.code == "io"
    assert _all_files(tmp_path) == []


def test_iter_files_on_missing_root(tmp_path):
    assert list(Archive(tmp_path / "nothing-yet").iter_files()) == []
