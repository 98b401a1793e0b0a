"""Write-once, content-addressed storage for sealed reports (no Flask, no database).

Layout: ``<root>/<sha256[:2]>/<sha256><suffix>``, files mode 0444.  A stored file is
never replaced: the name *is* the content hash, so an existing file with the same name
but other bytes means corruption or tampering and is reported, not overwritten.

Durability follows the usual POSIX recipe: write a temporary file in the target
directory, fsync it, hard-link it to the final name (``link`` fails instead of
replacing an existing file, unlike ``rename``), then fsync the directory so the new
entry survives a crash.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Archive", "ArchiveError", "StoredFile", "QUARANTINE_DIR"]

# Files set aside by ``archive verify --repair`` (orphans that cannot be linked to their record).  Kept
# inside the root so they stay on the same volume (a rename, never a copy) and in the same backups of the
# volume; ``iter_files`` only walks the two-hex-digit shards, so they are no longer part of the live archive.
QUARANTINE_DIR = "quarantine"

_SUFFIX_RE = re.compile(r"^\.[a-z0-9]{1,10}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_SHARD_RE = re.compile(r"^[0-9a-f]{2}$")
_TEMP_PREFIX = ".tmp-"
_TEMP_SUFFIX = ".part"
# Owner and the service's group only (the group may be a backup account): an archived file is read-only
# for both, a directory readable by the group, nothing for others (README, Operations: permissions).
FILE_MODE = 0o440
DIR_MODE = 0o750
_CHUNK = 1 << 20


class ArchiveError(Exception):
    """Storage failure.  ``code`` is one of ``no_space``, ``io``, ``exists_different``,
    ``missing``, ``corrupt`` or ``invalid_path`` (a relative path that is malformed or
    would leave the archive root)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    relative_path: str  # "ab/abcdef….pdf", always with "/" separators


def _from_oserror(exc: OSError, action: str) -> ArchiveError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ArchiveError("no_space", f"No space left on the archive volume while {action}.")
    return ArchiveError("io", f"I/O error while {action}: {exc.strerror or exc}.")


