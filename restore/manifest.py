"""What produced each output of a batch: a JSON-lines file in each output folder, so that a re-run knows whether an
existing output answers the same request (skip it: resume) or another one (redo it).

Two lines per written output: ``{"file": "<name>", "request": {...}, "pending": true, "by": "<run>"}`` appended
before the output is written (an intent), and the same without ``pending`` once it is in place. The last line for
a name wins, so an output whose last line is still an intent was being written when a run stopped: its content is
unknown and it is redone. Lines are appended (a batch of a million files does not rewrite a million-entry file).
Outputs without any line (written by something else, or before manifests existed) are left alone: the batch
skips them, and a folder scan takes them for inputs (only recorded outputs are this tool's).

The file is the tool's own: a symlink, a hard link or another kind of file at its name is never written
through (it is replaced by a regular file); a damaged line (torn, not UTF-8, not JSON, not a record) is skipped,
said once per folder through ``warn``.
"""
from __future__ import annotations

import errno
import json
import os
import secrets
import stat
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAME = ".restore-manifest.jsonl"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO at the name must not block the open


@dataclass(frozen=True)
class Record:
    """One line: the request behind ``file``; ``pending`` while its output was being written, by run ``by``."""

    request: dict[str, Any]
    pending: bool = False
    by: str = ""


def _parse(data: bytes) -> tuple[list[tuple[str, Record]], int]:
    """The records of a manifest's bytes, in order, and the number of damaged lines (a torn last line, what a
    killed run leaves, is not counted)."""
    out: list[tuple[str, Record]] = []
    damaged = 0
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line.decode("utf-8"))
            name, request = rec["file"], rec["request"]
            pending, by = rec.get("pending", False), rec.get("by", "")
            if not isinstance(name, str) or not isinstance(request, dict) or not isinstance(pending, bool) \
                    or not isinstance(by, str):
                raise TypeError
        except (ValueError, KeyError, TypeError, RecursionError):
            damaged += i < len(lines) - 1
            continue
        out.append((name, Record(request, pending, by)))
    return out, damaged


