"""The manifest of a study: what each finished session was computed from, and what it wrote.

``manifest.json`` in the output folder holds, per session, the input file (path,
size, modification time and a hash of its first and last megabyte), the hash of
the analysis config, the outputs written, the status and the session's summary
row. It is rewritten atomically after every finished session, so a run killed at
any moment leaves either the previous or the next manifest, never half of one
(for a large study, writes are spaced so that they take about 2 % of the run:
:meth:`Manifest.write_soon`).

On restart a session is skipped when its entry says it finished, its input
fingerprint and config hash are the ones of now, and its outputs still exist;
anything else (a changed file or config, a failed session, a lost output) is
computed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from behavior._json import to_jsonable

logger = logging.getLogger(__name__)

__all__ = ["MANIFEST_NAME", "Manifest", "file_fingerprint"]

MANIFEST_NAME = "manifest.json"
#: Bytes hashed at each end of an input file for its fingerprint.
HASHED_BYTES = 1 << 20
_VERSION = 1
#: :meth:`Manifest.write_soon` waits this many times the last write's duration.
WRITE_COST_FACTOR = 50.0


def file_fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """Size, modification time and a hash of the first and last megabyte of a file.

    Cheap for any file size (at most 2 MB read), and enough to notice a file that
    was replaced or edited since a session was computed from it.

    Parameters
    ----------
    path
        An existing file.

    Returns
    -------
    dict
        ``size`` (bytes), ``mtime_ns`` and ``head_tail_blake2b`` (hex).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = f.write_text("poses")
    >>> fp = file_fingerprint(f)
    >>> fp["size"], len(fp["head_tail_blake2b"])
    (5, 32)
    """
    path = Path(path)
    stat = path.stat()
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str(stat.st_size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(HASHED_BYTES))
        if stat.st_size > HASHED_BYTES:
            handle.seek(max(HASHED_BYTES, stat.st_size - HASHED_BYTES))
            digest.update(handle.read(HASHED_BYTES))
    return {
        "size": int(stat.st_size),
        "mtime_ns": int(stat.st_mtime_ns),
        "head_tail_blake2b": digest.hexdigest(),
    }


@dataclass
class Manifest:
    """The sessions of one output folder, read from and written to ``manifest.json``.

    Attributes
    ----------
    path
        The manifest file.
    sessions
        Session name -> entry (``input``, ``fingerprint``, ``config_hash``,
        ``status``, ``outputs`` (kind -> path relative to the output folder),
        ``summary``, ``warnings``, ``error``, ``seconds``).

    Examples
    --------
    >>> import tempfile
    >>> m = Manifest.load(tempfile.mkdtemp())
    >>> m.record("a.h5", {"input": "a.h5", "status": "ok", "outputs": {}})
    >>> _ = m.write()
    >>> sorted(Manifest.load(m.path.parent).sessions)
    ['a.h5']
    """

    path: Path
    sessions: dict[str, dict[str, Any]]
    _last_write: float = field(default=-math.inf, repr=False, compare=False)
    _interval: float = field(default=0.0, repr=False, compare=False)

    @classmethod
    def load(cls, out: str | os.PathLike) -> Manifest:
        """Read ``out/manifest.json``; an absent file gives an empty manifest.

        A manifest that cannot be read (not JSON, another layout) is set aside
        with a warning in the log and the study starts from an empty one: every
        session is then computed again, nothing is lost.
        """
        path = Path(out) / MANIFEST_NAME
        if not path.exists():
            return cls(path, {})
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, Mapping) or data.get("version") != _VERSION:
                raise ValueError(f"expected a mapping with version {_VERSION}")
            sessions = data.get("sessions", {})
            if not isinstance(sessions, Mapping):
                raise ValueError("expected 'sessions' to be a mapping")
        except (OSError, ValueError) as err:
            logger.warning(
                "%s: cannot be read (%s); every session will be computed again", path, err
            )
            return cls(path, {})
        return cls(path, {str(k): dict(v) for k, v in sessions.items()})

    def record(self, name: str, entry: Mapping[str, Any]) -> None:
        """Set the entry of session ``name`` (call :meth:`write` to save it)."""
        self.sessions[name] = to_jsonable(dict(entry))

    def write(self) -> Path:
        """Write the manifest atomically (temp file, read back, renamed into place)."""
        from behavior.io.registry import atomic_path

        start = time.monotonic()
        text = json.dumps(
            {"version": _VERSION, "sessions": self.sessions}, indent=1, allow_nan=True
        )
        with atomic_path(self.path, verify=_verify_json) as tmp:
            tmp.write_text(text, encoding="utf-8")
        self._last_write = time.monotonic()
        self._interval = WRITE_COST_FACTOR * (self._last_write - start)
        return self.path

    def write_soon(self) -> bool:
        """Write now unless the last write was very recent; return whether it wrote.

        After each finished session: the manifest is rewritten whole, so for a
        large study each write is skipped until :data:`WRITE_COST_FACTOR` times the
        last write's duration has passed (writing then costs at most about 2 % of
        the run). A small study's manifest takes milliseconds to write, so it is
        written after every session; for 10,000 sessions (about 20 MB) every few
        seconds. A run killed in between recomputes only the sessions finished
        since the last write. Call :meth:`write` at the end of a run.
        """
        if time.monotonic() - self._last_write < self._interval:
            return False
        self.write()
        return True

    def is_current(
        self, name: str, input_path: Path, fingerprint: Mapping[str, Any], config_hash: str
    ) -> bool:
        """Whether session ``name`` finished from this very input and config, outputs intact.

        Parameters
        ----------
        name
            The session name.
        input_path
            Its input file now.
        fingerprint
            :func:`file_fingerprint` of the input now.
        config_hash
            The config's hash now.
        """
        entry = self.sessions.get(name)
        if not entry or entry.get("status") == "failed":
            return False
        if entry.get("input") != str(input_path) or entry.get("config_hash") != config_hash:
            return False
        if dict(entry.get("fingerprint") or {}) != dict(fingerprint):
            return False
        outputs = entry.get("outputs") or {}
        if not outputs:
            return False
        out = self.path.parent
        return all((out / str(rel)).exists() for rel in outputs.values())


def _verify_json(path: Path) -> None:
    json.loads(path.read_text(encoding="utf-8"))
