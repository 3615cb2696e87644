"""The ``behavior`` command.

::

    behavior demo [--out DIR] [--duration "2 min"] [--seed 0] [--no-figures]
    behavior analyze PATHS_OR_GLOBS... [--config analysis.toml] [--out DIR]
                     [--scheduler ADDR] [--workers N] [--metadata CSV] [--no-resume]
    behavior analyze --example-config
    behavior info FILE [FILE ...] [--source S] [--fps F] [--json]
    behavior convert IN OUT [--source S] [--format F] [--fps F]
    behavior formats
    behavior --version

``demo`` simulates a social session and runs every stage of the pipeline that
exists on it, as a list of :class:`Stage` objects in :data:`DEMO_STAGES`; a new
part of the library adds its stage with the :func:`demo_stage` decorator.
``analyze`` runs :func:`behavior.study.analyze` over files, folders and globs
(a config error exits with code 2 before any session starts; a run where some
session failed exits with code 1 after writing everything else).
Errors print one line (``behavior: error: ...``) to stderr and exit with code 1;
``-v`` shows progress logs and, on error, the traceback (``-vv``: debug logs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavior import __version__
from behavior.errors import PoseDataError
from behavior.study.session import summary_table  # re-exported: behavior.cli.summary_table

logger = logging.getLogger(__name__)

__all__ = [
    "DEMO_STAGES",
    "DemoContext",
    "Stage",
    "build_parser",
    "demo_stage",
    "main",
    "run_demo",
    "summary_table",
]


# --------------------------------------------------------------------------- demo stages


@dataclass
class DemoContext:
    """What the demo stages share: options, the session, and what was written.

    Attributes
    ----------
    out
        Output folder (exists).
    duration, seed, fps
        Simulation options.
    figures
        Whether figure stages run.
    ds, truth
        The simulated pose dataset and its ground truth (set by ``simulate``).
    results
        Anything a stage wants later stages to see, by name.
    files
        Files written, in order.
    report
        Sections of the printed summary: title -> lines.
    """

    out: Path
    duration: str = "2 min"
    seed: int = 0
    fps: float = 30.0
    figures: bool = True
    ds: xr.Dataset | None = None
    truth: Any = None
    results: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    report: dict[str, list[str]] = field(default_factory=dict)

    def write_table(self, table: pd.DataFrame, name: str) -> Path:
        """Write ``table`` as CSV into :attr:`out`, atomically; record the file."""
        from behavior.io.registry import atomic_path

        path = self.out / name
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
        self.files.append(path)
        return path

    def write_figure(self, fig: Any, name: str, dpi: int = 120) -> Path:
        """Save a matplotlib figure into :attr:`out`, atomically; record the file."""
        from behavior.io.registry import atomic_path

        path = self.out / name
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip("."), bbox_inches="tight")
        self.files.append(path)
        return path

    def write_poses(self, ds: xr.Dataset, name: str, **options: Any) -> Path:
        """Save a pose dataset into :attr:`out` (format from the suffix); record the file."""
        from behavior.io.registry import save_poses

        path = save_poses(ds, self.out / name, **options)
        self.files.append(path)
        return path


@dataclass(frozen=True)
class Stage:
    """One step of ``behavior demo``.

    Attributes
    ----------
    name
        Shown in progress and logs.
    run
        ``run(ctx: DemoContext) -> None``.
    needs
        Modules the stage needs; the stage is skipped (with a log line) when one
        cannot be imported, so the demo runs every stage that exists.
    figure
        Skipped with ``--no-figures``.
    """

    name: str
    run: Callable[[DemoContext], None]
    needs: tuple[str, ...] = ()
    figure: bool = False

    def missing(self) -> list[str]:
        """The modules in :attr:`needs` that cannot be imported."""
        import importlib

        absent = []
        for module in self.needs:
            try:
                importlib.import_module(module)
            except ImportError:
                absent.append(module)
        return absent


DEMO_STAGES: list[Stage] = []


def demo_stage(
    name: str, *, needs: Sequence[str] = (), figure: bool = False
) -> Callable[[Callable[[DemoContext], None]], Callable[[DemoContext], None]]:
    """Decorator: append a function to the stages of ``behavior demo``.

    Parameters
    ----------
    name
        Stage name (unique).
    needs
        Modules the stage needs; it is skipped when one is missing.
    figure
        Whether ``--no-figures`` skips it.

    Returns
    -------
    Callable
        The decorator, which returns the function unchanged.

    Examples
    --------
    >>> @demo_stage("ethogram", needs=("behavior.ethogram",), figure=True)  # doctest: +SKIP
    ... def _ethogram(ctx):
    ...     eth = bh.Ethogram.from_states(ctx.truth.labels)
    ...     ctx.write_figure(bh.plot.ethogram_raster(eth)[0], "ethogram.png")
    """

    def register(func: Callable[[DemoContext], None]) -> Callable[[DemoContext], None]:
        if any(stage.name == name for stage in DEMO_STAGES):
            raise ValueError(f"a demo stage named {name!r} already exists")
        DEMO_STAGES.append(Stage(name, func, tuple(needs), figure))
        return func

    return register


@demo_stage("simulate")
def _simulate(ctx: DemoContext) -> None:
    from behavior import simulate

    ctx.ds, ctx.truth = simulate.session(
        kind="social", duration=ctx.duration, fps=ctx.fps, seed=ctx.seed
    )


@demo_stage("save")
def _save(ctx: DemoContext) -> None:
    ctx.results["session.nc"] = ctx.write_poses(ctx.ds, "session.nc")
    ctx.results["session_dlc.h5"] = ctx.write_poses(ctx.ds, "session_dlc.h5", format="deeplabcut")


@demo_stage("load back")
def _load_back(ctx: DemoContext) -> None:
    from behavior.io.registry import load_poses

    ds = ctx.ds
    checked = []
    for name in ("session.nc", "session_dlc.h5"):
        path = ctx.results.get(name)
        if path is None:
            continue
        back = load_poses(path, fps=ds.attrs.get("fps"))
        _check_same_poses(ds, back, path.name)
        checked.append(name)
    ctx.report["round trip"] = [f"{', '.join(checked)} load back equal to the simulation"]


def _check_same_poses(expected: xr.Dataset, found: xr.Dataset, where: str) -> None:
    for dim in ("individual", "keypoint", "space"):
        a = [str(v) for v in expected[dim].values]
        b = [str(v) for v in found[dim].values]
        if a != b:
            raise PoseDataError(f"{where}: {dim} changed on the round trip: {a} -> {b}")
    if not np.allclose(expected["time"].values, found["time"].values, rtol=0, atol=1e-6):
        raise PoseDataError(f"{where}: the time coordinate changed on the round trip")
    for var in ("position", "confidence"):
        a = expected[var].transpose(*found[var].dims).values
        b = found[var].values
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-6, atol=1e-6, equal_nan=True):
            with np.errstate(invalid="ignore"):
                worst = float(np.nanmax(np.abs(a - b))) if a.shape == b.shape else float("nan")
            raise PoseDataError(
                f"{where}: {var} changed on the round trip (shapes {a.shape} -> {b.shape}, "
                f"largest difference {worst:.3g})"
            )


@demo_stage("summarize truth")
def _summarize_truth(ctx: DemoContext) -> None:
    from behavior.ethogram import Ethogram

    truth = ctx.truth
    bouts = truth.bouts
    ctx.write_table(bouts, "truth_bouts.csv")
    budget = summary_table(Ethogram.from_states(truth.labels, partner=truth.partner))
    ctx.write_table(budget, "summary.csv")
    ctx.results["time_budget"] = budget
    per_behavior = (
        budget.groupby("behavior", sort=False)[["n_bouts", "seconds"]].sum().reset_index()
    )
    lines = [f"{'behavior':<16}{'bouts':>7}{'seconds':>10}"]
    for row in per_behavior.itertuples(index=False):
        lines.append(f"{row.behavior:<16}{int(row.n_bouts):>7}{row.seconds:>10.1f}")
    ctx.report["ground truth (all individuals)"] = lines


@demo_stage("ethogram", needs=("behavior.ethogram",))
def _ethogram(ctx: DemoContext) -> None:
    import importlib.util

    from behavior.ethogram import Ethogram, bout_stats, transitions

    truth = ctx.truth
    eth = Ethogram.from_states(truth.labels, partner=truth.partner)
    eth.attrs["source"] = "simulation"
    if not eth.to_bouts().equals(truth.bouts):
        raise PoseDataError("ethogram: the bouts of the truth ethogram differ from truth.bouts")
    ctx.results["ethogram"] = eth
    stats = bout_stats(eth)
    ctx.write_table(stats, "bout_stats.csv")
    ctx.write_table(transitions(eth), "transitions.csv")
    if ctx.figures and importlib.util.find_spec("matplotlib") is not None:
        from matplotlib.figure import Figure

        from behavior import plot

        fig = Figure(figsize=(10, 1 + 0.4 * len(eth.individuals)))
        plot.ethogram_raster(eth, ax=fig.add_subplot())
        ctx.write_figure(fig, "ethogram.png")
    pooled = stats.groupby("behavior", sort=False).agg(
        n_bouts=("n_bouts", "sum"), total=("total_duration", "sum")
    )
    lines = [f"{'behavior':<16}{'bouts':>7}{'mean bout (s)':>15}"]
    for behavior, row in pooled.iterrows():
        mean = row["total"] / row["n_bouts"] if row["n_bouts"] else float("nan")
        lines.append(f"{behavior:<16}{int(row['n_bouts']):>7}{mean:>15.2f}")
    ctx.report["ethogram (bouts of the ground truth)"] = lines


@demo_stage("clean", needs=("behavior.filtering",))
def _clean(ctx: DemoContext) -> None:
    from behavior import filtering
    from behavior.dataset import read_log

    ds = filtering.clean(ctx.ds)
    ctx.results["clean"] = ds
    ctx.results["session_clean.nc"] = ctx.write_poses(ds, "session_clean.nc")
    before = float(ctx.ds["position"].isnull().any("space").mean())
    after = float(ds["position"].isnull().any("space").mean())
    steps = [r["operation"] for r in read_log(ds)[len(read_log(ctx.ds)) :]]
    ctx.report["cleaning"] = [
        f"steps: {', '.join(s for s in steps if s != 'clean')}",
        f"missing points: {100 * before:.1f} % before, {100 * after:.1f} % after",
    ]


@demo_stage("kinematics", needs=("behavior.kinematics",))
def _kinematics(ctx: DemoContext) -> None:
    import importlib.util

    from behavior import kinematics
    from behavior.simulate import BODY_KEYPOINTS

    ds = ctx.results.get("clean", ctx.ds)
    cm = kinematics.calibrate(ds, px_per_cm=ctx.ds.attrs["px_per_cm"])
    names = {str(k) for k in cm["keypoint"].values}
    body = [k for k in BODY_KEYPOINTS if k in names] or None
    center = kinematics.centroid(cm, keypoints=body)
    speed = kinematics.speed(center)
    path = kinematics.path_length(center, nan_warn_threshold=1.0)
    table = pd.DataFrame(
        {
            "individual": [str(i) for i in speed["individual"].values],
            "mean_speed_cm_s": speed.mean("time").values,
            "max_speed_cm_s": speed.max("time").values,
            "path_length_cm": path.sel(individual=speed["individual"]).values,
        }
    )
    ctx.results["speed"] = speed
    ctx.results["kinematics"] = table
    ctx.write_table(table, "kinematics.csv")
    lines = [f"{'individual':<14}{'mean cm/s':>11}{'max cm/s':>10}{'path cm':>10}"]
    for row in table.itertuples(index=False):
        lines.append(
            f"{row.individual:<14}{row.mean_speed_cm_s:>11.1f}{row.max_speed_cm_s:>10.1f}"
            f"{row.path_length_cm:>10.0f}"
        )
    ctx.report["kinematics (body centroid, cm)"] = lines
    if ctx.figures and importlib.util.find_spec("matplotlib") is not None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(8, 3))
        ax = fig.add_subplot()
        for individual in speed["individual"].values:
            trace = speed.sel(individual=individual)
            ax.plot(trace["time"].values, trace.values, lw=0.6, label=str(individual))
        ax.set_xlabel("time (s)")
        ax.set_ylabel("speed (cm/s)")
        ax.set_title("body centroid speed")
        ax.legend(loc="upper right", frameon=False)
        ctx.write_figure(fig, "speed.png")


@demo_stage("events", needs=("behavior.events",))
def _events(ctx: DemoContext) -> None:
    from behavior import events
    from behavior.ethogram import Ethogram, agreement

    truth_names = {"chase": "chase", "watching": "watch", "freezing": "freeze"}
    # the reference: where each definition holds on the noise-free positions
    lines = [f"{'preset':<10}{'bouts':>7}{'truth':>7}{'frame F1':>10}   first bouts"]
    for name, truth_name in truth_names.items():
        found = events.PRESETS.get(name)(ctx.ds)
        ref = ctx.truth.events[ctx.truth.events.behavior == truth_name].assign(behavior=name)
        table = agreement(
            Ethogram.from_bouts(ref, ctx.ds, behaviors=[name]),
            Ethogram.from_bouts(found, ctx.ds, behaviors=[name]),
        )
        tp = float((table.frame_recall.fillna(0) * table.frames_reference).sum())
        total = float(table.frames_reference.sum() + table.frames_other.sum())
        f1 = 2 * tp / total if total else float("nan")
        first = ", ".join(
            f"{r.individual}{'->' + r.other if r.other else ''} {r.start:.1f}-{r.stop:.1f}s"
            for r in found.head(2).itertuples(index=False)
        )
        lines.append(f"{name:<10}{len(found):>7}{len(ref):>7}{f1:>10.3f}   {first}")
        ctx.results[f"events_{name}"] = found
    ctx.report["events (rule presets vs truth)"] = lines


@demo_stage("figures", needs=("matplotlib",), figure=True)
def _figures(ctx: DemoContext) -> None:
    from matplotlib.figure import Figure

    from behavior import plot

    fig = Figure(figsize=(6, 6))
    plot.trajectories(ctx.ds, ax=fig.add_subplot())
    ctx.write_figure(fig, "trajectories.png")
    budget = ctx.results.get("time_budget")
    if budget is not None:
        fig = Figure(figsize=(7, 4))
        order = [str(b) for b in ctx.truth.labels.attrs.get("labels", [])] or None
        plot.time_budget_bars(budget, ax=fig.add_subplot(), behaviors=order)
        ctx.write_figure(fig, "time_budget.png")


@demo_stage("syllables", needs=("behavior.syllables", "hmmlearn", "sklearn"))
def _syllables(ctx: DemoContext) -> None:
    import importlib.util

    from sklearn.metrics import adjusted_rand_score

    from behavior import simulate, syllables

    # one mouse moving through 8 known motifs; a sticky Gaussian HMM, given an upper
    # bound of 12 states (not the true 8), parses it into syllables
    ds, truth = simulate.session(kind="single", duration=ctx.duration, fps=ctx.fps, seed=ctx.seed)
    syl = syllables.fit(ds, model="hmm", n_states=12, n_iter=30, progress=False)
    ctx.results["syllables"] = syl
    ctx.files.append(syl.save(ctx.out / "syllables.nc"))
    usage = syl.usage().reset_index()
    ctx.write_table(usage, "syllable_usage.csv")
    found = syl.labels["session_0"].values[:, 0]
    true = truth.labels.values[:, 0]
    ok = found >= 0
    ari = adjusted_rand_score(true[ok], found[ok])
    lines = [
        f"{syl.n_syllables} syllables from a 12-state Gaussian HMM; adjusted Rand index "
        f"{ari:.2f} against the {len(truth.labels.attrs['labels'])} simulated motifs "
        "(the AR-HMM of notebook 06 does better)",
        f"{'syllable':<10}{'usage':>7}{'bouts':>7}{'median s':>10}",
    ]
    for row in usage.head(5).itertuples(index=False):
        lines.append(
            f"{row.syllable:<10}{row.usage:>7.2f}{row.bouts:>7}{row.median_duration:>10.2f}"
        )
    ctx.report["syllables (single mouse, Gaussian HMM)"] = lines
    if ctx.figures and importlib.util.find_spec("matplotlib") is not None:
        from matplotlib.figure import Figure

        from behavior import plot

        fig = Figure(figsize=(11, 4))
        plot.syllable_usage(syl, ax=fig.add_subplot(1, 2, 1))
        plot.syllable_transitions(syl, ax=fig.add_subplot(1, 2, 2))
        ctx.write_figure(fig, "syllables.png")


@demo_stage("analyze a study", needs=("behavior.study",))
def _analyze_study(ctx: DemoContext) -> None:
    from behavior import simulate
    from behavior.io.registry import save_poses
    from behavior.study import analyze
    from behavior.study.config import load_config

    # three sessions (the demo's own and two more seeds) through `behavior analyze`'s
    # Python entry point, in this process; the command runs them on worker processes
    folder = ctx.out / "study_sessions"
    folder.mkdir(exist_ok=True)
    for i in range(3):
        ds = ctx.ds if i == 0 and ctx.ds is not None else None
        if ds is None:
            ds, _ = simulate.session(kind="social", duration=ctx.duration, seed=ctx.seed + i)
        save_poses(ds, folder / f"mouse_pair{i + 1}.nc")
    config = load_config({"report": {"figures": ctx.figures}})
    study = analyze(folder, config, ctx.out / "study", scheduler="synchronous", progress=False)
    ctx.results["study"] = study
    ctx.files.extend([study.files["summary"], study.files["report"]])
    table = study.summary
    columns = [c for c in table.columns if c.startswith("seconds.")]
    lines = [f"{'session':<18}{'status':>7}{'speed cm/s':>12}" + "".join(
        f"{c.split('.', 1)[1][:10]:>12}" for c in columns
    )]  # fmt: skip
    for _, row in table.iterrows():
        speed = row.get("mean_speed", float("nan"))
        cells = "".join(f"{row[c]:>11.1f}s" for c in columns)
        lines.append(f"{row['session']:<18}{row['status']:>7}{speed:>12.1f}{cells}")
    lines.append(
        f"per-session folders and report: {study.out.name}/<session>/report.html; "
        f"study report: {study.out.name}/report.html"
    )
    lines.append(
        f"the same on worker processes: behavior analyze {folder} --out {ctx.out / 'study'}"
    )
    ctx.report["study (behavior analyze on 3 simulated sessions; seconds per behavior)"] = lines


def run_demo(ctx: DemoContext, progress: bool = True) -> DemoContext:
    """Run every demo stage on ``ctx``, in order.

    Parameters
    ----------
    ctx
        The context; its ``out`` folder is created if needed.
    progress
        Show a progress bar over the stages (on a terminal).

    Returns
    -------
    DemoContext
        ``ctx``, filled in by the stages.

    Examples
    --------
    >>> ctx = run_demo(DemoContext(out=Path("demo"), duration="30 s"))  # doctest: +SKIP
    >>> [p.name for p in ctx.files][:2]  # doctest: +SKIP
    ['session.nc', 'session_dlc.h5']
    """
    from tqdm.auto import tqdm

    ctx.out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(DEMO_STAGES, desc="demo", unit="stage", disable=None if progress else True)
    for stage in bar:
        bar.set_postfix_str(stage.name)
        if stage.figure and not ctx.figures:
            logger.info("demo: skipping %s (--no-figures)", stage.name)
            continue
        absent = stage.missing()
        if absent:
            logger.info("demo: skipping %s (needs %s)", stage.name, ", ".join(absent))
            continue
        start = time.perf_counter()
        stage.run(ctx)
        logger.info("demo: %s done in %.2f s", stage.name, time.perf_counter() - start)
    return ctx


def _print_demo(ctx: DemoContext) -> None:
    ds = ctx.ds
    print(f"behavior demo: simulated social session (seed {ctx.seed}, {ctx.duration})")
    if ds is not None:
        for line in _describe(ds):
            print(f"  {line}")
    for title, lines in ctx.report.items():
        print(f"\n{title}:")
        for line in lines:
            print(f"  {line}")
    print(f"\nfiles written to {ctx.out}:")
    for path in ctx.files:
        print(f"  {path.name}")


# --------------------------------------------------------------------------- info


def _missing_fraction(ds: xr.Dataset) -> tuple[float, pd.Series]:
    missing = ds["position"].isnull().any("space")
    overall = float(missing.mean())
    others = [d for d in missing.dims if d != "keypoint"]
    by_keypoint = missing.mean(others).to_series().sort_values(ascending=False)
    by_keypoint.index = by_keypoint.index.astype(str)
    return overall, by_keypoint


def _duration_text(seconds: float) -> str:
    if seconds >= 60:
        minutes, rest = divmod(seconds, 60)
        return f"{int(minutes)} min {rest:.1f} s"
    return f"{seconds:.2f} s"


def _file_info(ds: xr.Dataset, path: Path, format_name: str) -> dict[str, Any]:
    overall, by_keypoint = _missing_fraction(ds)
    fps = ds.attrs.get("fps")
    n_frames = int(ds.sizes["time"])
    time = np.asarray(ds["time"].values, dtype=float)
    duration = None
    if ds.attrs.get("time_unit") == "seconds":
        step = 1.0 / fps if fps else 0.0
        duration = float(time[-1] - time[0] + step) if n_frames else 0.0
    info = {
        "file": str(path),
        "format": format_name,
        "source_software": ds.attrs.get("source_software", "unknown"),
        "individuals": [str(v) for v in ds["individual"].values],
        "keypoints": [str(v) for v in ds["keypoint"].values],
        "n_frames": n_frames,
        "fps": float(fps) if fps else None,
        "time_unit": ds.attrs.get("time_unit", "frames"),
        "duration_s": duration,
        "space": [str(v) for v in ds["space"].values],
        "space_unit": ds.attrs.get("space_unit", "pixels"),
        "missing_fraction": overall,
        "missing_by_keypoint": {k: float(v) for k, v in by_keypoint.items()},
    }
    if "ensemble" in ds.dims:
        info["ensemble"] = [str(v) for v in ds["ensemble"].values]
    if "confidence" in ds and bool(ds["confidence"].notnull().any()):
        info["mean_confidence"] = float(ds["confidence"].mean())
    else:
        info["mean_confidence"] = None
    return info


def _describe(ds: xr.Dataset) -> list[str]:
    info = _file_info(ds, Path(str(ds.attrs.get("source_file", ""))), "")
    return _info_lines(info, with_file=False)


def _names(values: list[str], limit: int = 8) -> str:
    shown = ", ".join(values[:limit])
    more = f", ... (+{len(values) - limit})" if len(values) > limit else ""
    return f"{len(values)}: {shown}{more}"


def _info_lines(info: dict[str, Any], with_file: bool = True, top: int = 5) -> list[str]:
    lines = []
    if with_file:
        lines.append(f"file:        {info['file']}")
        lines.append(f"format:      {info['format']}")
        lines.append(f"software:    {info['source_software']}")
    lines.append(f"individuals: {_names(info['individuals'])}")
    lines.append(f"keypoints:   {_names(info['keypoints'])}")
    if "ensemble" in info:
        lines.append(f"ensemble:    {_names(info['ensemble'], 4)}")
    frames = f"frames:      {info['n_frames']}"
    if info["fps"]:
        frames += f" at {info['fps']:g} fps"
    if info["duration_s"] is not None:
        frames += f" ({_duration_text(info['duration_s'])})"
    else:
        frames += " (time in frames; pass --fps to get seconds)"
    lines.append(frames)
    dims = len(info["space"])
    lines.append(f"space:       {dims}-D ({', '.join(info['space'])}) in {info['space_unit']}")
    lines.append(f"missing:     {100 * info['missing_fraction']:.1f} % of points")
    worst = [(k, v) for k, v in info["missing_by_keypoint"].items() if v > 0][:top]
    if worst:
        text = ", ".join(f"{k} {100 * v:.1f} %" for k, v in worst)
        lines.append(f"most missing: {text}")
    if info["mean_confidence"] is not None:
        lines.append(f"confidence:  mean {info['mean_confidence']:.3f}")
    else:
        lines.append("confidence:  none in the file")
    return lines


@contextlib.contextmanager
def _held_messages() -> Iterator[None]:
    """Hold the warnings and log lines of a step; show them only if the step succeeds.

    A file that fails to load then prints exactly one line, the error (``main``).
    """
    root = logging.getLogger("behavior")
    shown = [h for h in root.handlers if isinstance(h, _Handler)]
    records: list[logging.LogRecord] = []

    def hold(record: logging.LogRecord) -> bool:
        if not records or records[-1] is not record:
            records.append(record)
        return False

    for handler in shown:
        handler.addFilter(hold)
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield
    finally:
        for handler in shown:
            handler.removeFilter(hold)
    for record in records:
        for handler in shown:
            handler.handle(record)
    for w in caught:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _cmd_info(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from behavior.io.registry import detect_format, get_frontend, load_poses

    infos = []
    paths = [Path(p) for p in args.files]
    for path in tqdm(paths, desc="info", unit="file", disable=_no_bar(args, len(paths))):
        with _held_messages():
            ds = load_poses(path, source=args.source, fps=args.fps)
        if args.source == "auto":
            format_name = detect_format(path).name
        else:
            format_name = get_frontend(args.source).name
        infos.append(_file_info(ds, path, format_name))
    if args.json:
        print(json.dumps(infos[0] if len(infos) == 1 else infos, indent=2))
        return 0
    for i, info in enumerate(infos):
        if i:
            print()
        print("\n".join(_info_lines(info)))
    return 0


# --------------------------------------------------------------------------- other commands


def _cmd_convert(args: argparse.Namespace) -> int:
    from behavior.io.registry import load_poses, save_poses, writer_for

    src, dst = Path(args.input), Path(args.output)
    writer = writer_for(dst, args.format)  # fail before reading a large file
    ds = load_poses(src, source=args.source, fps=args.fps)
    save_poses(ds, dst, format=writer.name)
    print(
        f"wrote {dst} ({writer.name}): {ds.sizes['time']} frames, "
        f"{ds.sizes['individual']} individual(s), {ds.sizes['keypoint']} keypoint(s)"
    )
    return 0


def _cmd_formats(args: argparse.Namespace) -> int:
    from behavior.io.registry import frontends

    table = frontends()
    columns = ["name", "reads", "writes", "suffixes", "origin", "description"]
    rows = [
        [
            str(row["name"]),
            "yes" if row["reads"] else "-",
            "yes" if row["writes"] else "-",
            str(row["suffixes"]),
            str(row["origin"]),
            str(row["description"]),
        ]
        for _, row in table.iterrows()
    ]
    print(_text_table(columns, rows))
    return 0


def _text_table(columns: list[str], rows: list[list[str]]) -> str:
    """Left-aligned columns separated by two spaces (the last column is not padded)."""
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    lines = []
    for cells in [columns, *rows]:
        padded = [cell.ljust(w) for cell, w in zip(cells[:-1], widths[:-1], strict=True)]
        lines.append("  ".join([*padded, cells[-1]]).rstrip())
    return "\n".join(lines)


def _cmd_demo(args: argparse.Namespace) -> int:
    ctx = DemoContext(
        out=Path(args.out),
        duration=args.duration,
        seed=args.seed,
        figures=not args.no_figures,
    )
    run_demo(ctx, progress=not args.no_progress)
    _print_demo(ctx)
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from behavior.study import analyze
    from behavior.study.config import ConfigError, example_config, load_config

    if args.example_config:
        print(example_config(), end="")
        return 0
    if not args.paths:
        print(
            "behavior analyze: error: give pose files, folders or glob patterns "
            "(or --example-config)",
            file=sys.stderr,
        )
        return 2
    try:
        config = load_config(args.config)
    except (ConfigError, FileNotFoundError) as err:
        print(f"behavior: error: {err}", file=sys.stderr)
        return 2
    result = analyze(
        args.paths,
        config,
        out=args.out,
        scheduler=args.scheduler,
        n_workers=args.workers,
        metadata=args.metadata,
        resume=not args.no_resume,
        progress=not args.no_progress,
    )
    summary = result.summary
    failed = result.failed
    n_computed = sum(name not in failed for name in result.computed)
    print(
        f"behavior analyze: {len(summary)} session(s) in {result.seconds:.1f} s: "
        f"{n_computed} computed, {len(result.skipped)} already done, "
        f"{len(failed)} failed"
    )
    for name, reason in failed.items():
        print(f"  failed: {name}: {reason}")
    print(f"files written to {result.out}:")
    for path in result.files.values():
        print(f"  {path.relative_to(result.out)}")
    if failed:
        print(
            f"behavior: error: {len(failed)} of {len(summary)} session(s) failed "
            f"(reasons in {result.files['summary']})",
            file=sys.stderr,
        )
        return 1
    return 0


def _no_bar(args: argparse.Namespace, n: int) -> bool | None:
    if args.no_progress or n < 2:
        return True
    return None  # tqdm: show on a terminal only


# --------------------------------------------------------------------------- parser and main


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options accepted before and after the subcommand (``behavior -v demo``, ``demo -v``)."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="more logging (-v: info, -vv: debug); show tracebacks on errors",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="no progress bars",
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``behavior`` command.

    Returns
    -------
    argparse.ArgumentParser
        The parser, with one subcommand per action.

    Examples
    --------
    >>> build_parser().parse_args(["info", "poses.h5"]).command
    'info'
    """
    parser = argparse.ArgumentParser(
        prog="behavior",
        description="Animal behavior analysis after pose estimation: pose tracks in, behavior out.",
    )
    parser.add_argument("--version", action="version", version=f"behavior {__version__}")
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="simulate a social session and run the pipeline on it",
        description=(
            "Simulate two interacting mice with known behavior, save and reload them, "
            "summarise the ground truth and draw figures."
        ),
    )
    demo.add_argument("--out", default="behavior-demo", help="output folder (default: %(default)s)")
    demo.add_argument(
        "--duration", default="2 min", help="session length, e.g. '2 min' (default: %(default)s)"
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    demo.add_argument("--no-figures", action="store_true", help="skip the figures")
    _common(demo, suppress=True)
    demo.set_defaults(handler=_cmd_demo)

    analyze = sub.add_parser(
        "analyze",
        help="analyse many pose files from one config, on local workers or a cluster",
        description=(
            "Analyse every session (pose file) from one config: cleaning, calibration, "
            "kinematics, rules, features and a report per session, and a study summary. "
            "Sessions run as dask.distributed tasks; a killed run resumes where it stopped."
        ),
    )
    analyze.add_argument(
        "paths", nargs="*", metavar="PATHS_OR_GLOBS", help="pose files, folders or glob patterns"
    )
    analyze.add_argument("--config", default=None, help="analysis config (TOML); default: defaults")
    analyze.add_argument(
        "--out", default="behavior_out", help="output folder (default: %(default)s)"
    )
    analyze.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDR",
        help="dask scheduler address (tcp://host:8786); default: a local cluster of processes",
    )
    analyze.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="local worker processes (default: cores)",
    )
    analyze.add_argument(
        "--metadata",
        default=None,
        metavar="CSV",
        help="CSV with a session column and group columns",
    )
    analyze.add_argument(
        "--no-resume", action="store_true", help="compute every session again (ignore the manifest)"
    )
    analyze.add_argument(
        "--example-config", action="store_true", help="print a commented config template and exit"
    )
    _common(analyze, suppress=True)
    analyze.set_defaults(handler=_cmd_analyze)

    info = sub.add_parser("info", help="describe pose files", description="Describe pose files.")
    info.add_argument("files", nargs="+", metavar="FILE", help="pose file(s)")
    info.add_argument("--source", default="auto", help="format name (default: detect)")
    info.add_argument("--fps", type=float, default=None, help="frames per second")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    _common(info, suppress=True)
    info.set_defaults(handler=_cmd_info)

    convert = sub.add_parser(
        "convert",
        help="convert a pose file to another format",
        description="Read any supported pose file and write it in another format.",
    )
    convert.add_argument("input", metavar="IN", help="input pose file")
    convert.add_argument("output", metavar="OUT", help="output file; format from its suffix")
    convert.add_argument("--source", default="auto", help="input format (default: detect)")
    convert.add_argument("--format", default=None, help="output format (default: from suffix)")
    convert.add_argument("--fps", type=float, default=None, help="frames per second")
    _common(convert, suppress=True)
    convert.set_defaults(handler=_cmd_convert)

    formats = sub.add_parser("formats", help="list the pose formats read and written")
    _common(formats, suppress=True)
    formats.set_defaults(handler=_cmd_formats)
    return parser