def _make_dirs(path: Path) -> None:
    """``mkdir -p`` giving each directory it creates DIR_MODE (mkdir's mode is narrowed by the umask)."""
    missing = [p for p in (path, *path.parents) if not p.exists()][::-1]
    for directory in missing:
        directory.mkdir(exist_ok=True)
        os.chmod(directory, DIR_MODE)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in chunks (archived reports, backups)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Archive:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- paths -------------------------------------------------------------------------

    def path_for(self, stored_relative_path: str) -> Path:
        """Absolute path of a stored file; refuses anything that could leave the root."""
        rel = stored_relative_path
        if (
            not isinstance(rel, str)
            or not rel
            or "\x00" in rel
            or "\\" in rel
            or rel.startswith("/")
        ):
            raise ArchiveError("invalid_path", f"Invalid archive path: {rel!r}.")
        parts = rel.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise ArchiveError("invalid_path", f"Invalid archive path: {rel!r}.")
        root = self.root.resolve()
        candidate = root.joinpath(*parts)
        # realpath also catches a symlink planted inside the archive pointing out of it.
        if not Path(os.path.realpath(candidate)).is_relative_to(root):
            raise ArchiveError("invalid_path", f"Archive path leaves the archive: {rel!r}.")
        return candidate

    # -- write -------------------------------------------------------------------------

    def store(self, data: bytes, suffix: str = ".pdf") -> StoredFile:
        """Store ``data`` once; storing identical bytes again returns the same record."""
        if not _SUFFIX_RE.match(suffix):
            raise ValueError(f"Invalid suffix {suffix!r}: expected e.g. '.pdf'")
        data = bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        relative = f"{sha[:2]}/{sha}{suffix}"
        stored = StoredFile(sha256=sha, size=len(data), relative_path=relative)
        final = self.path_for(relative)
        shard = final.parent

        if final.exists():
            return self._existing(final, stored)

        try:
            new_shard = not shard.is_dir()
            _make_dirs(shard)
            if new_shard:
                _fsync_dir(shard.parent)
        except OSError as exc:
            raise _from_oserror(exc, "creating the archive directory") from exc

        tmp_path: Path | None = None
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX, dir=shard)
            tmp_path = Path(tmp_name)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            # Read-only before it gets its final name, so the stored file is never
            # writable, not even for an instant.
            os.chmod(tmp_path, FILE_MODE)
            try:
                os.link(tmp_path, final)
            except FileExistsError:
                # A concurrent writer stored the same name first.
                return self._existing(final, stored)
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                    raise
                # Filesystem without hard links: re-check, then rename.  The name is
                # the content hash, so a lost race can only replace equal bytes.
                if final.exists():
                    return self._existing(final, stored)
                os.rename(tmp_path, final)
                tmp_path = None
            _fsync_dir(shard)
        except ArchiveError:
            raise
        except OSError as exc:
            raise _from_oserror(exc, "writing to the archive") from exc
        finally:
            if tmp_path is not None:
                try:
                    tmp_path.unlink(missing_ok=True)
                except OSError:
                    pass
        return stored

    def _existing(self, final: Path, stored: StoredFile) -> StoredFile:
        try:
            actual = sha256_file(final)
        except OSError as exc:
            raise _from_oserror(exc, "checking an existing archive file") from exc
        if actual != stored.sha256:
            raise ArchiveError(
                "exists_different",
                f"The archive file {stored.relative_path} exists with different content.",
            )
        return stored

    # -- quarantine --------------------------------------------------------------------

    def quarantine(self, relative_path: str, note: str) -> str:
        """Move a stored file out of the live archive into ``<root>/quarantine/`` and write ``note`` (why)
        next to it as ``<name>.txt``.  Nothing is ever deleted.  Returns the new root-relative path.

        The file is renamed, not copied (same volume, atomic); if a file of that name is already in
        quarantine (the same orphan quarantined before), a numbered name is used instead of replacing it.
        A hidden name (a temporary file's) loses its leading dot, so the file shows in a listing.
        """
        source = self.path_for(relative_path)
        target_dir = self.root / QUARANTINE_DIR
        try:
            new_dir = not target_dir.is_dir()
            _make_dirs(target_dir)
            if new_dir:
                _fsync_dir(self.root)
            base = source.name.lstrip(".") or "unnamed"
            name, number = base, 1
            while (target_dir / name).exists() or (target_dir / f"{name}.txt").exists():
                number += 1
                name = f"{base}.{number}"
            target = target_dir / name
            os.rename(source, target)
            _fsync_dir(target_dir)
            _fsync_dir(source.parent)
            fd = os.open(target_dir / f"{name}.txt", os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            try:
                os.fchmod(fd, FILE_MODE)  # os.open's mode is narrowed by the umask
                view = memoryview(note.encode("utf-8"))
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            _fsync_dir(target_dir)
        except OSError as exc:
            raise _from_oserror(exc, "moving a file into quarantine") from exc
        return f"{QUARANTINE_DIR}/{name}"

    # -- read --------------------------------------------------------------------------

    def read(self, relative_path: str, expected_sha256: str | None = None) -> bytes:
        """Read a stored file and check its SHA-256.

        The check uses ``expected_sha256`` when given, otherwise the hash in the file
        name (every file this class writes is named after its hash).
        """
        path = self.path_for(relative_path)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ArchiveError("missing", f"The archive file {relative_path} does not exist.") from None
        except OSError as exc:
            raise _from_oserror(exc, "reading from the archive") from exc
        expected = expected_sha256
        if expected is None:
            stem = path.name.split(".", 1)[0]
            expected = stem if _SHA256_RE.match(stem) else None
        if expected is not None and hashlib.sha256(data).hexdigest() != expected.lower():
            raise ArchiveError("corrupt", f"The archive file {relative_path} does not match its hash.")
        return data

    def iter_files(self) -> Iterator[str]:
        """Relative paths of all stored files (temporary files excluded), sorted."""
        for shard, entry in self._shard_entries():
            if not entry.name.startswith("."):
                yield f"{shard.name}/{entry.name}"

    def iter_temporary_files(self) -> Iterator[str]:
        """Relative paths of the temporary files of writes (``<shard>/.tmp-*.part``), sorted: a write in
        progress, or what a write that never finished left behind (the process died before its ``finally``)."""
        for shard, entry in self._shard_entries():
            if entry.name.startswith(_TEMP_PREFIX) and entry.name.endswith(_TEMP_SUFFIX):
                yield f"{shard.name}/{entry.name}"

    def _shard_entries(self) -> Iterator[tuple[Path, Path]]:
        if not self.root.is_dir():
            return
        for shard in sorted(self.root.iterdir()):
            if not shard.is_dir() or shard.is_symlink() or not _SHARD_RE.match(shard.name):
                continue
            for entry in sorted(shard.iterdir()):
                if entry.is_file() and not entry.is_symlink():
                    yield shard, entry

    def age(self, relative_path: str, now: float | None = None) -> float:
        """Seconds since the file was written: since the earlier of its modification time and its inode
        change time (POSIX ``stat``: ``link`` and ``chmod`` set the latter to the current time, and nobody
        can set it back), so a modification time moved into the future does not keep a file young."""
        info = self.path_for(relative_path).stat()
        return (time.time() if now is None else now) - min(info.st_mtime, info.st_ctime)
