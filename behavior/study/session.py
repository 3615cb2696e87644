"""One session of ``behavior analyze``: a pose file in, a folder of results out.

:func:`analyze_session` runs the stages an :class:`~behavior.study.config.AnalysisConfig`
asks for, in order: load, clean (:func:`behavior.filtering.clean`), calibrate
(:func:`behavior.kinematics.calibrate`), kinematics, rule presets and zones
(:data:`behavior.events.PRESETS`), a saved classifier, a saved syllable model,
the :class:`~behavior.ethogram.Ethogram` of everything found, decoder-ready
features (:func:`behavior.decode.align`), figures, the HTML report
(:func:`behavior.study.report.html_report`) and an optional labelled video clip.
Everything is written into a hidden sibling folder that is renamed into place at
the end, so a session's folder is complete or absent, never half-written.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import time
import uuid
import warnings as warnings_module
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavior.errors import PoseDataError
from behavior.study.config import AnalysisConfig

logger = logging.getLogger(__name__)

__all__ = [
    "OUTPUT_FILES",
    "SOCIAL_PRESETS",
    "analyze_session",
    "kinematics_table",
    "remove_unfinished_folders",
    "summary_table",
]

OUTPUT_FILES = {
    "results": "results.nc",
    "bouts": "bouts.csv",
    "summary": "summary.csv",
    "features": "features.nc",
    "report": "report.html",
}
"""The files of a session folder, by kind (figures go to ``figures/*.png``)."""

SOCIAL_PRESETS = frozenset(
    {
        "chase",
        "watching",
        "approach",
        "following",
        "huddling",
        "side_by_side",
        "nose_to_nose_contact",
        "nose_to_body_contact",
        "nose_to_anogenital_contact",
    }
)
"""Presets about pairs of individuals: skipped, with a warning, on a one-animal session."""


# --------------------------------------------------------------------------- tables


def summary_table(eth: Any) -> pd.DataFrame:
    """Time budget and bout count per individual and behavior.

    :func:`behavior.ethogram.time_budget` with the ``n_bouts`` column of
    :func:`behavior.ethogram.bout_stats` (``behavior demo``'s ``summary.csv``).

    Parameters
    ----------
    eth
        An :class:`~behavior.ethogram.Ethogram`.

    Returns
    -------
    pandas.DataFrame
        Columns ``individual``, ``behavior``, ``frames``, ``seconds``, ``fraction``
        and ``n_bouts``.

    Examples
    --------
    >>> import behavior as bh
    >>> _, truth = bh.simulate.session(duration="20 s", seed=0)
    >>> table = summary_table(bh.Ethogram.from_states(truth.labels))
    >>> int(table["frames"].sum()) == truth.labels.size
    True
    """
    from behavior.ethogram import bout_stats, time_budget

    keys = ["individual", "behavior"]
    budget = time_budget(eth)[[*keys, "frames", "seconds", "fraction"]]
    return budget.merge(bout_stats(eth)[[*keys, "n_bouts"]], on=keys, how="left")


def kinematics_table(ds: xr.Dataset, body_keypoints: Any = None) -> pd.DataFrame:
    """Body-centroid speed and path length of each individual.

    Parameters
    ----------
    ds
        A pose dataset (calibrated or in pixels: the columns say the unit).
    body_keypoints
        Keypoints averaged into the centroid; None or empty: all keypoints.

    Returns
    -------
    pandas.DataFrame
        One row per individual: ``individual``, ``space_unit``, ``mean_speed``,
        ``median_speed``, ``max_speed`` (per second), ``path_length``,
        ``tracked_fraction`` (frames with a centroid).

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> list(kinematics_table(ds)["individual"])
    ['mouse_0', 'mouse_1']
    """
    from behavior import kinematics

    center = kinematics.centroid(
        ds, keypoints=list(body_keypoints) or None if body_keypoints else None
    )
    speed = kinematics.speed(center)
    with warnings_module.catch_warnings():
        warnings_module.simplefilter("ignore")
        path = kinematics.path_length(center, nan_warn_threshold=1.0)
    values = speed.transpose("individual", "time").values
    with np.errstate(all="ignore"), warnings_module.catch_warnings():
        warnings_module.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=1)
        median = np.nanmedian(values, axis=1)
        peak = np.nanmax(values, axis=1) if values.shape[1] else np.full(len(values), np.nan)
    tracked = center.notnull().all("space").transpose("individual", "time").values.mean(axis=1)
    individuals = [str(i) for i in speed["individual"].values]
    return pd.DataFrame(
        {
            "individual": individuals,
            "space_unit": str(ds.attrs.get("space_unit", "pixels") or "pixels"),
            "mean_speed": mean,
            "median_speed": median,
            "max_speed": peak,
            "path_length": path.sel(individual=speed["individual"]).values,
            "tracked_fraction": tracked,
        }
    )


# --------------------------------------------------------------------------- the folder


#: The hidden folders :func:`_session_folder` writes a session into before renaming it
#: into place (``.<name>.tmp-<pid>-<hex>``), and the previous folder moved aside while
#: the new one is renamed in (``.<name>.old-<hex>``).
_UNFINISHED = re.compile(r"^\..+\.(tmp-\d+-|old-)[0-9a-f]{8}$")


def remove_unfinished_folders(out_dir: str | Path) -> list[Path]:
    """Remove the session folders that killed runs left half-written in ``out_dir``.

    Call it before any session of a run starts, so that nothing of this run is in
    flight; two runs must not share an output folder at the same time.

    Parameters
    ----------
    out_dir
        The output folder of :func:`analyze_session`.

    Returns
    -------
    list of Path
        The folders removed.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> (out / ".s1.tmp-123-0123abcd").mkdir()
    >>> [p.name for p in remove_unfinished_folders(out)]
    ['.s1.tmp-123-0123abcd']
    """
    removed = []
    for entry in Path(out_dir).iterdir():
        if entry.is_dir() and _UNFINISHED.match(entry.name):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    if removed:
        logger.info("%s: removed %d unfinished session folder(s)", out_dir, len(removed))
    return removed


@contextmanager
def _session_folder(out_dir: Path, name: str) -> Iterator[Path]:
    """A hidden temporary folder beside ``out_dir/name``, renamed into place on success.

    A folder already there is replaced only once the new one is complete (it is
    moved aside, the new one renamed in, then the old one removed).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / name
    tmp = out_dir / f".{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        old = None
        if final.exists():
            old = out_dir / f".{name}.old-{uuid.uuid4().hex[:8]}"
            final.rename(old)
        tmp.rename(final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write(
    path: Path, writer: Callable[[Path], Any], verify: Callable[[Path], Any] | None = None
) -> None:
    from behavior.io.registry import atomic_path

    with atomic_path(path, verify=verify) as tmp:
        writer(tmp)


def _plain_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes netCDF can hold: nested values become JSON text."""
    from behavior._json import dumps

    out = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = int(value)
        elif isinstance(value, str | int | float | np.number):
            out[key] = value
        else:
            out[key] = dumps(value)
    return out


def _to_netcdf(ds: xr.Dataset, path: Path) -> None:
    out = ds.copy(deep=False)
    out.attrs = _plain_attrs(dict(ds.attrs))
    for name in list(out.variables):
        out[name].attrs = _plain_attrs(dict(out[name].attrs))
    # compressed (zlib level 1, with shuffle): an hour of two mice, 62 MB raw, becomes ~48 MB
    encoding = {
        name: {"zlib": True, "complevel": 1, "shuffle": True}
        for name, var in out.data_vars.items()
        if var.dtype.kind in "fiub" and var.ndim
    }
    _write(
        path,
        lambda tmp: out.to_netcdf(tmp, engine="netcdf4", encoding=encoding),
        verify=_check_netcdf,
    )


def _check_netcdf(path: Path) -> None:
    with xr.open_dataset(path, engine="netcdf4") as back:
        back.sizes  # noqa: B018 - opening and reading the header is the check


# --------------------------------------------------------------------------- stages


class _Run:
    """What the stages of one session share."""

    def __init__(self, config: AnalysisConfig, name: str, source: Any):
        self.config = config
        self.name = name
        self.source = source
        self.warnings: list[str] = []
        self.times: dict[str, float] = {}
        self.ds: xr.Dataset | None = None  # cleaned (and calibrated when possible)
        self.raw: xr.Dataset | None = None
        self.cleaned: xr.Dataset | None = None  # before calibration (for a classifier)
        self.kin: xr.Dataset = xr.Dataset()
        self.kin_table: pd.DataFrame | None = None
        self.bouts: list[pd.DataFrame] = []
        self.behaviors: list[str] = []
        self.ethograms: list[Any] = []
        self.eth: Any = None
        self.facts: dict[str, Any] = {}

    def warn(self, message: str) -> None:
        logger.warning("%s: %s", self.name, message)
        self.warnings.append(message)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        with warnings_module.catch_warnings(record=True) as caught:
            warnings_module.simplefilter("always")
            yield
        for w in caught:
            text = f"{name}: {w.message}"
            if text not in self.warnings:
                self.warn(text)
        self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - start


def _load(run: _Run) -> None:
    from behavior.dataset import validate
    from behavior.io.registry import load_poses

    cfg = run.config.input
    source = run.source
    if isinstance(source, xr.Dataset):
        ds = source
        validate(ds)
    else:
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"pose file {str(path)!r} does not exist")
        ds = load_poses(path, source=cfg.format, fps=cfg.fps or None)
    if cfg.individuals:
        present = [str(i) for i in ds["individual"].values]
        missing = [i for i in cfg.individuals if i not in present]
        if missing:
            raise PoseDataError(
                f"input.individuals: {missing} not in {run.name}; its individuals are {present}"
            )
        ds = ds.sel(individual=list(cfg.individuals))
    if ds.sizes.get("time", 0) < 2:
        raise PoseDataError(
            f"{run.name}: expected at least 2 frames, found {ds.sizes.get('time', 0)}"
        )
    if ds.attrs.get("time_unit", "seconds") != "seconds" or not ds.attrs.get("fps"):
        fix = (
            "build the dataset with fps=... (time in seconds)"
            if isinstance(source, xr.Dataset)
            else "set input.fps in the configuration"
        )
        raise PoseDataError(f"{run.name}: the frame rate is unknown (time in frames); {fix}")
    run.raw = ds


def _clean(run: _Run) -> None:
    from behavior import filtering

    cfg = run.config.clean
    ds = run.raw
    assert ds is not None
    run.facts["missing_before"] = float(ds["position"].isnull().any("space").mean())
    if cfg.enabled:
        ds = filtering.clean(
            ds,
            confidence_threshold=cfg.confidence_threshold or None,
            max_jump_speed=cfg.max_jump_speed or None,
            max_gap=cfg.max_gap or None,
            smooth=None if cfg.smooth == "none" else cfg.smooth,  # type: ignore[arg-type]
            window=cfg.window,
            interpolation=cfg.interpolation,  # type: ignore[arg-type]
            polyorder=cfg.polyorder,
        )
    run.facts["missing_after"] = float(ds["position"].isnull().any("space").mean())
    run.cleaned = ds
    run.ds = ds


def _scale(run: _Run) -> float | None:
    """Pixels per cm: from the configuration, the file, or the body length."""
    from behavior import kinematics
    from behavior.units import quantity

    cfg = run.config.calibration
    ds = run.ds
    assert ds is not None
    if cfg.px_per_cm:
        return cfg.px_per_cm
    if ds.attrs.get("px_per_cm"):
        return float(ds.attrs["px_per_cm"])
    if cfg.body_length:
        value_cm = quantity(cfg.body_length, name="calibration.body_length").to("cm")
        a, b = cfg.body_keypoints
        names = {str(k) for k in ds["keypoint"].values}
        if a not in names or b not in names:
            run.warn(
                f"calibration.body_keypoints: {a!r} or {b!r} is not a keypoint of this file "
                f"({sorted(names)}); positions stay in pixels"
            )
            return None
        px = float(np.nanmedian(kinematics.body_length(ds, a, b).values))
        if not math.isfinite(px) or px <= 0:
            run.warn("calibration: the body length could not be measured; positions stay in pixels")
            return None
        return px / value_cm
    return None


def _calibrate(run: _Run) -> None:
    from behavior import kinematics

    ds = run.ds
    assert ds is not None
    unit = str(ds.attrs.get("space_unit", "pixels") or "pixels").lower()
    if unit not in ("pixels", "pixel", "px"):
        run.facts["space_unit"] = unit
        return
    scale = _scale(run)
    if scale is None:
        run.warn(
            "no calibration (calibration.px_per_cm or calibration.body_length, or px_per_cm in "
            "the file): positions stay in pixels, and presets with thresholds in cm are skipped"
        )
        run.facts["space_unit"] = "pixels"
        return
    run.ds = kinematics.calibrate(ds, px_per_cm=scale)
    run.facts["px_per_cm"] = scale
    run.facts["space_unit"] = "cm"


def _kinematics(run: _Run) -> None:
    from behavior import kinematics

    cfg = run.config.kinematics
    ds = run.ds
    assert ds is not None
    if not cfg.enabled:
        return
    names = [str(k) for k in ds["keypoint"].values]
    body = [k for k in cfg.body_keypoints if k in names]
    if cfg.body_keypoints and not body:
        run.warn(
            f"kinematics.body_keypoints: none of {list(cfg.body_keypoints)} in {names}; using all"
        )
    center = kinematics.centroid(ds, keypoints=body or None)
    speed = kinematics.speed(center)
    kin = {"centroid": center.rename("centroid"), "speed": speed.rename("speed")}
    a, b = cfg.heading_keypoints
    if a in names and b in names:
        heading = kinematics.body_heading(ds, a, b)
        kin["heading"] = heading.rename("heading")
        kin["angular_speed"] = abs(kinematics.angular_velocity(heading)).rename("angular_speed")
    run.kin = xr.Dataset(
        {k: v.drop_attrs() if hasattr(v, "drop_attrs") else v for k, v in kin.items()}
    )
    run.kin_table = kinematics_table(ds, body)


def _rules(run: _Run) -> None:
    from behavior.events.presets import PRESETS

    cfg = run.config.rules
    ds = run.ds
    assert ds is not None
    zones = run.config.zone_objects()
    calibrated = run.facts.get("space_unit") != "pixels"
    for preset in cfg.presets:
        options = dict(cfg.options.get(preset, {}))
        if preset == "zone_visits":
            if not zones:
                run.warn("rules: zone_visits needs [zones.<name>] tables; skipped")
                continue
            options["zones"] = zones
        elif not calibrated:
            continue  # warned once in _calibrate
        if preset in SOCIAL_PRESETS and ds.sizes["individual"] < 2:
            run.warn(f"rules.{preset}: skipped: a social preset needs two individuals, found one")
            continue
        try:
            with run.stage(f"rules.{preset}"):
                table = PRESETS.get(preset)(ds, **options)
        except (PoseDataError, ValueError, KeyError, TypeError) as err:
            run.warn(f"rules.{preset}: skipped: {err}")
            continue
        names = [preset] if preset != "zone_visits" else list(zones)
        run.bouts.append(table)
        run.behaviors.extend(n for n in names if n not in run.behaviors)
    if zones and "zone_visits" not in cfg.presets:
        try:
            with run.stage("rules.zone_visits"):
                table = PRESETS.get("zone_visits")(ds, zones)
        except (PoseDataError, ValueError, KeyError, TypeError) as err:
            run.warn(f"zones: skipped: {err}")
        else:
            run.bouts.append(table)
            run.behaviors.extend(n for n in zones if n not in run.behaviors)


def _models(run: _Run) -> None:
    """Apply the saved classifier and syllable model to the cleaned poses (before calibration,
    in the units the models were trained on)."""
    cfg = run.config
    if cfg.classifier.path:
        from behavior.classify.model import BehaviorClassifier

        model = BehaviorClassifier.load(cfg.classifier.path)
        if "progress" in model.get_params():
            model.set_params(progress=False)
        run.ethograms.append(("classifier", model.predict(run.cleaned)))
    if cfg.syllables.path:
        from behavior.syllables.results import Syllables

        syl = Syllables.load(cfg.syllables.path).apply(run.cleaned)
        run.ethograms.append(("syllables", syl.to_ethogram()))


def _ethogram(run: _Run) -> None:
    from behavior.bouts import BOUT_COLUMNS
    from behavior.ethogram import Ethogram

    ds = run.ds
    assert ds is not None
    tables = [t for t in run.bouts if len(t)]
    bouts = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=BOUT_COLUMNS)
    eth = Ethogram.from_bouts(
        bouts,
        ds,
        behaviors=run.behaviors,
        individuals=[str(i) for i in ds["individual"].values],
    )
    for origin, other in run.ethograms:
        if other.n_frames != eth.n_frames:
            raise PoseDataError(
                f"{origin}: its ethogram has {other.n_frames} frames, the session {eth.n_frames}"
            )
        eth = _combine(eth, other)
    eth.attrs["source"] = "behavior analyze"
    run.eth = eth


def _combine(a: Any, b: Any) -> Any:
    """Two ethograms of the same frames side by side (behaviors of ``b`` renamed on a clash)."""
    from behavior.ethogram import Ethogram

    labels_b = b.labels.reindex(individual=a.labels["individual"].values, fill_value=False)
    labels_b = labels_b.assign_coords(time=a.labels["time"].values)
    taken = set(a.behaviors)
    renamed = [f"{n}_2" if n in taken else n for n in b.behaviors]
    labels_b = labels_b.assign_coords(behavior=renamed)
    labels = xr.concat([a.labels, labels_b], dim="behavior")
    return Ethogram(labels, attrs=dict(a.attrs))


def _features(run: _Run) -> xr.Dataset | None:
    from behavior.decode import align

    cfg = run.config.features
    if not cfg.enabled:
        return None
    # one set of bin edges for every part (each align call would make its own from its
    # own time coordinate, and irregular timestamps could make them differ)
    from behavior.units import to_seconds

    ds = run.ds
    assert ds is not None
    t = np.asarray(ds["time"].values, dtype=float)
    width = to_seconds(cfg.bin_size, name="features.bin_size")
    span = t[-1] + 1.0 / float(ds.attrs["fps"]) - t[0]
    edges = t[0] + np.arange(max(1, math.ceil(span / width - 1e-9)) + 1) * width
    parts = {}
    kin = run.kin
    for name in ("speed", "angular_speed", "centroid"):
        if name in kin:
            parts[name] = align(kin[name], edges=edges)
    if "heading" in kin:
        heading = kin["heading"]
        parts["heading_cos"] = align(np.cos(heading), edges=edges)
        parts["heading_sin"] = align(np.sin(heading), edges=edges)
    if run.eth is not None and run.eth.behaviors:
        parts["behavior_fraction"] = align(run.eth, edges=edges)
    if not parts:
        return None
    out = xr.Dataset({k: v.drop_attrs() for k, v in parts.items()})
    out.attrs = {
        "bin_size": cfg.bin_size,
        "session": run.name,
        "description": "decoder-ready features: the mean of each time bin "
        "(behavior_fraction: the fraction of the bin in each behavior); time = bin centre (s)",
    }
    return out


# --------------------------------------------------------------------------- outputs


def _results_dataset(run: _Run) -> xr.Dataset:
    ds = run.ds
    assert ds is not None
    out = ds.copy()
    for name, var in run.kin.data_vars.items():
        out[name] = var
    if run.eth is not None:
        out["labels"] = run.eth.labels.assign_coords(time=ds["time"].values).drop_attrs()
    return out


def _flat_summary(run: _Run, summary: pd.DataFrame) -> dict[str, Any]:
    ds = run.ds
    assert ds is not None
    fps = float(ds.attrs["fps"])
    row: dict[str, Any] = {
        "session": run.name,
        "n_frames": int(ds.sizes["time"]),
        "fps": fps,
        "duration_s": float(ds.sizes["time"]) / fps,
        "n_individuals": int(ds.sizes["individual"]),
        "n_keypoints": int(ds.sizes["keypoint"]),
        "space_unit": run.facts.get("space_unit", "pixels"),
        "px_per_cm": run.facts.get("px_per_cm", float("nan")),
        "missing_before": run.facts.get("missing_before", float("nan")),
        "missing_after": run.facts.get("missing_after", float("nan")),
    }
    if run.kin_table is not None and len(run.kin_table):
        for column in ("mean_speed", "median_speed", "path_length", "tracked_fraction"):
            row[column] = float(np.nanmean(run.kin_table[column].to_numpy(float)))
    if len(summary):
        for behavior, group in summary.groupby("behavior", sort=False):
            row[f"fraction.{behavior}"] = float(group["fraction"].mean())
            row[f"seconds.{behavior}"] = float(group["seconds"].sum())
            row[f"bouts.{behavior}"] = int(group["n_bouts"].fillna(0).sum())
            if "mean_duration" in group:
                durations = group["mean_duration"].to_numpy(float)
                finite = durations[np.isfinite(durations)]
                row[f"mean_bout_s.{behavior}"] = float(finite.mean()) if finite.size else math.nan
    return row


def _summary_table(run: _Run) -> pd.DataFrame:
    from behavior.ethogram import bout_stats

    keys = ["individual", "behavior"]
    if run.eth is not None and run.eth.behaviors:
        table = summary_table(run.eth)
        stats = bout_stats(run.eth)
        extra = [c for c in stats.columns if c not in (*keys, "n_bouts", *table.columns)]
        table = table.merge(stats[[*keys, *extra]], on=keys, how="left")
    else:
        table = pd.DataFrame(columns=[*keys, "frames", "seconds", "fraction", "n_bouts"])
    if run.kin_table is not None:
        table = table.merge(run.kin_table, on="individual", how="outer")
    return table


def _figures(run: _Run, folder: Path) -> list[tuple[str, str, bytes]]:
    """Draw the figures; return ``(file name, caption, png bytes)``."""
    import importlib.util

    if not run.config.report.figures or importlib.util.find_spec("matplotlib") is None:
        return []
    from matplotlib.figure import Figure

    from behavior import plot
    from behavior.study.report import figure_png

    ds = run.ds
    assert ds is not None
    drawn: list[tuple[str, str, Any]] = []
    fig = Figure(figsize=(6, 6))
    if "centroid" in run.kin:  # the body centroid, drawn as a one-keypoint pose
        track = run.kin["centroid"].expand_dims(keypoint=["centroid"], axis=-1)
        caption = "Trajectories (body centroid)"
    else:
        track = ds["position"].isel(keypoint=[0])
        caption = f"Trajectories ({track['keypoint'].values[0]})"
    # the centroid loses the dataset's attrs: the axes must still say the space unit
    track = track.assign_attrs(space_unit=ds.attrs.get("space_unit", "pixels"))
    plot.trajectories(
        track.transpose("time", "space", "keypoint", "individual"), ax=fig.add_subplot()
    )
    drawn.append(("trajectories.png", caption, fig))
    if "speed" in run.kin:
        fig = Figure(figsize=(9, 3))
        ax = fig.add_subplot()
        speed = run.kin["speed"]
        for individual in speed["individual"].values:
            trace = speed.sel(individual=individual)
            ax.plot(trace["time"].values, trace.values, lw=0.4, label=str(individual))
        ax.set_xlabel("time (s)")
        ax.set_ylabel(f"speed ({run.facts.get('space_unit', 'pixels')}/s)")
        ax.legend(loc="upper right", frameon=False)
        drawn.append(("speed.png", "Body centroid speed", fig))
    eth = run.eth
    if eth is not None and eth.behaviors:
        fig = Figure(figsize=(10, 1 + 0.3 * len(eth.individuals) * len(eth.behaviors)))
        plot.ethogram_raster(eth, ax=fig.add_subplot())
        drawn.append(("ethogram.png", "Ethogram", fig))
        fig = Figure(figsize=(7, 4))
        plot.time_budget_bars(eth, ax=fig.add_subplot())
        drawn.append(("time_budget.png", "Time budget", fig))
    out = []
    (folder / "figures").mkdir(exist_ok=True)
    for file_name, caption, fig in drawn:
        png = figure_png(fig)
        _write(folder / "figures" / file_name, lambda tmp, png=png: tmp.write_bytes(png))
        out.append((file_name, caption, png))
    return out


def _video(run: _Run, folder: Path) -> str | None:
    cfg = run.config.video
    if cfg.clip_seconds <= 0 or isinstance(run.source, xr.Dataset):
        return None
    try:
        from behavior.plot.video import find_video, labelled_clip
    except ImportError as err:
        run.warn(f"video: no labelled clip ({err})")
        return None
    video = find_video(Path(run.source))
    if video is None:
        run.warn(f"video: no video found beside {Path(run.source).name}; no clip")
        return None
    try:
        path = labelled_clip(
            run.cleaned,  # in pixels, as the video
            video,
            folder / "clip.mp4",
            ethogram=run.eth,
            start=cfg.start,
            duration=f"{cfg.clip_seconds:g} s",
            progress=False,
        )
    except (ImportError, OSError, PoseDataError, ValueError) as err:
        run.warn(f"video: no labelled clip ({type(err).__name__}: {err})")
        return None
    return Path(path).name


MAX_EMBEDDED_CLIP = 8 * 2**20
"""Clips up to this many bytes are embedded in the report; longer ones are only named."""


def _clip_section(run: _Run, folder: Path) -> list[Any]:
    from behavior.study.report import Figure, Section

    clip = folder / "clip.mp4"
    if not clip.is_file():
        return []
    size = clip.stat().st_size
    caption = (
        f"Labelled clip: {run.config.video.clip_seconds:g} s from {run.config.video.start} "
        "(keypoints, skeleton and detected behaviors over the session's video)"
    )
    if size > MAX_EMBEDDED_CLIP:
        text = f"clip.mp4 ({size / 2**20:.1f} MB) is in the session folder, too large to embed."
        return [Section("Video", [caption, text])]
    return [Section("Video", figures=[Figure(caption, mp4=clip.read_bytes())])]


def _report(
    run: _Run, folder: Path, summary: pd.DataFrame, figures: list, bouts: pd.DataFrame
) -> None:
    from behavior.dataset import read_log
    from behavior.study.report import Figure, Section, html_report

    ds = run.ds
    assert ds is not None
    meta = {
        "source": str(run.source) if not isinstance(run.source, xr.Dataset) else "(dataset)",
        "individuals": ", ".join(str(i) for i in ds["individual"].values),
        "keypoints": ds.sizes["keypoint"],
        "frames": f"{ds.sizes['time']} at {float(ds.attrs['fps']):g} fps",
        "space unit": run.facts.get("space_unit", "pixels"),
        "missing points": f"{100 * run.facts.get('missing_before', float('nan')):.1f} % before "
        f"cleaning, {100 * run.facts.get('missing_after', float('nan')):.1f} % after",
        "configuration hash": run.config.hash()[:16],
    }
    found = run.eth.behaviors if run.eth is not None else []
    by_name = {name: Figure(caption, png=png) for name, caption, png in figures}
    sections = [
        Section(
            "Kinematics",
            tables=[("per individual", run.kin_table)] if run.kin_table is not None else [],
            figures=[by_name[n] for n in ("trajectories.png", "speed.png") if n in by_name],
        ),
        Section(
            "Behavior",
            paragraphs=[f"Behaviors: {', '.join(found) if found else 'none found'}"],
            tables=[
                (
                    "time budget and bout statistics",
                    summary.drop(columns=[c for c in summary.columns if c in ("space_unit",)]),
                )
            ],
            figures=[by_name[n] for n in ("ethogram.png", "time_budget.png") if n in by_name],
        ),
        Section("Bouts", tables=[("bouts", bouts)]),
        *_clip_section(run, folder),
        Section(
            "Timing",
            tables=[
                (
                    "seconds per stage",
                    pd.DataFrame({"stage": list(run.times), "seconds": list(run.times.values())}),
                )
            ],
        ),
    ]
    page = html_report(
        f"behavior analyze: {run.name}",
        sections,
        log=read_log(ds),
        warnings=run.warnings,
        meta=meta,
    )
    _write(folder / OUTPUT_FILES["report"], lambda tmp: tmp.write_text(page, encoding="utf-8"))


# --------------------------------------------------------------------------- entry point


def analyze_session(
    source: str | Path | xr.Dataset,
    config: AnalysisConfig,
    out_dir: str | Path,
    *,
    name: str | None = None,
) -> dict[str, Any]:
    """Analyse one session and write its folder of results.

    Parameters
    ----------
    source
        A pose file (any format :func:`behavior.load_poses` reads) or a pose dataset.
    config
        What to do (:func:`behavior.study.config.load_config`).
    out_dir
        The study's output folder; the session's folder ``out_dir/<name>`` is
        written into a hidden sibling first and renamed into place at the end
        (replacing an older one only then).
    name
        The session's folder name; default the file name
        (:func:`behavior.dataset.session_name`).

    Returns
    -------
    dict
        ``session`` (the name), ``status`` (``"ok"``), ``outputs`` (kind ->
        path relative to ``out_dir``: ``results``, ``bouts``, ``summary``,
        ``features``, ``report``, ``figures/<name>``, ``clip``), ``summary`` (a
        flat dict, one row of the study table), ``warnings`` (list of str),
        ``seconds`` (wall time) and ``stages`` (seconds per stage).

    Raises
    ------
    FileNotFoundError, PoseDataError
        For a missing or unreadable file, or data the configuration cannot
        analyse (unknown individuals, unknown frame rate); nothing is written.

    Examples
    --------
    >>> import behavior as bh
    >>> from behavior.study.config import load_config
    >>> ds, _ = bh.simulate.session(duration="30 s", seed=0)
    >>> result = analyze_session(ds, load_config(), "study_out", name="s1")  # doctest: +SKIP
    >>> result["outputs"]["report"]  # doctest: +SKIP
    's1/report.html'
    """
    from behavior.dataset import session_name

    start = time.perf_counter()
    if not isinstance(config, AnalysisConfig):
        raise TypeError(
            f"config: expected an AnalysisConfig (load_config), found {type(config).__name__}"
        )
    name = name or session_name(source)
    if not name or name in (".", "..") or "/" in name or os.sep in name:
        raise PoseDataError(f"name: expected a folder name, found {name!r}")
    run = _Run(config, name, source)
    out_dir = Path(out_dir)
    with run.stage("load"):
        _load(run)
    with run.stage("clean"):
        _clean(run)
    with run.stage("calibrate"):
        _calibrate(run)
    with run.stage("kinematics"):
        _kinematics(run)
    _rules(run)  # one stage per preset: rules.<preset>
    with run.stage("models"):
        _models(run)
    with run.stage("ethogram"):
        _ethogram(run)
    with run.stage("features"):
        features = _features(run)
    outputs: dict[str, str] = {}
    with _session_folder(out_dir, name) as folder:
        with run.stage("write"):
            _to_netcdf(_results_dataset(run), folder / OUTPUT_FILES["results"])
            bouts = run.eth.to_bouts() if run.eth is not None else pd.DataFrame()
            _write(folder / OUTPUT_FILES["bouts"], lambda tmp: bouts.to_csv(tmp, index=False))
            summary = _summary_table(run)
            _write(folder / OUTPUT_FILES["summary"], lambda tmp: summary.to_csv(tmp, index=False))
            outputs.update(
                results=OUTPUT_FILES["results"],
                bouts=OUTPUT_FILES["bouts"],
                summary=OUTPUT_FILES["summary"],
            )
            if features is not None:
                _to_netcdf(features, folder / OUTPUT_FILES["features"])
                outputs["features"] = OUTPUT_FILES["features"]
        with run.stage("figures"):
            figures = _figures(run, folder)
            for file_name, _, _ in figures:
                outputs[f"figures/{file_name}"] = f"figures/{file_name}"
        with run.stage("video"):
            clip = _video(run, folder)
            if clip:
                outputs["clip"] = clip
        if config.report.html:
            with run.stage("report"):
                _report(run, folder, summary, figures, bouts)
            outputs["report"] = OUTPUT_FILES["report"]
    seconds = time.perf_counter() - start
    row = _flat_summary(run, summary)
    row["seconds"] = seconds
    return {
        "session": name,
        "status": "ok",
        "outputs": {kind: f"{name}/{path}" for kind, path in outputs.items()},
        "summary": row,
        "warnings": list(run.warnings),
        "seconds": seconds,
        "stages": dict(run.times),
    }
