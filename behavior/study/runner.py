"""Many sessions, one task each, on dask.distributed: ``behavior analyze`` over a study.

:func:`analyze` finds the pose files, skips the sessions the manifest says are
done, sends every other session to a dask.distributed cluster as one task (a
``LocalCluster`` of worker processes by default, or any scheduler address), and
gathers the results with ``as_completed``: each finished session is recorded in
the manifest as it finishes (written atomically; see
:meth:`~behavior.study.manifest.Manifest.write_soon`), so a killed run resumes
where it stopped. A session that
fails (an unreadable file, a worker that died) fails alone, with its reason in
the study summary. Workers receive a path and the config and return a small
record; a worker's memory is one session's working set, never the study's.

Without the optional ``distributed`` package, sessions run one after another in
this process (a log line says so).
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavior._progress import progress_bar
from behavior.study.manifest import MANIFEST_NAME, Manifest, file_fingerprint

logger = logging.getLogger(__name__)

__all__ = [
    "StudyResult",
    "analyze",
    "failure_reason",
    "find_sessions",
    "group_tables",
    "name_sessions",
    "open_client",
]

SUMMARY_NAME = "study_summary.csv"
REPORT_NAME = "report.html"
#: Columns the runner adds to each session's row of the study summary.
RUN_COLUMNS = ("session", "input", "status", "error", "seconds", "n_warnings")
#: Suffix preference when one folder holds the same session in several formats.
_SUFFIX_ORDER = (".nc", ".nc4", ".netcdf", ".nwb", ".slp", ".h5", ".parquet", ".pq", ".csv", ".tsv")
_LOCAL = ("local", "processes")
_IN_PROCESS = ("synchronous", "sync", "serial")


# --------------------------------------------------------------------------- inputs


def find_sessions(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    exclude: str | os.PathLike | None = None,
) -> list[Path]:
    """The pose files named by files, folders and glob patterns, in the order given.

    A file is taken as it is (a missing one is an error: a typo should not
    silently shrink a study). A folder gives its files with a pose-file suffix
    (not its sub-folders; use a pattern such as ``data/**/*.h5`` for those), one
    per session: when a folder holds ``m1.h5`` and ``m1.csv`` (DeepLabCut writes
    both), the first in the order .nc, .nwb, .slp, .h5, .parquet, .csv is kept.
    A pattern (``*``, ``?``, ``[``, ``**``) gives the files it matches. Files seen
    twice are kept once; hidden files and anything under ``exclude`` are left out.

    Parameters
    ----------
    paths
        Files, folders or glob patterns.
    exclude
        A folder whose files are never sessions (the output folder).

    Returns
    -------
    list of Path
        Absolute paths.

    Raises
    ------
    FileNotFoundError
        A file or folder does not exist, or a pattern or folder gives no pose file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ["m1.h5", "m1.csv", "m2.csv", "notes.txt"]:
    ...     _ = (d / name).write_text("x")
    >>> [p.name for p in find_sessions(d)]
    ['m1.h5', 'm2.csv']
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    excluded = Path(exclude).resolve() if exclude is not None else None
    found: list[Path] = []
    for entry in paths:
        text = os.fspath(entry)
        path = Path(text).expanduser()
        if path.is_dir():
            files = _folder_sessions(path)
            if not files:
                raise FileNotFoundError(
                    f"{text}: the folder holds no pose file (suffixes {', '.join(_SUFFIX_ORDER)})"
                )
        elif path.exists():
            files = [path]
        elif glob.has_magic(text):
            files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            if not files:
                raise FileNotFoundError(f"{text}: the pattern matches no file")
        else:
            raise FileNotFoundError(f"{text}: no such file or folder")
        found.extend(p.resolve() for p in files)
    unique = list(dict.fromkeys(found))
    return [
        p
        for p in unique
        if not p.name.startswith(".") and not (excluded is not None and excluded in p.parents)
    ]


def _folder_sessions(folder: Path) -> list[Path]:
    by_stem: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if path.is_file() and not path.name.startswith(".") and suffix in _SUFFIX_ORDER:
            by_stem.setdefault(path.stem, []).append(path)
    chosen = []
    for stem, files in by_stem.items():
        files.sort(key=lambda p: _SUFFIX_ORDER.index(p.suffix.lower()))
        if len(files) > 1:
            logger.info(
                "%s: %s taken for session %r; left out: %s",
                folder,
                files[0].name,
                stem,
                ", ".join(p.name for p in files[1:]),
            )
        chosen.append(files[0])
    return sorted(chosen)


def name_sessions(paths: Sequence[Path]) -> list[str]:
    """One unique name per session: the file name, prefixed by folders where names repeat.

    The name is :func:`behavior.dataset.session_name` (the file name, suffix
    kept); files of the same name in different folders get as many parent folder
    names as it takes to tell them apart (``day1__m1.h5``, ``day2__m1.h5``).

    Parameters
    ----------
    paths
        The session files.

    Returns
    -------
    list of str
        Names in the order of ``paths``, usable as folder names.

    Examples
    --------
    >>> name_sessions([Path("/d/day1/m1.h5"), Path("/d/day2/m1.h5"), Path("/d/m2.h5")])
    ['day1__m1.h5', 'day2__m1.h5', 'm2.h5']
    """
    from behavior.dataset import session_name

    names = [session_name(p) for p in paths]
    depth = 0
    while len(set(names)) < len(names):
        depth += 1
        counts = pd.Series(names).value_counts()
        repeated = set(counts[counts > 1].index)
        for i, path in enumerate(paths):
            if names[i] in repeated:
                parents = [p.name for p in list(path.parents)[:depth] if p.name][::-1]
                names[i] = "__".join([*parents, path.name])
        if depth > 64:  # identical paths: number them
            names = [f"{n}__{i}" for i, n in enumerate(names)]
    return names


# --------------------------------------------------------------------------- the result


@dataclass
class StudyResult:
    """What :func:`analyze` did: the study summary, group tables and the files written.

    Attributes
    ----------
    out
        The output folder.
    summary
        One row per session, in input order: ``session``, ``input``, ``status``
        (``"ok"``, or ``"failed"``), ``error``, ``seconds``, ``n_warnings``, the
        metadata columns, then the session's own summary values.
    groups
        Group column -> per-group table (see :func:`group_tables`); empty without metadata.
    files
        What was written: ``"summary"``, ``"manifest"``, ``"report"``, ``"group:<column>"``.
    computed, skipped
        Sessions computed in this run, and those taken from the manifest.
    seconds
        Wall time of the run.
    """

    out: Path
    summary: pd.DataFrame
    groups: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> dict[str, str]:
        """Session -> reason, for the sessions that failed."""
        rows = self.summary[self.summary["status"] == "failed"]
        return dict(zip(rows["session"], rows["error"].astype(str), strict=True))

    def __repr__(self) -> str:
        n = len(self.summary)
        return (
            f"StudyResult({n} session(s) in {self.out}: {len(self.computed)} computed, "
            f"{len(self.skipped)} already done, {len(self.failed)} failed)"
        )


# --------------------------------------------------------------------------- running


def _run_one(
    function: Callable[..., Mapping[str, Any]], path: str, config: Any, out: str, name: str
) -> dict[str, Any]:
    """One session on a worker: the session function's record, or the reason it failed."""
    import resource

    start = time.perf_counter()
    try:
        record = dict(function(path, config, out, name=name))
        record.setdefault("status", "ok")
    except Exception as err:  # a bad file fails its own session, not the study
        record = {"status": "failed", "error": failure_reason(err), "outputs": {}, "summary": {}}
    record["session"] = name
    record["seconds"] = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    record["worker_peak_rss_mb"] = peak / (1 << 20 if sys.platform == "darwin" else 1 << 10)
    record["worker_pid"] = os.getpid()
    return record


def failure_reason(err: BaseException) -> str:
    """An exception as one line for a summary: its type, then its message.

    Parameters
    ----------
    err
        The exception.

    Returns
    -------
    str
        ``"Type: message"`` with the message's lines joined, or the type alone.

    Examples
    --------
    >>> failure_reason(ValueError("bad\\nfile"))
    'ValueError: bad file'
    """
    text = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _distributed_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("distributed") is not None


@contextlib.contextmanager
def open_client(
    scheduler: Any, n_workers: int | None, memory_limit: str | float | None
) -> Iterator[Any]:
    """A distributed Client for ``scheduler``, or None for the in-process loop.

    The one cluster set-up of the study runners (:func:`analyze`,
    :func:`behavior.study.training.fit_across`).

    Parameters
    ----------
    scheduler
        None or ``"local"``: a ``LocalCluster`` of ``n_workers`` processes, one
        thread each (None without the optional ``distributed`` package, with a
        warning); ``"synchronous"``: None (this process); a scheduler address; or a
        ``distributed.Client`` (yielded as it is, not closed).
    n_workers
        Worker processes of a local cluster (default: the CPU cores).
    memory_limit
        Memory limit of each local worker (``"auto"``, ``"4GB"``, None).

    Yields
    ------
    distributed.Client or None
        The client (closed on exit when made here), or None to run in this process.

    Examples
    --------
    >>> with open_client("synchronous", None, None) as client:
    ...     print(client)
    None
    """
    if isinstance(scheduler, str) and scheduler in _IN_PROCESS:
        yield None
        return
    if scheduler is None or (isinstance(scheduler, str) and scheduler in _LOCAL):
        if not _distributed_available():
            logger.warning(
                "the optional package 'distributed' is not installed: sessions run one after "
                "another in this process (pip install 'behavior[distributed]' for workers)"
            )
            yield None
            return
        import dask
        from distributed import Client, LocalCluster

        workers = int(n_workers or os.cpu_count() or 1)
        # one session per worker thread at a time: a session is seconds to minutes, so
        # queueing a second one on a worker gains nothing, and a worker that dies (memory
        # limit, crash) then takes only its own session with it
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                memory_limit=memory_limit if memory_limit is not None else "auto",
                dashboard_address=None,
            )
        client = Client(cluster)
        logger.info("local cluster: %d worker process(es), one thread each", workers)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    if isinstance(scheduler, str):
        from behavior.errors import require_module

        distributed = require_module("distributed", "distributed", "a scheduler address")
        if n_workers is not None:
            logger.info("--workers is ignored with a scheduler address: its cluster has its own")
        client = distributed.Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    if hasattr(scheduler, "submit") and hasattr(scheduler, "scheduler_info"):
        yield scheduler  # a user's Client: theirs to close
        return
    raise TypeError(
        "scheduler: expected None (a local cluster), 'synchronous' (this process), a scheduler "
        f"address such as 'tcp://host:8786', or a distributed.Client; found {scheduler!r}"
    )