class Manifest:
    """The requests behind the outputs under the folders of a batch (read lazily, one file per folder).
    Thread-safe: records are appended from the writer thread.

    Args:
        warn: told once per folder about damaged lines or a manifest that is not a regular file.
    """

    def __init__(self, warn: Callable[[str], None] | None = None) -> None:
        self._folders: dict[Path, dict[str, Record]] = {}
        self._warn = warn
        self._lock = threading.RLock()
        self._warned: set[tuple[Path, str]] = set()
        self._foreign: dict[Path, dict[str, Any]] = {}
        #: tells this run's intents from a concurrent run's
        self.run = secrets.token_hex(8)

    def _say(self, folder: Path, key: str, msg: str) -> None:
        if self._warn is not None and (folder, key) not in self._warned:
            self._warned.add((folder, key))
            self._warn(msg)

    def _read(self, folder: Path) -> list[tuple[str, Record]]:
        """The folder's records as on disk now (never through a link, never blocking on a FIFO)."""
        path = folder / NAME
        try:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
        except OSError as e:
            if e.errno == errno.ELOOP:
                self._say(folder, "link", f"{path}: a symlink, not this tool's record; ignored (replaced when an "
                                          "output is written)")
            return []
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                self._say(folder, "kind", f"{path}: not a regular file; ignored")
                return []
            records, damaged = _parse(fh.read())
        if damaged:
            self._say(folder, "damaged", f"{path}: skipped {damaged} damaged line{'s' if damaged > 1 else ''}")
        return records

    def _load(self, folder: Path) -> dict[str, Record]:
        folder = folder.resolve()
        with self._lock:
            if folder not in self._folders:
                self._folders[folder] = dict(self._read(folder))
            return self._folders[folder]

    def record_of(self, output: Path) -> Record | None:
        """The last line recorded for ``output`` (an intent or a finished output), or None."""
        return self._load(output.parent).get(output.name)

    def request_of(self, output: Path) -> dict[str, Any] | None:
        """The request of ``output``'s finished record, or None (no record, or an unfinished one)."""
        rec = self.record_of(output)
        return None if rec is None or rec.pending else rec.request

    def is_recorded(self, path: Path) -> bool:
        """Whether ``path`` is one of this tool's outputs (its folder's manifest has a line for it)."""
        return self.record_of(path) is not None

    def made_elsewhere(self, output: Path, request: dict[str, Any]) -> bool:
        """Whether the manifest on disk now says another run wrote ``output`` for this same ``request`` (its
        last line for it not appended by this run) — a concurrent identical batch. Reads only what was appended
        since the last call for the folder."""
        folder = output.parent.resolve()
        with self._lock:
            seen = self._foreign.setdefault(folder, {"ino": None, "offset": 0, "last": {}})
            path = folder / NAME
            try:
                fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
            except OSError:
                return False
            with os.fdopen(fd, "rb") as fh:
                st = os.fstat(fh.fileno())
                if not stat.S_ISREG(st.st_mode):
                    return False
                if (st.st_dev, st.st_ino) != seen["ino"] or st.st_size < seen["offset"]:
                    seen.update(ino=(st.st_dev, st.st_ino), offset=0, last={})
                fh.seek(seen["offset"])
                new = fh.read()
            whole = new[:new.rfind(b"\n") + 1]  # a line still being appended is read next time
            seen["offset"] += len(whole)
            for name, rec in _parse(whole)[0]:
                if rec.by != self.run:
                    seen["last"][name] = rec
            last = seen["last"].get(output.name)
        return last is not None and last.request == request

    def begin(self, output: Path, request: dict[str, Any]) -> None:
        """Record that ``output`` is about to be written for ``request`` (before it is: a run stopped between
        the two leaves an intent, and the output is redone). Best effort, like :meth:`record`."""
        self._append(output, Record(request, pending=True, by=self.run), sync=True)

    def record(self, output: Path, request: dict[str, Any]) -> None:
        """Record that ``output`` now holds the answer to ``request`` (best effort: a read-only folder loses
        only the record)."""
        self._append(output, Record(request, by=self.run))

    def _append(self, output: Path, rec: Record, sync: bool = False) -> None:
        folder = output.parent.resolve()
        line = {"file": output.name, "request": rec.request, "by": rec.by}
        if rec.pending:
            line["pending"] = True
        data = (json.dumps(line, sort_keys=True) + "\n").encode("utf-8")
        with self._lock:
            entries = self._load(folder)
            try:
                folder.mkdir(parents=True, exist_ok=True)  # an intent comes before the output makes its folder
                fd = self._open_for_append(folder, entries)
            except OSError:
                entries[output.name] = rec
                return
            entries[output.name] = rec
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # after a torn line, not glued to it
                os.write(fd, data)  # one write: concurrent appenders' lines do not interleave
                if sync:
                    os.fsync(fd)
            except OSError:
                pass
            finally:
                os.close(fd)

    def _open_for_append(self, folder: Path, entries: dict[str, Record]) -> int:
        """An fd appending to the folder's manifest, a regular file with one link; anything else at the name (a
        symlink, a hard link, a FIFO) is replaced by a new file holding the records known here."""
        path = folder / NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _NONBLOCK, 0o666)
        except OSError as e:
            if e.errno not in (errno.ELOOP, errno.ENXIO):  # ENXIO: a FIFO without a reader
                raise
            fd = -1
        if fd >= 0:
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
                os.set_blocking(fd, True)
                return fd
            os.close(fd)
        if os.path.isdir(path) and not os.path.islink(path):
            self._say(folder, "kind", f"{path}: a folder; outputs here are not recorded")
            raise OSError(errno.EISDIR, "manifest is a folder")
        # a fresh file renamed over the name: the link or FIFO goes, whatever it pointed to is left untouched
        snapshot = b"".join((json.dumps({"file": n, "request": r.request, "by": r.by,
                                         **({"pending": True} if r.pending else {})}, sort_keys=True) + "\n").encode()
                            for n, r in entries.items())
        tfd, tmp = tempfile.mkstemp(prefix=f"{NAME}.", suffix=".tmp", dir=folder)
        try:
            os.write(tfd, snapshot)
            os.fchmod(tfd, 0o644)
            os.replace(tmp, path)
        except OSError:
            os.close(tfd)
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        os.close(tfd)
        self._say(folder, "replaced", f"{path}: was not a regular file of its own; replaced")
        return os.open(path, os.O_RDWR | os.O_APPEND | _NOFOLLOW)


_digests: dict[tuple, str] = {}
_digests_lock = threading.Lock()


def content_digest(path: Path) -> str:
    """sha256 of a file's bytes, cached per process while its size, times and inode stay the same — what an
    input of a request is, whatever its name. A FIFO or other non-regular file is not read (it could block).

    Raises:
        OSError: missing, unreadable, or not a regular file.
    """
    import hashlib

    fd = os.open(path, os.O_RDONLY | _NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        with _digests_lock:
            if key in _digests:
                return _digests[key]
        h = hashlib.sha256()
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    with _digests_lock:
        _digests[key] = h.hexdigest()
    return _digests[key]


def describe(request: dict[str, Any]) -> str:
    """A short human form of a request, for messages (digests shortened)."""
    def short(v: Any) -> Any:
        return v[:12] if isinstance(v, str) and len(v) == 64 else v

    return ", ".join(f"{k} {short(v)}" for k, v in sorted(request.items()) if k != "op")
