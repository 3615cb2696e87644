"""Fit one model across a study without loading the study: sessions subsampled on workers.

:func:`fit_across` sends every session to a dask.distributed worker (the cluster
of :func:`behavior.study.runner.open_client`, as :func:`~behavior.study.analyze`
uses), where it is loaded, turned into what the model learns from, and cut down
to a few random contiguous blocks; only those blocks come back, so the main
process holds at most ``sessions x minutes_per_session`` of rows, never the whole
study. The model is then fitted on the blocks, each block its own sequence (no
transition or window crosses a cut).

- A :class:`~behavior.classify.BehaviorClassifier`: the worker computes the
  session's features with ``estimator.features(ds)`` on the whole session (window
  features need the full series), lines the session's labels up with them
  (checked: labels of another length, time or animals are refused naming the
  session), keeps the blocks of features and labels, and the classifier is fitted
  on them with ``groups`` = the session (inner folds keep a session's blocks
  together).
- A syllable model (:class:`~behavior.syllables.ARHMM`,
  :class:`~behavior.syllables.GaussianHMM`, :class:`~behavior.syllables.KeypointSLDS`
  or their names ``"arhmm"``, ``"hmm"``, ``"slds"``): blocks of poses come back and
  :func:`behavior.syllables.fit` preprocesses and fits them; the result is a
  :class:`~behavior.syllables.Syllables` of the blocks.
- Anything else with ``fit(X)`` taking pose datasets (a
  :class:`~behavior.embedding.BehaviorMap`): blocks of poses come back and are
  given to ``fit`` as a name -> dataset dict. A map computes its features on each
  block, so its windows end at the cuts.

Blocks are drawn from a seed per session (``random_state``), so the same seed
keeps the same frames whatever order the workers finish in.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavior._progress import progress_bar
from behavior.errors import PoseDataError
from behavior.study.runner import failure_reason, find_sessions, name_sessions, open_client

logger = logging.getLogger(__name__)

__all__ = ["StudyFit", "block_ranges", "fit_across", "session_blocks"]

SYLLABLE_MODELS = ("arhmm", "hmm", "slds")
#: Columns of :attr:`StudyFit.blocks`.
BLOCK_COLUMNS = (
    "session", "input", "block", "start_frame", "stop_frame", "start_s", "stop_s", "n_frames",
    "n_rows", "session_frames",
)  # fmt: skip


# --------------------------------------------------------------------------- blocks


def block_ranges(
    n_frames: int, n_keep: int | None, block_frames: int, seed: Any = None
) -> list[tuple[int, int]]:
    """Random contiguous, non-overlapping ``[start, stop)`` frame ranges keeping ``n_keep`` frames.

    The ranges are ``block_frames`` long (the last one shorter when ``n_keep`` is
    not a multiple), in time order, placed uniformly at random among all
    non-overlapping placements; the whole series is one range when it is not
    longer than ``n_keep`` (or ``n_keep`` is None).

    Parameters
    ----------
    n_frames
        Frames in the session.
    n_keep
        Frames to keep in total; None keeps every frame.
    block_frames
        Frames per block (at least 1).
    seed
        Seed of :func:`numpy.random.default_rng` (an int, a SeedSequence, None).

    Returns
    -------
    list of (int, int)
        ``[start, stop)`` ranges, sorted, disjoint, inside ``[0, n_frames)``,
        with ``sum(stop - start) == min(n_keep, n_frames)``.

    Examples
    --------
    >>> block_ranges(100, None, 10)
    [(0, 100)]
    >>> ranges = block_ranges(1000, 25, 10, seed=0)
    >>> sorted(stop - start for start, stop in ranges)
    [5, 10, 10]
    """
    n_frames, block_frames = int(n_frames), int(block_frames)
    if block_frames < 1:
        raise PoseDataError(f"block: expected at least one frame per block, found {block_frames}")
    if n_keep is None or n_keep >= n_frames:
        return [(0, n_frames)] if n_frames > 0 else []
    n_keep = int(n_keep)
    if n_keep <= 0:
        return []
    lengths = [block_frames] * (n_keep // block_frames)
    if n_keep % block_frames:
        lengths.append(n_keep % block_frames)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))  # the short block is anywhere in time
    lengths = [lengths[i] for i in order]
    free = n_frames - n_keep
    # stars and bars: the free frames before each block are sorted uniform draws
    gaps = np.sort(rng.integers(0, free + 1, size=len(lengths)))
    ranges, used = [], 0
    for gap, length in zip(gaps, lengths, strict=True):
        start = int(gap) + used
        ranges.append((start, start + length))
        used += length
    return ranges


# --------------------------------------------------------------------------- on a worker


def _session_blocks(
    path: str,
    name: str,
    kind: str,
    estimator: Any,
    label: Any,
    minutes: float | None,
    block: Any,
    seed: int,
) -> dict[str, Any]:
    """One session on a worker: its blocks (features and labels, or poses) and their table.

    Returns ``{"blocks": [...], "labels": [...], "table": [...]}``, or
    ``{"error": reason}`` for a file that cannot be read or labels that do not fit.
    """
    import resource
    import sys

    try:
        model = estimator if kind == "classifier" else None
        out = session_blocks(path, model, label, minutes_per_session=minutes, block=block,
                             seed=seed, name=name)  # fmt: skip
    except Exception as err:  # reported (with the file) by the main process
        return {"error": failure_reason(err)}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["worker_peak_rss_mb"] = peak / (1 << 20 if sys.platform == "darwin" else 1 << 10)
    return out


def session_blocks(
    path: str | os.PathLike,
    estimator: Any = None,
    labels: Any = None,
    *,
    minutes_per_session: float | None = 10,
    block: float | str = "1 min",
    seed: Any = None,
    name: str | None = None,
) -> dict[str, Any]:
    """One session's kept blocks, as :func:`fit_across` computes them on a worker.

    Parameters
    ----------
    path
        A pose file.
    estimator
        A :class:`~behavior.classify.BehaviorClassifier` (blocks of its features of
        the whole session, and of the labels), or None (blocks of poses).
    labels
        The session's labels (annotation file, Ethogram, label array, or a
        function ``path -> labels``); required with a classifier.
    minutes_per_session
        Minutes kept (None: the whole session).
    block
        Length of a block (text, seconds, or an int of frames).
    seed
        Seed of the blocks (:func:`block_ranges`).
    name
        The session's name in messages and block attrs (default: the file name).

    Returns
    -------
    dict
        ``"blocks"``: feature arrays ``(time, feature, individual)`` or pose
        datasets, one per block, in time order; ``"labels"``: float label arrays
        ``(time, behavior, individual)`` of the same frames (NaN unlabelled;
        empty without a classifier); ``"table"``: one record per block (see
        :attr:`StudyFit.blocks`); ``"fps"``.

    Raises
    ------
    PoseDataError
        Labels missing or not matching the session (named), a session without a
        frame rate.

    Examples
    --------
    >>> import behavior as bh, tempfile, pathlib
    >>> ds, _ = bh.simulate.session(kind="single", duration="20 s", seed=0)
    >>> path = bh.save_poses(ds, pathlib.Path(tempfile.mkdtemp()) / "m.nc")
    >>> out = session_blocks(path, minutes_per_session=0.1, block="2 s", seed=0)
    >>> [r["n_frames"] for r in out["table"]]  # 0.1 min at 30 fps, 2 s blocks
    [60, 60, 60]
    """
    import xarray as xr

    from behavior.classify import BehaviorClassifier
    from behavior.dataset import fps_of, time_seconds
    from behavior.io.registry import load_poses
    from behavior.units import to_frames

    path = os.fspath(path)
    name = Path(path).name if name is None else name
    minutes, label = minutes_per_session, labels
    ds = load_poses(path)
    fps = fps_of(ds, required="fit_across (minutes_per_session and block)")
    if callable(label):
        label = label(path)
    classifier = isinstance(estimator, BehaviorClassifier)
    if classifier:
        from behavior.classify._common import prepare

        data = estimator.features(ds)
        del ds
        if label is None:
            raise PoseDataError(f"labels of {name}: none given (a classifier needs labels)")
        # the classifier's own checks: labels of the session's length, time and animals
        prepared, _ = prepare(estimator, {name: data}, {name: label})
        labels, label_names = prepared[0].labels, prepared[0].label_names
        individuals = ["pair"] if prepared[0].pair else list(prepared[0].individuals)
        if prepared[0].pair:
            labels = labels[:, :, :1]
        del prepared
    else:
        data = ds
    n_frames = int(data.sizes["time"])
    n_keep = None if minutes is None else round(float(minutes) * 60.0 * fps)
    block_frames = to_frames(block, fps, name="block")
    seconds = time_seconds(data)
    n_individuals = int(data.sizes.get("individual", 1))
    blocks, label_blocks, table = [], [], []
    for k, (start, stop) in enumerate(block_ranges(n_frames, n_keep, block_frames, seed)):
        piece = data.isel(time=slice(start, stop)).copy(deep=True)  # not a view of the session
        piece.attrs["block_of"] = name
        blocks.append(piece)
        if classifier:
            label_blocks.append(
                xr.DataArray(
                    np.ascontiguousarray(labels[start:stop]),
                    dims=("time", "behavior", "individual"),
                    coords={
                        "time": piece["time"].values,
                        "behavior": label_names,
                        "individual": individuals,
                    },
                    attrs={
                        key: data.attrs[key] for key in ("fps", "time_unit") if key in data.attrs
                    },
                )
            )
        table.append(
            {
                "session": name,
                "input": path,
                "block": k,
                "start_frame": start,
                "stop_frame": stop,
                "start_s": float(seconds[start]),
                "stop_s": float(seconds[stop - 1]) + 1.0 / fps,
                "n_frames": stop - start,
                "n_rows": (stop - start) * n_individuals,
                "session_frames": n_frames,
            }
        )
    return {"blocks": blocks, "labels": label_blocks, "table": table, "fps": fps}


# --------------------------------------------------------------------------- the result


@dataclass
class StudyFit:
    """What :func:`fit_across` fitted, and on which frames.

    Attributes
    ----------
    estimator
        The fitted estimator (the one given, fitted in place; for a syllable model
        given by name, the model :func:`behavior.syllables.fit` made).
    result
        What the fit returned: the estimator, or the
        :class:`~behavior.syllables.Syllables` of the blocks for a syllable model.
    blocks
        One row per kept block: ``session``, ``input``, ``block`` (its number in
        the session), ``start_frame``, ``stop_frame`` (``[start, stop)`` in the
        session), ``start_s``, ``stop_s``, ``n_frames``, ``n_rows`` (frames x
        individuals), ``session_frames``.
    sessions
        The sessions fitted on (after ``max_sessions``), in input order.
    seconds
        Wall time.
    worker_peak_rss_mb
        Session -> peak memory of the worker process that read it (MiB).
    """

    estimator: Any
    result: Any
    blocks: pd.DataFrame
    sessions: list[str] = field(default_factory=list)
    seconds: float = 0.0
    worker_peak_rss_mb: dict[str, float] = field(default_factory=dict)

    @property
    def minutes(self) -> float:
        """Minutes of frames fitted on, over all sessions."""
        if self.blocks.empty:
            return 0.0
        return float((self.blocks["stop_s"] - self.blocks["start_s"]).sum() / 60.0)

    def __repr__(self) -> str:
        return (
            f"StudyFit({type(self.estimator).__name__} on {len(self.sessions)} session(s), "
            f"{len(self.blocks)} block(s), {self.minutes:.1f} min, "
            f"{int(self.blocks['n_rows'].sum()) if len(self.blocks) else 0} rows)"
        )


# --------------------------------------------------------------------------- the main process


def _kind_of(estimator: Any) -> str:
    from behavior.classify import BehaviorClassifier

    if isinstance(estimator, BehaviorClassifier):
        return "classifier"
    if isinstance(estimator, str):
        if estimator in SYLLABLE_MODELS:
            return "syllables"
        raise PoseDataError(
            f"estimator: expected a BehaviorClassifier, a syllable model (or one of "
            f"{list(SYLLABLE_MODELS)}), or an estimator with fit, found {estimator!r}"
        )
    from behavior import syllables

    if isinstance(estimator, syllables.ARHMM | syllables.GaussianHMM | syllables.KeypointSLDS):
        return "syllables"
    if callable(getattr(estimator, "fit", None)):
        return "poses"
    raise PoseDataError(
        "estimator: expected a BehaviorClassifier, a syllable model, or an estimator with fit "
        f"taking pose datasets, found {type(estimator).__name__}"
    )


def _labels_per_session(labels: Any, names: list[str], files: list[Path], kind: str) -> list[Any]:
    """One label entry per session (a file, Ethogram, array, or a function of the path)."""
    if labels is None:
        if kind == "classifier":
            raise PoseDataError(
                "labels: a BehaviorClassifier needs the labels of every session (a list in the "
                "order of the sessions, a dict by session name or file, or a function path -> "
                "labels)"
            )
        return [None] * len(files)
    if kind != "classifier":
        logger.info("labels are not used by %s", kind)
        return [None] * len(files)
    if callable(labels) and not isinstance(labels, Mapping):
        return [labels] * len(files)
    if isinstance(labels, Mapping):
        keyed = {str(k): v for k, v in labels.items()}
        out, missing = [], []
        for name, path in zip(names, files, strict=True):
            keys = (name, path.name, path.stem, str(path), path.name.split(".")[0])
            key = next((k for k in keys if k in keyed), None)
            if key is None:
                missing.append(name)
            out.append(keyed.get(key))
        if missing:
            raise PoseDataError(
                f"labels: no labels for session(s) {missing[:5]}"
                f"{' ...' if len(missing) > 5 else ''}; the dict's keys must be session names, "
                f"file names, stems or paths, found keys such as {list(keyed)[:3]}"
            )
        return out
    from behavior.ethogram import Ethogram

    if isinstance(labels, str | os.PathLike | Ethogram) or hasattr(labels, "dims"):
        labels = [labels]  # one session's labels
    items = list(labels)
    if len(items) != len(files):
        raise PoseDataError(
            f"labels: expected one entry per session ({len(files)}: "
            f"{', '.join(names[:3])}{' ...' if len(names) > 3 else ''}), found {len(items)}"
        )
    return items


def fit_across(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    estimator: Any,
    labels: Any = None,
    *,
    minutes_per_session: float | None = 10,
    max_sessions: int | None = None,
    block: float | str = "1 min",
    fit_options: Mapping[str, Any] | None = None,
    scheduler: Any = None,
    n_workers: int | None = None,
    memory_limit: str | float | None = "auto",
    random_state: int | None = None,
    progress: bool = True,
) -> StudyFit:
    """Fit a classifier, syllable model or behavior map on random blocks of every session.

    Each session is read on a worker (one dask.distributed task per session, as
    :func:`behavior.study.analyze` runs them), which keeps ``minutes_per_session``
    of it as random contiguous blocks of ``block`` (the whole session when it is
    shorter) and returns only those: the main process never holds more than
    ``sessions x minutes_per_session`` of rows. See the module docstring for what
    the blocks hold for each kind of estimator. A log line says what was kept.

    Parameters
    ----------
    paths
        Pose files, folders of pose files or glob patterns
        (:func:`behavior.study.find_sessions`).
    estimator
        A :class:`~behavior.classify.BehaviorClassifier`; a syllable model
        (``ARHMM``, ``GaussianHMM``, ``KeypointSLDS``) or its name (``"arhmm"``,
        ``"hmm"``, ``"slds"``); or any estimator whose ``fit`` takes a name -> pose
        dataset dict (a :class:`~behavior.embedding.BehaviorMap`).
    labels
        For a classifier: the labels of every session, each an annotation file,
        an Ethogram or a label array (as :meth:`BehaviorClassifier.fit
        <behavior.classify.BehaviorClassifier.fit>` takes them), given as a list
        in the order of the sessions, a dict keyed by session name, file name,
        stem or path, or a function ``path -> labels`` (run on the workers, so it
        must be importable there). Ignored by the other estimators.
    minutes_per_session
        Minutes kept per session; None keeps whole sessions (the study's size in
        memory: only for small studies).
    max_sessions
        Fit on at most this many sessions, drawn at random (``random_state``);
        None: all.
    block
        Length of each kept block (``"1 min"``, seconds, or an int of frames).
        Shorter blocks spread the kept minutes over more of each session; each
        block is its own sequence for the model.
    fit_options
        Keyword arguments of the final fit: ``groups`` is set by this function for
        a classifier; :func:`behavior.syllables.fit`'s (``n_states``,
        ``target_duration``, ``n_iter`` ...) for a syllable model.
    scheduler
        None: a ``LocalCluster`` of ``n_workers`` processes; ``"synchronous"``:
        this process, one session after another; a scheduler address or a
        ``distributed.Client`` (see :func:`behavior.study.analyze`).
    n_workers
        Worker processes of the local cluster (default: the CPU cores).
    memory_limit
        Memory limit of each local worker (``"auto"``, ``"4GB"``, None).
    random_state
        Seed of the sessions drawn and the blocks kept (one seed per session, so
        the blocks do not depend on which worker finishes first). The estimator's
        own ``random_state`` seeds its fit; for a syllable model given by name
        this seed does (default 0, as :func:`behavior.syllables.fit`).
    progress
        A progress bar over sessions.

    Returns
    -------
    StudyFit
        The fitted estimator, the fit's result and the table of kept blocks.

    Raises
    ------
    PoseDataError
        A file that cannot be read (the message names it), labels missing for a
        session or not matching it (naming the session), or an unknown estimator.
    FileNotFoundError
        ``paths`` gives no file.

    Examples
    --------
    >>> import behavior as bh
    >>> from behavior.classify import BehaviorClassifier
    >>> fitted = bh.study.fit_across(  # doctest: +SKIP
    ...     "data/*.h5", BehaviorClassifier(random_state=0),
    ...     labels=lambda path: path.replace(".h5", ".boris.csv"),
    ...     minutes_per_session=5, block="30 s", random_state=0)
    >>> fitted.estimator.predict("data/new_mouse.h5")  # doctest: +SKIP
    >>> syl = bh.study.fit_across("data/", "arhmm", minutes_per_session=10,  # doctest: +SKIP
    ...                           fit_options={"target_duration": "0.4 s"}).result
    """
    started = time.perf_counter()
    if minutes_per_session is not None and not float(minutes_per_session) > 0:
        raise PoseDataError(
            f"minutes_per_session: expected a positive number of minutes or None, found "
            f"{minutes_per_session!r}"
        )
    if max_sessions is not None and int(max_sessions) < 1:
        raise PoseDataError(f"max_sessions: expected at least 1 or None, found {max_sessions!r}")
    kind = _kind_of(estimator)
    files = find_sessions(paths)
    names = name_sessions(files)
    label_items = _labels_per_session(labels, names, files, kind)
    seeds = np.random.SeedSequence(random_state).spawn(len(files) + 1)
    session_seeds = [int(s.generate_state(1)[0]) for s in seeds[1:]]
    chosen = list(range(len(files)))
    if max_sessions is not None and int(max_sessions) < len(files):
        rng = np.random.default_rng(seeds[0])
        chosen = sorted(rng.choice(len(files), size=int(max_sessions), replace=False).tolist())
        logger.info("fit_across: %d of %d sessions drawn", len(chosen), len(files))
    tasks = [
        (str(files[i]), names[i], label_items[i], session_seeds[i]) for i in chosen
    ]  # fmt: skip
    per_session = _gather(tasks, kind, estimator, minutes_per_session, block, scheduler,
                          n_workers, memory_limit, progress)  # fmt: skip

    blocks, label_blocks, rows, groups, peaks = [], [], [], [], {}
    for (_, name, _, _), out in zip(tasks, per_session, strict=True):
        blocks.extend(out["blocks"])
        label_blocks.extend(out["labels"])
        groups.extend([name] * len(out["blocks"]))
        rows.extend(out["table"])
        peaks[name] = out.get("worker_peak_rss_mb")
    table = pd.DataFrame(rows, columns=list(BLOCK_COLUMNS))
    kept = float((table["stop_s"] - table["start_s"]).sum() / 60.0) if len(table) else 0.0
    total = float(table.groupby("session")["session_frames"].first().sum()) if len(table) else 0
    fps = per_session[0].get("fps") if per_session else None
    logger.info(
        "fit_across: kept %d session(s), %d block(s), %.1f min (of %.1f min), %d rows",
        len(tasks), len(table), kept, total / fps / 60.0 if fps else float("nan"),
        int(table["n_rows"].sum()) if len(table) else 0,
    )  # fmt: skip
    if not blocks:
        raise PoseDataError("paths: no frames were kept from any session")
    keys = [f"{name}[{row['start_s']:.1f}-{row['stop_s']:.1f} s]" for name, row in
            zip(groups, rows, strict=True)]  # fmt: skip
    options = dict(fit_options or {})
    if kind == "classifier":
        options["groups"] = groups
        estimator.fit(dict(zip(keys, blocks, strict=True)), dict(zip(keys, label_blocks,
                      strict=True)), **options)  # fmt: skip
        result, fitted = estimator, estimator
    elif kind == "syllables":
        from behavior import syllables

        if isinstance(estimator, str):
            seed = 0 if random_state is None else random_state
            options.setdefault("random_state", seed)
        options.setdefault("progress", progress)
        result = syllables.fit(dict(zip(keys, blocks, strict=True)), model=estimator, **options)
        fitted = result.model if hasattr(result, "model") else estimator
    else:
        result = estimator.fit(dict(zip(keys, blocks, strict=True)), **options)
        fitted = estimator
    return StudyFit(
        estimator=fitted,
        result=result,
        blocks=table,
        sessions=[name for _, name, _, _ in tasks],
        seconds=time.perf_counter() - started,
        worker_peak_rss_mb=peaks,
    )


def _gather(
    tasks: list[tuple[str, str, Any, int]],
    kind: str,
    estimator: Any,
    minutes: float | None,
    block: Any,
    scheduler: Any,
    n_workers: int | None,
    memory_limit: str | float | None,
    progress: bool,
) -> list[dict[str, Any]]:
    """Every session's blocks, in the order of ``tasks``; the first failure raises."""
    worker_estimator = estimator if kind == "classifier" else None
    results: list[dict[str, Any] | None] = [None] * len(tasks)

    def check(index: int, out: Mapping[str, Any]) -> dict[str, Any]:
        if "error" in out:
            path, name = tasks[index][0], tasks[index][1]
            raise PoseDataError(f"session {name} ({path}): {out['error']}")
        return dict(out)

    bar = progress_bar(total=len(tasks), desc="sessions", unit="session", enabled=progress)
    with bar, open_client(scheduler, n_workers, memory_limit) as client:
        if client is None:
            for i, (path, name, label, seed) in enumerate(tasks):
                out = _session_blocks(path, name, kind, worker_estimator, label, minutes,
                                      block, seed)  # fmt: skip
                results[i] = check(i, out)
                bar.update(1)
            return results  # type: ignore[return-value]
        from distributed import as_completed

        futures = {}
        for i, (path, name, label, seed) in enumerate(tasks):
            future = client.submit(
                _session_blocks, path, name, kind, worker_estimator, label, minutes, block,
                seed, key=f"behavior-fit-blocks-{i}-{name}-{seed:x}", pure=False,
            )  # fmt: skip
            futures[future] = i
        try:
            for future in as_completed(futures):
                i = futures.pop(future)
                try:
                    out = future.result()
                except Exception as err:  # the worker died (memory limit, crash)
                    out = {"error": f"the worker failed: {failure_reason(err)}"}
                future.release()
                results[i] = check(i, out)
                bar.update(1)
        finally:
            for future in futures:
                future.cancel()
    return results  # type: ignore[return-value]