class _Handler(logging.StreamHandler):
    """The stderr handler ``main`` installs on the ``behavior`` logger (and removes)."""


def _configure_logging(verbosity: int) -> tuple[logging.Handler, int]:
    root = logging.getLogger("behavior")
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    for handler in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(handler)
    handler = _Handler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    return handler, previous


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``behavior`` command.

    Parameters
    ----------
    argv
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit code: 0 on success, 1 on an error (one line on stderr), 2 on a
        usage error.

    Examples
    --------
    >>> main(["formats"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 0
    handler, previous = _configure_logging(args.verbose)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("behavior: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if args.verbose:
            logger.exception("behavior %s failed", args.command)
        print(f"behavior: error: {_one_line(err)}", file=sys.stderr)
        return 1
    finally:
        root = logging.getLogger("behavior")
        root.removeHandler(handler)
        root.setLevel(previous)


def _one_line(err: BaseException) -> str:
    """The error's message on one line (the lines of a multi-line message joined)."""
    text = str(err).strip()
    if isinstance(err, KeyError) and text[:1] in ("'", '"'):
        text = text[1:-1]
    text = re.sub(r"(?<![\w-])(source|format|fps)=(\s*)", r"--\1 ", text)  # CLI spelling
    lines = [line.strip().lstrip("- ") for line in text.splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    out = lines[0]
    for line in lines[1:]:
        out += (" " if out.endswith(":") else "; ") + line
    return out


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