def analyze(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    config: Any = None,
    out: str | os.PathLike = "behavior_out",
    *,
    scheduler: Any = None,
    n_workers: int | None = None,
    metadata: str | os.PathLike | pd.DataFrame | None = None,
    resume: bool = True,
    progress: bool = True,
    memory_limit: str | float | None = "auto",
    session_function: Callable[..., Mapping[str, Any]] | None = None,
) -> StudyResult:
    """Analyse every session of a study, one dask.distributed task per session.

    Each session is analysed by :func:`behavior.study.analyze_session` into
    ``out/<session>/`` (written atomically). ``out/manifest.json`` records each
    finished session; with ``resume`` a session whose input file, config and
    outputs are unchanged is not computed again. ``out/study_summary.csv`` has
    one row per session (failed sessions with their reason), and with
    ``metadata`` one table per group column (``study_summary_by_<column>.csv``);
    ``out/report.html`` links the sessions' reports.

    Parameters
    ----------
    paths
        Pose files, folders of pose files, or glob patterns (see :func:`find_sessions`).
    config
        An analysis config, a TOML file, a mapping, or None for the defaults
        (:func:`behavior.study.load_config`); checked before any session starts.
    out
        The output folder (created).
    scheduler
        None: a ``LocalCluster`` of ``n_workers`` processes, one thread each;
        ``"synchronous"``: one session after another in this process; a scheduler
        address (``"tcp://host:8786"``, e.g. of a dask-jobqueue SLURM cluster) or a
        ``distributed.Client``: that cluster's workers (which must import
        ``behavior`` and see ``paths`` and ``out`` on a shared file system).
    n_workers
        Worker processes of the local cluster (default: the CPU cores).
    metadata
        A CSV file or DataFrame with a ``session`` column (session name, file
        name, file stem or path) and group columns (genotype, treatment ...).
    resume
        Skip sessions already done (False computes every session again).
    progress
        Show a progress bar over sessions.
    memory_limit
        Memory limit of each local worker (``"auto"``: the machine's memory shared
        equally; ``"4GB"``; None for no limit).
    session_function
        ``f(path, config, out, *, name) -> record`` run per session instead of
        :func:`behavior.study.analyze_session` (it must be importable on the workers).

    Returns
    -------
    StudyResult
        The study summary, group tables and paths written.

    Raises
    ------
    FileNotFoundError
        An input file, folder or pattern gives nothing.
    ValueError
        The config or the metadata table is not valid (nothing has run yet).

    Notes
    -----
    A script that starts a local cluster must guard its entry point with
    ``if __name__ == "__main__":`` (the workers are new Python processes).

    Examples
    --------
    >>> import behavior as bh
    >>> study = bh.analyze("data/*.h5", "analysis.toml", out="results")  # doctest: +SKIP
    >>> study.summary[["session", "status"]]  # doctest: +SKIP
    """
    started = time.perf_counter()
    out = Path(out).expanduser().resolve()
    config = _load_config(config)
    config_hash = config.hash()
    files = find_sessions(paths, exclude=out)
    if not files:
        raise FileNotFoundError(f"paths: expected pose files, folders or patterns, found {paths!r}")
    names = name_sessions(files)
    groups_meta = _read_metadata(metadata) if metadata is not None else None
    out.mkdir(parents=True, exist_ok=True)
    from behavior.study.session import remove_unfinished_folders

    remove_unfinished_folders(out)
    manifest = Manifest.load(out) if resume else Manifest(out / MANIFEST_NAME, {})
    function = session_function if session_function is not None else _default_session_function()

    todo: list[tuple[str, Path, dict[str, Any]]] = []
    skipped: list[str] = []
    prints: dict[str, dict[str, Any]] = {}
    for name, path in zip(names, files, strict=True):
        try:
            prints[name] = file_fingerprint(path)
        except OSError as err:
            manifest.record(name, _failure_entry(path, {}, config_hash, failure_reason(err)))
            continue
        if resume and manifest.is_current(name, path, prints[name], config_hash):
            skipped.append(name)
        else:
            todo.append((name, path, prints[name]))
    if skipped:
        logger.info("%d session(s) already done (manifest), %d to run", len(skipped), len(todo))

    computed: list[str] = []
    bar = progress_bar(
        total=len(files), initial=len(files) - len(todo), desc="sessions", unit="session",
        enabled=progress and bool(todo),
    )  # fmt: skip
    with bar:

        def finished(name: str, path: Path, record: Mapping[str, Any]) -> None:
            entry = {
                "input": str(path),
                "fingerprint": prints.get(name, {}),
                "config_hash": config_hash,
                "status": record.get("status", "ok"),
                "error": record.get("error"),
                "outputs": record.get("outputs", {}),
                "summary": record.get("summary", {}),
                "warnings": list(record.get("warnings", [])),
                "seconds": record.get("seconds"),
                "worker_peak_rss_mb": record.get("worker_peak_rss_mb"),
                "worker_pid": record.get("worker_pid"),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            manifest.record(name, entry)
            manifest.write_soon()
            computed.append(name)
            bar.update(1)
            if entry["status"] == "failed":
                logger.warning("session %s failed: %s", name, entry["error"])

        try:
            if todo:
                _run_sessions(
                    todo, function, config, out, scheduler, n_workers, memory_limit, finished
                )
        finally:
            manifest.write()

    summary = _study_summary(names, files, manifest, groups_meta)
    result = StudyResult(out=out, summary=summary, computed=computed, skipped=skipped)
    result.files["manifest"] = manifest.path
    result.files["summary"] = _write_csv(summary, out / SUMMARY_NAME)
    if groups_meta is not None:
        result.groups = group_tables(summary, list(groups_meta.columns.drop("session")))
        for column, table in result.groups.items():
            path = out / f"study_summary_by_{_safe(column)}.csv"
            result.files[f"group:{column}"] = _write_csv(table, path)
    draw = bool(getattr(getattr(config, "report", None), "figures", True))
    result.files["report"] = _write_report(result, figures=draw)
    result.seconds = time.perf_counter() - started
    logger.info("%r", result)
    return result


def _run_sessions(
    todo: list[tuple[str, Path, dict[str, Any]]],
    function: Callable[..., Mapping[str, Any]],
    config: Any,
    out: Path,
    scheduler: Any,
    n_workers: int | None,
    memory_limit: str | float | None,
    finished: Callable[[str, Path, Mapping[str, Any]], None],
) -> None:
    with open_client(scheduler, n_workers, memory_limit) as client:
        if client is None:
            for name, path, _ in todo:
                finished(name, path, _run_one(function, str(path), config, str(out), name))
            return
        from distributed import as_completed

        futures = {}
        for name, path, fingerprint in todo:
            key = f"behavior-session-{name}-{fingerprint['head_tail_blake2b'][:8]}"
            future = client.submit(
                _run_one, function, str(path), config, str(out), name, key=key, pure=False
            )
            futures[future] = (name, path)
        try:
            for future in as_completed(futures):
                name, path = futures.pop(future)
                try:
                    record = future.result()
                except Exception as err:  # the worker died (memory limit, crash)
                    record = {
                        "status": "failed",
                        "error": f"the worker failed: {failure_reason(err)}",
                    }
                future.release()
                finished(name, path, record)
        finally:
            for future in futures:
                future.cancel()


def _load_config(config: Any) -> Any:
    if hasattr(config, "hash") and hasattr(config, "to_dict"):
        return config
    from behavior.study.config import load_config

    return load_config(config)


def _default_session_function() -> Callable[..., Mapping[str, Any]]:
    from behavior.study.session import analyze_session

    return analyze_session


def _failure_entry(path: Path, fingerprint: Mapping, config_hash: str, error: str) -> dict:
    return {
        "input": str(path),
        "fingerprint": dict(fingerprint),
        "config_hash": config_hash,
        "status": "failed",
        "error": error,
        "outputs": {},
        "summary": {},
        "warnings": [],
    }


# --------------------------------------------------------------------------- summaries


def _read_metadata(metadata: str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    if isinstance(metadata, pd.DataFrame):
        table = metadata.copy()
        where = "metadata"
    else:
        where = os.fspath(metadata)
        table = pd.read_csv(where)
    if "session" not in table.columns:
        raise ValueError(
            f"{where}: expected a 'session' column naming each session (its file name), "
            f"found columns {list(table.columns)}"
        )
    if len(table.columns) < 2:
        raise ValueError(f"{where}: expected group columns beside 'session', found none")
    table["session"] = table["session"].astype(str)
    duplicated = table["session"][table["session"].duplicated()].unique().tolist()
    if duplicated:
        raise ValueError(f"{where}: sessions listed more than once: {duplicated[:5]}")
    return table


def _match_metadata(names: list[str], files: list[Path], meta: pd.DataFrame) -> pd.DataFrame:
    """The metadata row of each session (by name, file name, stem or path), NaN where none."""
    lookup = {value: i for i, value in enumerate(meta["session"])}
    rows = []
    for name, path in zip(names, files, strict=True):
        keys = (name, path.name, path.stem, str(path), path.name.split(".")[0])
        rows.append(next((lookup[k] for k in keys if k in lookup), None))
    unmatched = [n for n, r in zip(names, rows, strict=True) if r is None]
    if unmatched:
        logger.warning(
            "metadata: no row for %d session(s) (e.g. %s); they are left out of the group tables",
            len(unmatched),
            ", ".join(unmatched[:3]),
        )
    columns = [c for c in meta.columns if c != "session"]
    values = [
        meta.iloc[r][columns].to_dict() if r is not None else dict.fromkeys(columns) for r in rows
    ]
    return pd.DataFrame(values, columns=columns)


def _study_summary(
    names: list[str], files: list[Path], manifest: Manifest, meta: pd.DataFrame | None
) -> pd.DataFrame:
    rows = []
    for name, path in zip(names, files, strict=True):
        entry = manifest.sessions.get(name, {})
        row = {
            "session": name,
            "input": str(path),
            "status": entry.get("status", "failed"),
            "error": entry.get("error") or "",
            "seconds": entry.get("seconds"),
            "n_warnings": len(entry.get("warnings") or []),
        }
        for key, value in (entry.get("summary") or {}).items():
            if key not in row:
                row[key] = value
        rows.append(row)
    table = pd.DataFrame(rows)
    if meta is not None and len(table):
        groups = _match_metadata(names, files, meta)
        for i, column in enumerate(groups.columns):
            table.insert(len(RUN_COLUMNS) + i, column, groups[column].to_numpy())
    return table


def group_tables(summary: pd.DataFrame, columns: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Per-group statistics of the numeric session summary values, one table per group column.

    Only sessions that finished are counted; sessions without a group are left out.

    Parameters
    ----------
    summary
        The study summary (:attr:`StudyResult.summary`), with the group columns.
    columns
        Group columns of ``summary``.

    Returns
    -------
    dict of str to pandas.DataFrame
        Column -> tidy table: ``<column>``, ``measure``, ``n_sessions``, ``mean``,
        ``sd``, ``sem``, ``min``, ``max``.

    Examples
    --------
    >>> summary = pd.DataFrame({"session": ["a", "b", "c"], "status": "ok",
    ...     "genotype": ["wt", "wt", "ko"], "distance_cm": [10.0, 20.0, 5.0]})
    >>> group_tables(summary, ["genotype"])["genotype"][["genotype", "n_sessions", "mean"]]
      genotype  n_sessions  mean
    0       ko           1   5.0
    1       wt           2  15.0
    """
    done = summary[summary["status"] != "failed"] if "status" in summary else summary
    skip = set(RUN_COLUMNS) | set(columns) | {"worker_peak_rss_mb"}
    measures = [
        c
        for c in done.columns
        if c not in skip
        and pd.api.types.is_numeric_dtype(done[c])
        and not pd.api.types.is_bool_dtype(done[c])
    ]
    tables = {}
    for column in columns:
        long = done[[column, *measures]].dropna(subset=[column])
        long = long.melt(id_vars=[column], var_name="measure", value_name="__value__")
        long = long.dropna(subset=["__value__"])
        grouped = long.groupby([column, "measure"], sort=True)["__value__"]
        table = grouped.agg(n_sessions="count", mean="mean", sd="std", min="min", max="max")
        table.insert(3, "sem", table["sd"] / table["n_sessions"].pow(0.5))
        tables[column] = table.reset_index()
    return tables


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(text))


def _write_csv(table: pd.DataFrame, path: Path) -> Path:
    from behavior.io.registry import atomic_path

    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return path


#: Sessions drawn in the study report's time-budget figure (all are in the tables).
MAX_DRAWN_SESSIONS = 60


def _study_figures(result: StudyResult) -> dict[str, list[Any]]:
    """Time in each behavior per session, and its mean per group, as report figures."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        return {}
    from matplotlib.figure import Figure as MplFigure

    from behavior.study.report import Figure, figure_png

    done = result.summary[result.summary["status"] != "failed"]
    columns = [c for c in done.columns if c.startswith("fraction.")]
    if done.empty or not columns:
        return {}
    labels = [c.split(".", 1)[1] for c in columns]
    shown = done.head(MAX_DRAWN_SESSIONS)
    fig = MplFigure(figsize=(8, 1.2 + 0.25 * len(shown)))
    ax = fig.add_subplot()
    left = np.zeros(len(shown))
    for column, label in zip(columns, labels, strict=True):
        values = shown[column].astype(float).fillna(0.0).to_numpy()
        ax.barh(shown["session"].astype(str), values, left=left, label=label)
        left += values
    ax.invert_yaxis()
    ax.set_xlabel("fraction of the session (mean over individuals)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize="small")
    more = f" (first {MAX_DRAWN_SESSIONS} of {len(done)})" if len(done) > len(shown) else ""
    figures = {"sessions": [Figure(f"time in each behavior per session{more}", figure_png(fig))]}
    for column in result.groups:
        grouped = done.dropna(subset=[column]).groupby(column)[columns]
        mean, sem = grouped.mean(), grouped.sem()
        if mean.empty:
            continue
        fig = MplFigure(figsize=(1.5 + 1.2 * len(columns), 3.2))
        ax = fig.add_subplot()
        width = 0.8 / len(mean)
        x = np.arange(len(columns))
        for i, (group, row) in enumerate(mean.iterrows()):
            ax.bar(x + i * width, row.to_numpy(float), width, yerr=sem.loc[group].to_numpy(float),
                   label=str(group), capsize=2)  # fmt: skip
        ax.set_xticks(x + width * (len(mean) - 1) / 2, labels)
        ax.set_ylabel("fraction of the session")
        ax.legend(title=str(column), frameon=False, fontsize="small")
        caption = f"time in each behavior by {column} (mean and standard error over sessions)"
        figures[column] = [Figure(caption, figure_png(fig))]
    return figures


def _write_report(result: StudyResult, figures: bool = True) -> Path:
    """``out/report.html``: counts, the study summary, group tables and links to each session."""
    import html

    from behavior.io.registry import atomic_path
    from behavior.study.report import Section, html_report

    summary = result.summary
    n_failed = int((summary["status"] == "failed").sum()) if len(summary) else 0
    facts = {
        "output folder": str(result.out),
        "sessions": len(summary),
        "finished": len(summary) - n_failed,
        "failed": n_failed,
        "computed in this run": len(result.computed),
        "taken from the manifest": len(result.skipped),
    }
    figures = _study_figures(result) if figures else {}
    sections = [
        Section(
            "Sessions",
            tables=[("one row per session", summary)],
            figures=figures.get("sessions", ()),
        )
    ]
    for column, table in result.groups.items():
        sections.append(
            Section(
                f"By {column}",
                tables=[(f"sessions grouped by {column}", table)],
                figures=figures.get(column, ()),
            )
        )
    failed = [f"{name}: {reason}" for name, reason in result.failed.items()]
    page = html_report("behavior study", sections, warnings=failed, meta=facts)
    links = []
    for row in summary.itertuples(index=False):
        entry = Path(str(row.session)) / REPORT_NAME
        if (result.out / entry).exists():
            href = html.escape("/".join(entry.parts), quote=True)
            links.append(f'<li><a href="{href}">{html.escape(str(row.session))}</a></li>')
        else:
            links.append(f"<li>{html.escape(str(row.session))} (no report: {row.status})</li>")
    block = f"<h2>Session reports</h2><ul>{''.join(links)}</ul>"
    page = page.replace("</nav>", "</nav>" + block, 1)
    path = result.out / REPORT_NAME
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
