"""Ethograms: which behavior, by whom, when; with time budgets, bout statistics and agreement.

An :class:`Ethogram` holds per-frame labels on a session's ``time`` coordinate:
a boolean ``(time, behavior, individual)`` array. Non-exclusive ethograms
(rules, classifiers, human annotations) may hold several behaviors in one
frame; exclusive ones (syllables, clusters, the simulator's states) hold at
most one. Every stage that finds behavior returns or converts to one, and every
summary here takes one:

- :func:`time_budget` -- seconds and percent of the session per individual and
  behavior, optionally per time bin and per zone;
- :func:`bout_stats` -- bout count, duration statistics, inter-bout interval and
  latency to the first bout;
- :func:`transitions` / :func:`transition_matrix` -- transitions between the
  states of an exclusive ethogram, with the entropy of each row;
- :func:`agreement` and :func:`confusion_matrix` -- two raters, or a rater and a
  model: frame and bout (IoU-matched) precision, recall and F1, Cohen's kappa.

Bouts are the tables of :mod:`behavior.bouts` (:data:`~behavior.bouts.BOUT_COLUMNS`);
``Ethogram.from_bouts(bouts, time).to_bouts()`` gives back the same table for
bouts that do not touch or overlap within one individual and behavior.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavior._json import dumps
from behavior.bouts import (
    BOUT_COLUMNS,
    bouts_from_labels,
    empty_bouts,
    labels_from_bouts,
    named_label_codes,
    other_from_bouts,
    runs,
    stop_times,
)
from behavior.dataset import require_dims, time_seconds
from behavior.errors import PoseDataError
from behavior.units import to_seconds

logger = logging.getLogger(__name__)

__all__ = [
    "POINT_COLUMNS",
    "Ethogram",
    "agreement",
    "bout_stats",
    "confusion_matrix",
    "time_budget",
    "transition_matrix",
    "transitions",
]

POINT_COLUMNS = ["individual", "behavior", "time", "frame"]
_DIMS = ("time", "behavior", "individual")


def _empty_points() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "individual": pd.Series([], dtype=object),
            "behavior": pd.Series([], dtype=object),
            "time": pd.Series([], dtype=np.float64),
            "frame": pd.Series([], dtype=np.int64),
        }
    )


def _names(values: Any) -> list[str]:
    return [str(v) for v in np.asarray(values).ravel()]


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


class Ethogram:
    """Per-frame behavior labels of one session, per individual.

    Parameters
    ----------
    labels
        Boolean over ``(time, behavior, individual)`` (any order; NaN in a float
        array is False). Its ``attrs`` ``fps`` and ``time_unit`` are kept.
    exclusive
        True when at most one behavior holds per frame and individual (states,
        syllables, clusters); checked.
    partner
        Optional partner names over ``(time, behavior, individual)`` (``""`` =
        none), the ``other`` of social bouts.
    points
        Instantaneous events, columns :data:`POINT_COLUMNS`.
    attrs
        Metadata: ``fps``, ``time_unit``, ``source``, ``log``, ``issues`` (list of
        warnings, e.g. unpaired START/STOP events).

    Attributes
    ----------
    labels : xr.DataArray
        bool ``(time, behavior, individual)``.
    exclusive : bool
    partner : xr.DataArray or None
    points : pandas.DataFrame
    attrs : dict

    Raises
    ------
    PoseDataError
        If a dimension is missing or extra, names repeat, or ``exclusive`` is
        set and two behaviors share a frame.

    Examples
    --------
    >>> import xarray as xr
    >>> states = xr.DataArray([[0], [0], [1]], dims=("time", "individual"),
    ...                       coords={"time": [0.0, 0.5, 1.0], "individual": ["m1"]},
    ...                       attrs={"labels": ["rest", "walk"], "fps": 2.0})
    >>> eth = Ethogram.from_states(states)
    >>> eth.to_bouts()[["behavior", "start", "duration"]]
      behavior  start  duration
    0     rest    0.0       1.0
    1     walk    1.0       0.5
    """

    __hash__ = None  # mutable container with value equality

    def __init__(
        self,
        labels: xr.DataArray,
        *,
        exclusive: bool = False,
        partner: xr.DataArray | None = None,
        points: pd.DataFrame | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        require_dims(labels, *_DIMS, name="labels")
        extra = [d for d in labels.dims if d not in _DIMS]
        if extra:
            raise PoseDataError(
                f"labels: expected dims (time, behavior, individual), found extra dimension(s) "
                f"{extra}"
            )
        labels = labels.transpose(*_DIMS)
        values = np.asarray(labels.values)
        if np.issubdtype(values.dtype, np.floating):
            values = np.nan_to_num(values, nan=0.0) != 0
        values = values.astype(bool)
        coords = {
            "time": labels["time"].values
            if "time" in labels.coords
            else np.arange(labels.sizes["time"]),
            "behavior": _names(labels["behavior"].values)
            if "behavior" in labels.coords
            else [str(i) for i in range(labels.sizes["behavior"])],
            "individual": _names(labels["individual"].values)
            if "individual" in labels.coords
            else [f"individual_{i}" for i in range(labels.sizes["individual"])],
        }
        for dim in ("behavior", "individual"):
            if len(set(coords[dim])) != len(coords[dim]):
                raise PoseDataError(f"labels: {dim} names must be unique, found {coords[dim]}")
        merged = dict(attrs or {})
        for key in ("fps", "time_unit"):
            if key not in merged and key in labels.attrs:
                merged[key] = labels.attrs[key]
        merged.setdefault("issues", [])
        self.attrs: dict[str, Any] = merged
        label_attrs = {k: merged[k] for k in ("fps", "time_unit") if merged.get(k) is not None}
        self.labels = xr.DataArray(
            values, dims=_DIMS, coords=coords, name="labels", attrs=label_attrs
        )
        self.exclusive = bool(exclusive)
        if self.exclusive and values.size:
            many = values.sum(axis=1) > 1
            if many.any():
                t, i = np.argwhere(many)[0]
                raise PoseDataError(
                    f"labels: exclusive=True but individual {coords['individual'][i]!r} has "
                    f"{int(values[t, :, i].sum())} behaviors in frame {t}; use exclusive=False"
                )
        if partner is not None:
            require_dims(partner, *_DIMS, name="partner")
            partner = partner.transpose(*_DIMS)
            if partner.shape != values.shape:
                raise PoseDataError(
                    f"partner: expected shape {values.shape} like labels, found {partner.shape}"
                )
            text = np.array(
                [
                    "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                    for v in np.asarray(partner.values).ravel()
                ],
                dtype=object,
            ).reshape(values.shape)
            text[~values] = ""
            partner = (
                xr.DataArray(text, dims=_DIMS, coords=coords, name="partner")
                if (text != "").any()
                else None
            )
        self.partner = partner
        self.points = points

    @property
    def points(self) -> pd.DataFrame:
        """Instantaneous events: columns ``individual``, ``behavior``, ``time``, ``frame``."""
        return self._points

    @points.setter
    def points(self, points: pd.DataFrame | None) -> None:
        if points is None or len(points) == 0:
            self._points = _empty_points()
            return
        missing = [c for c in POINT_COLUMNS if c not in points]
        if missing:
            raise PoseDataError(f"points: missing column(s) {missing}; expected {POINT_COLUMNS}")
        points = points[POINT_COLUMNS].reset_index(drop=True)
        self._points = pd.DataFrame(
            {
                "individual": pd.Series([str(v) for v in points["individual"]], dtype=object),
                "behavior": pd.Series([str(v) for v in points["behavior"]], dtype=object),
                "time": points["time"].to_numpy(dtype=np.float64),
                "frame": points["frame"].to_numpy(dtype=np.int64),
            }
        )

    # ------------------------------------------------------------------ properties

    @property
    def behaviors(self) -> list[str]:
        """Behavior names, in the order of the ``behavior`` coordinate."""
        return _names(self.labels["behavior"].values)

    @property
    def individuals(self) -> list[str]:
        """Individual names, in the order of the ``individual`` coordinate."""
        return _names(self.labels["individual"].values)

    @property
    def time(self) -> np.ndarray:
        """The session's time coordinate."""
        return np.asarray(self.labels["time"].values)

    @property
    def fps(self) -> float | None:
        """Frames per second, if known."""
        fps = self.attrs.get("fps")
        return None if fps is None else float(fps)

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(self.labels.sizes["time"])

    def _frame_seconds(self) -> np.ndarray:
        """Duration of every frame, in seconds (time units when neither is known)."""
        width = stop_times(self.labels, self.fps) - time_seconds(self.labels)
        if self.attrs.get("time_unit") == "frames" and self.fps:
            width = width / self.fps
        return width

    def _seconds(self, values: np.ndarray) -> np.ndarray:
        """Times or durations in the time unit, converted to seconds."""
        values = np.asarray(values, dtype=float)
        if self.attrs.get("time_unit") == "frames" and self.fps:
            return values / self.fps
        return values

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_bouts(
        cls,
        bouts: pd.DataFrame,
        time: Any,
        *,
        behaviors: Sequence[str] | None = None,
        individuals: Sequence[str] | None = None,
        exclusive: bool = False,
        fps: float | None = None,
    ) -> Ethogram:
        """Ethogram from a bout table.

        The one conversion for the tables that :mod:`behavior.bouts`, the rules
        and presets of :mod:`behavior.events` and the annotation readers return:
        ``Ethogram.from_bouts(bh.events.chase(ds), ds, behaviors=["chase"])``
        (``behaviors`` keeps a behavior with no bout as an all-False column).

        Parameters
        ----------
        bouts
            Columns :data:`~behavior.bouts.BOUT_COLUMNS` (at least
            ``individual``, ``behavior`` and either ``start_frame``/``stop_frame``
            (exclusive stop) or ``start``/``stop`` in the units of ``time``). With
            times only, a bout covers the frames with ``start <= time < stop``
            (at least one frame). An ``other`` column becomes the partner.
        time
            The session's time coordinate: an array, or a DataArray / Dataset
            whose ``time`` coordinate (and ``individual`` names, ``fps``,
            ``time_unit``) are used.
        behaviors, individuals
            Names and their order; default: from ``time`` (individuals) or the
            bouts, sorted.
        exclusive
            Whether bouts of different behaviors may not overlap (checked).
        fps
            Frames per second (for the duration of the last frame).

        Returns
        -------
        Ethogram

        Raises
        ------
        PoseDataError
            For missing columns, unknown names, bouts outside the session or,
            with ``exclusive``, overlapping bouts.

        Examples
        --------
        >>> b = pd.DataFrame({"individual": ["m1"], "behavior": ["groom"],
        ...                   "start": [1.0], "stop": [2.0]})
        >>> Ethogram.from_bouts(b, np.arange(4.0)).labels.values.ravel().tolist()
        [False, True, False, False]
        """
        if not isinstance(bouts, pd.DataFrame):
            raise PoseDataError(
                f"bouts: expected a bout table (pandas DataFrame), found {type(bouts).__name__}"
            )
        attrs: dict[str, Any] = {}
        ind_default = None
        if isinstance(time, xr.Dataset | xr.DataArray):
            attrs = {k: time.attrs[k] for k in ("fps", "time_unit") if k in time.attrs}
            if "individual" in time.coords:
                ind_default = _names(time["individual"].values)
            time = time["time"].values
        time = np.asarray(time)
        if time.ndim != 1:
            raise PoseDataError(f"time: expected a 1-D time coordinate, found shape {time.shape}")
        if fps is not None:
            attrs["fps"] = float(fps)
        missing = [c for c in ("individual", "behavior") if c not in bouts]
        if missing:
            raise PoseDataError(f"bouts: missing column(s) {missing}; expected {BOUT_COLUMNS}")
        bouts = bouts.reset_index(drop=True)
        if "start_frame" not in bouts or "stop_frame" not in bouts:
            if "start" not in bouts or "stop" not in bouts:
                raise PoseDataError(
                    "bouts: expected start_frame/stop_frame or start/stop columns, found "
                    f"{list(bouts.columns)}"
                )
            t = time.astype(float)
            tol = 1e-9 * (float(np.median(np.diff(t))) if t.size > 1 else 1.0)
            starts = np.searchsorted(t, bouts["start"].to_numpy(float) - tol, side="left")
            stops = np.searchsorted(t, bouts["stop"].to_numpy(float) - tol, side="left")
            stops = np.maximum(stops, np.minimum(starts + 1, t.size))
            bouts = bouts.assign(start_frame=starts, stop_frame=stops)
        names_b = _as_list(behaviors) or sorted(set(bouts["behavior"].astype(str)))
        names_i = (
            _as_list(individuals) or ind_default or sorted(set(bouts["individual"].astype(str)))
        )
        unknown = sorted(set(bouts["behavior"].astype(str)) - set(names_b))
        if unknown:
            raise PoseDataError(f"bouts: behavior(s) {unknown} not in behaviors {names_b}")
        like = xr.DataArray(
            np.zeros((time.size, len(names_i))),
            dims=("time", "individual"),
            coords={"time": time, "individual": names_i},
        )
        values = np.zeros((time.size, len(names_b), len(names_i)), dtype=bool)
        partner = np.full(values.shape, "", dtype=object)
        has_other = "other" in bouts
        behavior_col = bouts["behavior"].astype(str)
        if exclusive:
            codes = labels_from_bouts(bouts, like, names=names_b).values  # checks overlaps
            for k in range(len(names_b)):
                values[:, k, :] = codes == k
            if has_other:
                other = other_from_bouts(bouts, like).values
                for k in range(len(names_b)):
                    partner[:, k, :] = np.where(values[:, k, :], other, "")
        else:
            for k, name in enumerate(names_b):
                part = bouts[behavior_col == name]
                if part.empty:
                    continue
                # one bout at a time: bouts of one behavior may overlap in a mask
                for _, group in _non_overlapping_groups(part):
                    codes = labels_from_bouts(group, like, names=[name]).values
                    values[:, k, :] |= codes == 0
                    if has_other:
                        other = other_from_bouts(group, like).values
                        partner[:, k, :] = np.where(codes == 0, other, partner[:, k, :])
        coords = {"time": time, "behavior": names_b, "individual": names_i}
        labels = xr.DataArray(values, dims=_DIMS, coords=coords)
        partner_da = xr.DataArray(partner, dims=_DIMS, coords=coords) if has_other else None
        return cls(labels, exclusive=exclusive, partner=partner_da, attrs=attrs)

    @classmethod
    def from_masks(
        cls, masks: xr.DataArray | Mapping[str, xr.DataArray], *, exclusive: bool = False
    ) -> Ethogram:
        """Ethogram from boolean masks.

        Parameters
        ----------
        masks
            Boolean over ``(time, behavior, individual)``, or a mapping from
            behavior name to a boolean over ``(time, individual)`` (all on the
            same time coordinate). NaN counts as False.
        exclusive
            Whether at most one behavior holds per frame (checked).

        Returns
        -------
        Ethogram

        Examples
        --------
        >>> m = xr.DataArray([[True], [False]], dims=("time", "individual"),
        ...                  coords={"time": [0.0, 0.1], "individual": ["m1"]})
        >>> Ethogram.from_masks({"freeze": m}).behaviors
        ['freeze']
        """
        if isinstance(masks, xr.DataArray):
            return cls(masks, exclusive=exclusive, attrs=dict(masks.attrs))
        if not isinstance(masks, Mapping) or not masks:
            raise PoseDataError(
                "masks: expected a (time, behavior, individual) DataArray or a non-empty dict "
                f"of (time, individual) masks, found {type(masks).__name__}"
            )
        parts = []
        for name, mask in masks.items():
            require_dims(mask, "time", "individual", name=f"masks[{name!r}]")
            parts.append(mask.transpose("time", "individual").astype(float))
        first = next(iter(masks.values()))
        stacked = xr.concat(parts, dim="behavior", join="exact").assign_coords(
            behavior=[str(k) for k in masks]
        )
        attrs = {k: first.attrs[k] for k in ("fps", "time_unit") if k in first.attrs}
        return cls(stacked, exclusive=exclusive, attrs=attrs)

    @classmethod
    def from_states(
        cls,
        states: xr.DataArray,
        names: Sequence[str] | None = None,
        *,
        partner: xr.DataArray | None = None,
    ) -> Ethogram:
        """Exclusive ethogram from integer states (syllables, clusters, labels).

        Parameters
        ----------
        states
            Integer codes over ``(time, individual)``; ``-1`` (or NaN) = no state.
        names
            State names (code ``i`` is ``names[i]``); default
            ``states.attrs["labels"]``, else ``"0"``, ``"1"`` ...
        partner
            Optional partner names over ``(time, individual)`` (``""`` = none).

        Returns
        -------
        Ethogram
            ``exclusive=True``.

        Raises
        ------
        PoseDataError
            If a code has no name or is below -1.

        Examples
        --------
        >>> s = xr.DataArray([[1], [-1]], dims=("time", "individual"),
        ...                  coords={"individual": ["m1"]})
        >>> Ethogram.from_states(s, ["a", "b"]).to_states().values.ravel().tolist()
        [1, -1]
        """
        require_dims(states, "time", "individual", name="states")
        states = states.transpose("time", "individual")
        codes, names = named_label_codes(states, names, name="states")
        values = codes[:, None, :] == np.arange(len(names))[None, :, None]
        coords = {
            "time": states["time"].values if "time" in states.coords else np.arange(codes.shape[0]),
            "behavior": names,
            "individual": _names(states["individual"].values),
        }
        labels = xr.DataArray(values, dims=_DIMS, coords=coords)
        partner_da = None
        if partner is not None:
            require_dims(partner, "time", "individual", name="partner")
            p = np.asarray(partner.transpose("time", "individual").values, dtype=object)
            partner_da = xr.DataArray(
                np.where(values, p[:, None, :], ""), dims=_DIMS, coords=coords
            )
        attrs = {k: states.attrs[k] for k in ("fps", "time_unit") if k in states.attrs}
        return cls(labels, exclusive=True, partner=partner_da, attrs=attrs)

    @classmethod
    def from_probabilities(
        cls, proba: xr.DataArray, thresholds: float | Mapping[str, float] = 0.5
    ) -> Ethogram:
        """Ethogram from per-frame probabilities and thresholds (``proba >= threshold``).

        Parameters
        ----------
        proba
            Floats over ``(time, behavior, individual)``; NaN is below any threshold.
        thresholds
            One threshold, or one per behavior (every behavior needs one).

        Returns
        -------
        Ethogram
            Non-exclusive, ``attrs["source"] = "classifier"``.

        Examples
        --------
        >>> p = xr.DataArray(np.array([0.2, 0.9]).reshape(2, 1, 1),
        ...                  dims=("time", "behavior", "individual"),
        ...                  coords={"behavior": ["groom"], "individual": ["m1"]})
        >>> Ethogram.from_probabilities(p, {"groom": 0.5}).labels.values.ravel().tolist()
        [False, True]
        """
        require_dims(proba, *_DIMS, name="proba")
        proba = proba.transpose(*_DIMS)
        names = _names(proba["behavior"].values)
        if isinstance(thresholds, Mapping):
            missing = [n for n in names if n not in thresholds]
            if missing:
                raise PoseDataError(f"thresholds: no threshold for behavior(s) {missing}")
            cut = np.array([float(thresholds[n]) for n in names])
        else:
            cut = np.full(len(names), float(thresholds))
        values = np.nan_to_num(np.asarray(proba.values, dtype=float), nan=-np.inf)
        labels = proba.copy(data=values >= cut[None, :, None])
        attrs = {k: proba.attrs[k] for k in ("fps", "time_unit") if k in proba.attrs}
        attrs["source"] = "classifier"
        return cls(labels, exclusive=False, attrs=attrs)

    # ------------------------------------------------------------------ conversions

    def to_bouts(self) -> pd.DataFrame:
        """The bouts of every behavior and individual.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`~behavior.bouts.BOUT_COLUMNS`, ordered by individual
            (coordinate order), ``start_frame`` then behavior (coordinate order).
            A bout is a maximal run of frames with one behavior and partner.

        Examples
        --------
        >>> s = xr.DataArray([[0], [0]], dims=("time", "individual"),
        ...                  coords={"individual": ["m1"]}, attrs={"labels": ["rest"]})
        >>> len(Ethogram.from_states(s).to_bouts())
        1
        """
        values = self.labels.values
        parts = []
        for k, behavior in enumerate(self.behaviors):
            if not values[:, k, :].any():
                continue
            codes = xr.DataArray(
                np.where(values[:, k, :], 0, -1),
                dims=("time", "individual"),
                coords={"time": self.time, "individual": self.individuals},
                attrs=self.labels.attrs,
            )
            other = None
            if self.partner is not None:
                other = xr.DataArray(
                    self.partner.values[:, k, :], dims=("time", "individual"), coords=codes.coords
                )
            parts.append(bouts_from_labels(codes, [behavior], other, fps=self.fps))
        if not parts:
            return empty_bouts()
        table = pd.concat(parts, ignore_index=True)
        ind = {n: i for i, n in enumerate(self.individuals)}
        beh = {n: i for i, n in enumerate(self.behaviors)}
        order = np.lexsort(
            (
                table["behavior"].map(beh).to_numpy(),
                table["start_frame"].to_numpy(),
                table["individual"].map(ind).to_numpy(),
            )
        )
        return table.iloc[order].reset_index(drop=True)

    def to_states(self) -> xr.DataArray:
        """Integer states over ``(time, individual)`` (exclusive ethograms only).

        Returns
        -------
        xr.DataArray
            int64 codes, ``-1`` where no behavior holds; ``attrs["labels"]`` the names.

        Raises
        ------
        PoseDataError
            If the ethogram is not exclusive.

        Examples
        --------
        >>> s = xr.DataArray([[0], [-1]], dims=("time", "individual"),
        ...                  coords={"individual": ["m1"]}, attrs={"labels": ["rest"]})
        >>> Ethogram.from_states(s).to_states().values.ravel().tolist()
        [0, -1]
        """
        if not self.exclusive:
            raise PoseDataError(
                "to_states: the ethogram is not exclusive (several behaviors may share a "
                "frame); use to_bouts() or to_dataframe(), or build it with exclusive=True"
            )
        values = self.labels.values
        codes = np.where(values.any(axis=1), values.argmax(axis=1), -1).astype(np.int64)
        attrs = dict(self.labels.attrs) | {"labels": self.behaviors}
        return xr.DataArray(
            codes,
            dims=("time", "individual"),
            coords={"time": self.time, "individual": self.individuals},
            name="states",
            attrs=attrs,
        )

    def to_dataframe(self) -> pd.DataFrame:
        """Per-frame 0/1 table: columns ``individual``, ``frame``, ``time``, one per behavior.

        Examples
        --------
        >>> s = xr.DataArray([[0], [-1]], dims=("time", "individual"),
        ...                  coords={"individual": ["m1"]}, attrs={"labels": ["rest"]})
        >>> Ethogram.from_states(s).to_dataframe()["rest"].tolist()
        [1, 0]
        """
        n, _, m = self.labels.shape
        values = self.labels.values.transpose(2, 0, 1).reshape(m * n, -1).astype(np.int8)
        table = pd.DataFrame(values, columns=self.behaviors)
        table.insert(0, "time", np.tile(self.time, m))
        table.insert(0, "frame", np.tile(np.arange(n), m))
        table.insert(0, "individual", np.repeat(np.asarray(self.individuals, dtype=object), n))
        return table

    def sel(
        self,
        behavior: str | Sequence[str] | None = None,
        individual: str | Sequence[str] | None = None,
    ) -> Ethogram:
        """A sub-ethogram of some behaviors and/or individuals (names, in that order).

        Examples
        --------
        >>> s = xr.DataArray([[0, 1]], dims=("time", "individual"),
        ...                  coords={"individual": ["a", "b"]}, attrs={"labels": ["x", "y"]})
        >>> Ethogram.from_states(s).sel(individual="b").individuals
        ['b']
        """
        index: dict[str, list[str]] = {}
        for dim, value in (("behavior", behavior), ("individual", individual)):
            names = _as_list(value)
            if names is None:
                continue
            have = self.behaviors if dim == "behavior" else self.individuals
            unknown = [n for n in names if n not in have]
            if unknown:
                raise PoseDataError(f"{dim}: {unknown} not in the ethogram; available: {have}")
            index[dim] = names
        labels = self.labels.sel(index)
        partner = None if self.partner is None else self.partner.sel(index)
        points = self.points
        if "behavior" in index:
            points = points[points["behavior"].isin(index["behavior"])]
        if "individual" in index:
            points = points[points["individual"].isin(index["individual"])]
        return Ethogram(
            labels,
            exclusive=self.exclusive,
            partner=partner,
            points=points,
            attrs=_copy_attrs(self.attrs),
        )

    # ------------------------------------------------------------------ files

    def to_netcdf(self, path: str | Path) -> Path:
        """Write the ethogram to a netCDF file, losslessly and atomically.

        Examples
        --------
        >>> eth.to_netcdf("session_ethogram.nc")  # doctest: +SKIP
        """
        from behavior.io.registry import atomic_path, verify_netcdf

        path = Path(path)
        ds = xr.Dataset({"labels": self.labels.astype(np.int8)})
        if self.partner is not None:
            ds["partner"] = self.partner.astype(str)
        ds["time"].attrs = {}
        meta = {
            "exclusive": self.exclusive,
            "attrs": self.attrs,
            "points": {c: self.points[c].tolist() for c in POINT_COLUMNS},
        }
        ds.attrs = {"ds_type": "ethogram", "ethogram": dumps(meta)}
        with atomic_path(path, verify=verify_netcdf(ds)) as tmp:
            ds.to_netcdf(tmp, engine="netcdf4")
        return path

    @classmethod
    def from_netcdf(cls, path: str | Path) -> Ethogram:
        """Read an ethogram written by :meth:`to_netcdf`.

        Raises
        ------
        FileFormatError
            If the file is not an ethogram written by ``behavior``.

        Examples
        --------
        >>> Ethogram.from_netcdf("session_ethogram.nc")  # doctest: +SKIP
        """
        from behavior.errors import FileFormatError

        path = Path(path)
        with xr.open_dataset(path, engine="netcdf4") as ds:
            ds = ds.load()
        if ds.attrs.get("ds_type") != "ethogram" or "ethogram" not in ds.attrs:
            raise FileFormatError(
                f"{path.name}: expected an ethogram netCDF (attrs ds_type='ethogram'), found "
                f"ds_type={ds.attrs.get('ds_type')!r}"
            )
        meta = json.loads(ds.attrs["ethogram"])
        labels = ds["labels"].astype(bool)
        labels = labels.assign_coords(
            behavior=_names(labels["behavior"].values),
            individual=_names(labels["individual"].values),
        )
        partner = ds["partner"].astype(object) if "partner" in ds else None
        points = pd.DataFrame(meta["points"], columns=POINT_COLUMNS)
        return cls(
            labels,
            exclusive=meta["exclusive"],
            partner=partner,
            points=points,
            attrs=meta["attrs"],
        )

    # ------------------------------------------------------------------ dunder

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ethogram):
            return NotImplemented
        if self.exclusive != other.exclusive or self.labels.shape != other.labels.shape:
            return False
        if self.behaviors != other.behaviors or self.individuals != other.individuals:
            return False
        if not np.array_equal(self.time, other.time):
            return False
        if not np.array_equal(self.labels.values, other.labels.values):
            return False
        mine = None if self.partner is None else self.partner.values.astype(str)
        theirs = None if other.partner is None else other.partner.values.astype(str)
        if (mine is None) != (theirs is None) or (
            mine is not None and not np.array_equal(mine, theirs)
        ):
            return False
        if not self.points.reset_index(drop=True).equals(other.points.reset_index(drop=True)):
            return False
        strip = ("log",)
        a = {k: v for k, v in self.attrs.items() if k not in strip}
        b = {k: v for k, v in other.attrs.items() if k not in strip}
        return dumps(a, sort_keys=True) == dumps(b, sort_keys=True)

    def __repr__(self) -> str:
        n = self.n_frames
        span = ""
        if n:
            width = self._frame_seconds()
            span = f" ({float(width.sum()):.1f} s"
            span += f" at {self.fps:g} fps)" if self.fps else ")"
        kind = "exclusive" if self.exclusive else "non-exclusive"
        lines = [
            f"<Ethogram {kind}: {n} frames{span}, {len(self.individuals)} individual(s), "
            f"{len(self.behaviors)} behavior(s)>",
            f"  individuals: {_short(self.individuals)}",
            f"  behaviors:   {_short(self.behaviors)}",
        ]
        if len(self.points):
            lines.append(f"  points:      {len(self.points)} instantaneous event(s)")
        if self.attrs.get("source"):
            lines.append(f"  source:      {self.attrs['source']}")
        if self.attrs.get("issues"):
            lines.append(f"  issues:      {len(self.attrs['issues'])} (see attrs['issues'])")
        return "\n".join(lines)


def _short(names: list[str], n: int = 8) -> str:
    text = ", ".join(names[:n])
    return text + (f", ... ({len(names)} in all)" if len(names) > n else "")


def _copy_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(attrs)
    if isinstance(out.get("issues"), list):
        out["issues"] = list(out["issues"])
    return out


def _non_overlapping_groups(bouts: pd.DataFrame):
    """Split bouts of one behavior into groups with no overlap within an individual."""
    order = bouts.sort_values(["individual", "start_frame"], kind="stable")
    level = np.zeros(len(order), dtype=np.int64)
    ends: dict[tuple[str, int], int] = {}
    for k, (ind, start, stop) in enumerate(
        zip(
            order["individual"].astype(str),
            order["start_frame"].astype(np.int64),
            order["stop_frame"].astype(np.int64),
            strict=True,
        )
    ):
        lev = 0
        while ends.get((ind, lev), -1) > start:
            lev += 1
        ends[(ind, lev)] = int(stop)
        level[k] = lev
    return order.groupby(level, sort=True)


# --------------------------------------------------------------------------- summaries


def _check(eth: Any, name: str = "eth") -> Ethogram:
    if not isinstance(eth, Ethogram):
        raise PoseDataError(f"{name}: expected an Ethogram, found {type(eth).__name__}")
    return eth


def _zone_masks(eth: Ethogram, zones: Any) -> list[tuple[str, np.ndarray]]:
    """Zone masks as (name, bool (time, individual)) aligned with the ethogram."""
    if isinstance(zones, xr.DataArray):
        zones = {str(zones.name) if zones.name is not None else "zone": zones}
    if not isinstance(zones, Mapping):
        raise PoseDataError(
            "zones: expected a (time, individual) boolean DataArray or a dict of them, "
            f"found {type(zones).__name__}"
        )
    out = []
    for name, mask in zones.items():
        require_dims(mask, "time", name=f"zones[{name!r}]")
        if mask.sizes["time"] != eth.n_frames:
            raise PoseDataError(
                f"zones[{name!r}]: expected {eth.n_frames} frames like the ethogram, found "
                f"{mask.sizes['time']}"
            )
        if "individual" in mask.dims:
            have = _names(mask["individual"].values)
            missing = [i for i in eth.individuals if i not in have]
            if missing:
                raise PoseDataError(f"zones[{name!r}]: individual(s) {missing} missing")
            mask = mask.sel(individual=eth.individuals).transpose("time", "individual")
            values = np.asarray(mask.values)
        else:
            values = np.repeat(np.asarray(mask.values)[:, None], len(eth.individuals), axis=1)
        if values.ndim != 2:
            raise PoseDataError(f"zones[{name!r}]: expected dims (time, individual)")
        if np.issubdtype(values.dtype, np.floating):
            values = np.nan_to_num(values, nan=0.0) != 0
        out.append((str(name), values.astype(bool)))
    return out


def _bins(eth: Ethogram, bin: str | float | None) -> tuple[np.ndarray, np.ndarray]:
    """Bin index of every frame and the bin edges (seconds)."""
    t = eth._seconds(eth.time)
    if bin is None:
        start = float(t[0]) if t.size else 0.0
        stop = start + float(eth._frame_seconds().sum())
        return np.zeros(t.size, dtype=np.int64), np.array([start, stop])
    width = to_seconds(bin, name="bin")
    if width <= 0:
        raise PoseDataError(f"bin: expected a positive duration, found {bin!r}")
    start = float(t[0]) if t.size else 0.0
    index = np.floor((t - start) / width + 1e-9).astype(np.int64)
    n = int(index.max()) + 1 if t.size else 1
    return index, start + width * np.arange(n + 1)


def time_budget(
    eth: Ethogram, bin: str | float | None = None, *, zones: Any = None
) -> pd.DataFrame:
    """Time spent in each behavior, per individual (and time bin, and zone).

    Parameters
    ----------
    eth
        The ethogram.
    bin
        A duration such as ``"1 min"``: one set of rows per bin from the first
        frame (the last bin may be shorter). None: the whole session.
    zones
        A boolean ``(time[, individual])`` DataArray, or a dict of them by zone
        name: one set of rows per zone, counting only frames in the zone.

    Returns
    -------
    pandas.DataFrame
        Columns ``individual``, ``behavior``, (``bin_start``, ``bin_stop`` in
        seconds with ``bin``), (``zone`` with ``zones``), ``frames``,
        ``seconds``, ``fraction`` and ``percent`` of the time (of the bin, of
        the time in the zone) covered by the individual's frames. Every
        individual x behavior pair has a row (0 when absent). Durations are in
        seconds (time units when neither fps nor seconds are known).

    Examples
    --------
    >>> s = xr.DataArray([[0], [0], [1], [-1]], dims=("time", "individual"),
    ...                  coords={"time": [0.0, 1.0, 2.0, 3.0], "individual": ["m1"]},
    ...                  attrs={"labels": ["rest", "walk"], "fps": 1.0})
    >>> time_budget(Ethogram.from_states(s))[["behavior", "seconds", "percent"]]
      behavior  seconds  percent
    0     rest      2.0     50.0
    1     walk      1.0     25.0
    """
    eth = _check(eth)
    values = eth.labels.values  # (time, behavior, individual)
    width = eth._frame_seconds()
    index, edges = _bins(eth, bin)
    n_bins = edges.size - 1
    groups: list[tuple[str | None, np.ndarray]] = [(None, np.ones(values[:, 0, :].shape, bool))]
    if zones is not None:
        groups = _zone_masks(eth, zones)
    onehot = np.zeros((values.shape[0], n_bins))
    onehot[np.arange(values.shape[0]), index] = 1.0
    rows = []
    for zone, inside in groups:
        w = inside.astype(float)  # (time, individual)
        frames = np.einsum("tk,tbi,ti->kbi", onehot, values.astype(float), w)
        seconds = np.einsum("tk,tbi,ti,t->kbi", onehot, values.astype(float), w, width)
        total = np.einsum("tk,ti,t->ki", onehot, w, width)
        for k in range(n_bins):
            for i, individual in enumerate(eth.individuals):
                for b, behavior in enumerate(eth.behaviors):
                    row: dict[str, Any] = {"individual": individual, "behavior": behavior}
                    if bin is not None:
                        row["bin_start"] = edges[k]
                        row["bin_stop"] = edges[k + 1]
                    if zone is not None:
                        row["zone"] = zone
                    frac = seconds[k, b, i] / total[k, i] if total[k, i] > 0 else np.nan
                    row.update(
                        frames=int(np.rint(frames[k, b, i])),
                        seconds=float(seconds[k, b, i]),
                        fraction=float(frac),
                        percent=float(100 * frac),
                    )
                    rows.append(row)
    columns = ["individual", "behavior"]
    columns += ["bin_start", "bin_stop"] if bin is not None else []
    columns += ["zone"] if zones is not None else []
    columns += ["frames", "seconds", "fraction", "percent"]
    return pd.DataFrame(rows, columns=columns)


def bout_stats(eth: Ethogram, bin: str | float | None = None) -> pd.DataFrame:
    """Bout statistics per individual and behavior (and time bin).

    Parameters
    ----------
    eth
        The ethogram.
    bin
        A duration such as ``"1 min"``: bouts count in the bin where they
        start, and latency is from the bin's start. None: the whole session.

    Returns
    -------
    pandas.DataFrame
        Columns ``individual``, ``behavior``, (``bin_start``, ``bin_stop``),
        ``n_bouts``, ``total_duration``, ``mean_duration``, ``median_duration``,
        ``std_duration`` (sample std, NaN under 2 bouts), ``mean_interval``
        (mean gap from the end of a bout to the start of the next, NaN under 2
        bouts) and ``latency`` (first bout start minus session or bin start;
        NaN when there is no bout), all in seconds.

    Examples
    --------
    >>> s = xr.DataArray([[-1], [0], [-1], [0]], dims=("time", "individual"),
    ...                  coords={"time": [0.0, 1.0, 2.0, 3.0], "individual": ["m1"]},
    ...                  attrs={"labels": ["rest"], "fps": 1.0})
    >>> bout_stats(Ethogram.from_states(s))[["n_bouts", "mean_interval", "latency"]]
       n_bouts  mean_interval  latency
    0        2            1.0      1.0
    """
    eth = _check(eth)
    bouts = eth.to_bouts()
    start = eth._seconds(bouts["start"].to_numpy())
    stop = eth._seconds(bouts["stop"].to_numpy())
    _, edges = _bins(eth, bin)
    if bin is None:
        which = np.zeros(len(bouts), dtype=np.int64)
    else:
        which = np.searchsorted(edges, start + 1e-9, side="right") - 1
        which = np.clip(which, 0, edges.size - 2)
    ind = bouts["individual"].to_numpy()
    beh = bouts["behavior"].to_numpy()
    rows = []
    for k in range(edges.size - 1):
        for individual in eth.individuals:
            for behavior in eth.behaviors:
                sel = (ind == individual) & (beh == behavior) & (which == k)
                s, e = start[sel], stop[sel]
                d = e - s
                row: dict[str, Any] = {"individual": individual, "behavior": behavior}
                if bin is not None:
                    row["bin_start"], row["bin_stop"] = edges[k], edges[k + 1]
                row.update(
                    n_bouts=int(sel.sum()),
                    total_duration=float(d.sum()),
                    mean_duration=float(d.mean()) if d.size else np.nan,
                    median_duration=float(np.median(d)) if d.size else np.nan,
                    std_duration=float(d.std(ddof=1)) if d.size > 1 else np.nan,
                    mean_interval=float((s[1:] - e[:-1]).mean()) if d.size > 1 else np.nan,
                    latency=float(s.min() - edges[k]) if d.size else np.nan,
                )
                rows.append(row)
    return pd.DataFrame(rows)


def _require_exclusive(eth: Ethogram, name: str) -> None:
    if not eth.exclusive:
        raise PoseDataError(
            f"{name}: expected an exclusive ethogram (one state per frame: syllables, "
            "clusters, states), found a non-exclusive one"
        )


def transitions(eth: Ethogram) -> pd.DataFrame:
    """Transitions between the states of an exclusive ethogram, per individual.

    A transition is a change from one bout to the next bout of the same
    individual; frames without a state are skipped (so ``a, none, a`` counts
    as a self-transition ``a -> a``, as does a change of partner).

    Parameters
    ----------
    eth
        An exclusive ethogram.

    Returns
    -------
    pandas.DataFrame
        Columns ``individual``, ``from``, ``to``, ``count``, ``probability``
        (count over the transitions out of ``from``; NaN for a state never
        left) and ``entropy`` (Shannon entropy of the row of ``from``, in
        bits). Every ``from`` x ``to`` pair of states has a row; one more set
        of rows with ``individual = "all"`` pools the individuals.

    Raises
    ------
    PoseDataError
        If the ethogram is not exclusive.

    Examples
    --------
    >>> s = xr.DataArray([[0], [1], [0]], dims=("time", "individual"),
    ...                  coords={"individual": ["m1"]}, attrs={"labels": ["a", "b"]})
    >>> transitions(Ethogram.from_states(s)).query("individual == 'm1'")["count"].tolist()
    [0, 1, 1, 0]
    """
    eth = _check(eth)
    _require_exclusive(eth, "transitions")
    names = eth.behaviors
    code = {n: i for i, n in enumerate(names)}
    bouts = eth.to_bouts()
    n = len(names)
    counts = {}
    for individual in eth.individuals:
        seq = bouts.loc[bouts["individual"] == individual, "behavior"].map(code).to_numpy()
        mat = np.zeros((n, n), dtype=np.int64)
        if seq.size > 1:
            np.add.at(mat, (seq[:-1].astype(int), seq[1:].astype(int)), 1)
        counts[individual] = mat
    counts["all"] = sum(counts.values()) if counts else np.zeros((n, n), dtype=np.int64)
    rows = []
    for individual, mat in counts.items():
        total = mat.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            prob = np.where(total > 0, mat / np.maximum(total, 1), np.nan)
            logs = np.where(prob > 0, np.log2(np.where(prob > 0, prob, 1)), 0.0)
            entropy = np.where(total[:, 0] > 0, -(np.nan_to_num(prob) * logs).sum(axis=1), np.nan)
        for a in range(n):
            for b in range(n):
                rows.append(
                    {
                        "individual": individual,
                        "from": names[a],
                        "to": names[b],
                        "count": int(mat[a, b]),
                        "probability": float(prob[a, b]),
                        "entropy": float(entropy[a]),
                    }
                )
    return pd.DataFrame(
        rows, columns=["individual", "from", "to", "count", "probability", "entropy"]
    )


def transition_matrix(
    eth: Ethogram, *, individual: str = "all", normalize: bool = True
) -> pd.DataFrame:
    """Square transition matrix (rows: from, columns: to) of an exclusive ethogram.

    Parameters
    ----------
    eth
        An exclusive ethogram.
    individual
        One individual, or ``"all"`` to pool them.
    normalize
        Row probabilities (NaN rows for states never left) instead of counts.

    Returns
    -------
    pandas.DataFrame
        Indexed by state names (``from``), columns the state names (``to``).

    Examples
    --------
    >>> s = xr.DataArray([[0], [1], [0]], dims=("time", "individual"),
    ...                  coords={"individual": ["m1"]}, attrs={"labels": ["a", "b"]})
    >>> transition_matrix(Ethogram.from_states(s)).loc["a", "b"]
    np.float64(1.0)
    """
    table = transitions(eth)
    if individual not in set(table["individual"]):
        raise PoseDataError(
            f"individual: {individual!r} not in the ethogram; available: "
            f"{[*_check(eth).individuals, 'all']}"
        )
    table = table[table["individual"] == individual]
    value = "probability" if normalize else "count"
    mat = table.pivot(index="from", columns="to", values=value)
    names = eth.behaviors
    mat = mat.reindex(index=names, columns=names)
    mat.index.name, mat.columns.name = "from", "to"
    return mat


# --------------------------------------------------------------------------- agreement


def _aligned(reference: Ethogram, other: Ethogram) -> tuple[list[str], list[str]]:
    _check(reference, "reference")
    _check(other, "other")
    if reference.n_frames != other.n_frames:
        raise PoseDataError(
            f"other: expected {reference.n_frames} frames like reference, found {other.n_frames}"
        )
    individuals = reference.individuals
    if sorted(individuals) != sorted(other.individuals):
        raise PoseDataError(
            f"other: expected individuals {individuals} like reference, found {other.individuals}"
        )
    behaviors = reference.behaviors + [b for b in other.behaviors if b not in reference.behaviors]
    return behaviors, individuals


def _column(eth: Ethogram, behavior: str, individual: str) -> np.ndarray:
    if behavior not in eth.behaviors:
        return np.zeros(eth.n_frames, dtype=bool)
    b = eth.behaviors.index(behavior)
    i = eth.individuals.index(individual)
    return eth.labels.values[:, b, i]


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def _match_bouts(a: np.ndarray, b: np.ndarray, threshold: float) -> int:
    """Greedy one-to-one matches of runs of two masks with IoU >= threshold."""
    sa, ea = runs(a)
    sb, eb = runs(b)
    pairs = []
    for k in range(sa.size):
        lo = np.searchsorted(eb, sa[k], side="right")
        hi = np.searchsorted(sb, ea[k], side="left")
        for j in range(lo, hi):
            inter = min(ea[k], eb[j]) - max(sa[k], sb[j])
            union = max(ea[k], eb[j]) - min(sa[k], sb[j])
            iou = inter / union
            if iou >= threshold and inter > 0:
                pairs.append((iou, k, j))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    used_a, used_b, n = set(), set(), 0
    for _, k, j in pairs:
        if k in used_a or j in used_b:
            continue
        used_a.add(k)
        used_b.add(j)
        n += 1
    return n


def agreement(reference: Ethogram, other: Ethogram, *, iou: float = 0.5) -> pd.DataFrame:
    """Agreement of two ethograms of one session, per individual and behavior.

    Parameters
    ----------
    reference
        The reference (a human rater, the ground truth).
    other
        The ethogram compared with it, on the same frames and individuals; a
        behavior present in one ethogram only counts as never shown in the other.
    iou
        Intersection-over-union (in frames) for two bouts to match; bouts are
        matched one-to-one, greedily by decreasing IoU.

    Returns
    -------
    pandas.DataFrame
        Columns ``individual``, ``behavior``, ``frames_reference``,
        ``frames_other``, ``frame_precision``, ``frame_recall``, ``frame_f1``,
        ``kappa`` (Cohen's kappa of the two per-frame 0/1 series),
        ``bouts_reference``, ``bouts_other``, ``bouts_matched``,
        ``bout_precision``, ``bout_recall``, ``bout_f1``. A ratio whose
        denominator is 0 is NaN (e.g. precision when ``other`` never shows the
        behavior; kappa when both series are constant). Partners are ignored.

    Raises
    ------
    PoseDataError
        If the two differ in frames or individuals, or ``iou`` is not in (0, 1].

    Examples
    --------
    >>> a = xr.DataArray([[0], [0], [-1], [-1]], dims=("time", "individual"),
    ...                  coords={"individual": ["m1"]}, attrs={"labels": ["rest"]})
    >>> b = a.copy(data=[[0], [0], [0], [-1]])
    >>> agreement(Ethogram.from_states(a), Ethogram.from_states(b))["bout_f1"].tolist()
    [1.0]
    """
    if not 0 < iou <= 1:
        raise PoseDataError(f"iou: expected a threshold in (0, 1], found {iou}")
    behaviors, individuals = _aligned(reference, other)
    rows = []
    for individual in individuals:
        for behavior in behaviors:
            a = _column(reference, behavior, individual)
            b = _column(other, behavior, individual)
            tp = int(np.sum(a & b))
            fp = int(np.sum(~a & b))
            fn = int(np.sum(a & ~b))
            n = a.size
            po = _ratio(n - fp - fn, n)
            pe = _ratio(a.sum() * b.sum() + (n - a.sum()) * (n - b.sum()), n * n) if n else np.nan
            kappa = _ratio(po - pe, 1 - pe) if pe < 1 else float("nan")
            na, nb = len(runs(a)[0]), len(runs(b)[0])
            matched = _match_bouts(a, b, iou)
            rows.append(
                {
                    "individual": individual,
                    "behavior": behavior,
                    "frames_reference": int(a.sum()),
                    "frames_other": int(b.sum()),
                    "frame_precision": _ratio(tp, tp + fp),
                    "frame_recall": _ratio(tp, tp + fn),
                    "frame_f1": _ratio(2 * tp, 2 * tp + fp + fn),
                    "kappa": kappa,
                    "bouts_reference": na,
                    "bouts_other": nb,
                    "bouts_matched": matched,
                    "bout_precision": _ratio(matched, nb),
                    "bout_recall": _ratio(matched, na),
                    "bout_f1": _ratio(2 * matched, na + nb),
                }
            )
    return pd.DataFrame(rows)


def confusion_matrix(
    reference: Ethogram, other: Ethogram, *, individual: str | None = None
) -> pd.DataFrame:
    """Frame counts of each (reference state, other state) pair of two exclusive ethograms.

    Parameters
    ----------
    reference, other
        Exclusive ethograms of the same frames and individuals.
    individual
        One individual; None pools them all.

    Returns
    -------
    pandas.DataFrame
        Rows: reference states then ``"none"`` (no state); columns: the same
        for ``other``. States are the union of both ethograms' behaviors.

    Examples
    --------
    >>> a = xr.DataArray([[0], [1]], dims=("time", "individual"),
    ...                  coords={"individual": ["m1"]}, attrs={"labels": ["x", "y"]})
    >>> confusion_matrix(Ethogram.from_states(a), Ethogram.from_states(a)).loc["x", "x"]
    np.int64(1)
    """
    _require_exclusive(_check(reference, "reference"), "reference")
    _require_exclusive(_check(other, "other"), "other")
    behaviors, individuals = _aligned(reference, other)
    if individual is not None:
        if individual not in individuals:
            raise PoseDataError(f"individual: {individual!r} not in {individuals}")
        individuals = [individual]
    names = [*behaviors, "none"]
    n = len(names)
    mat = np.zeros((n, n), dtype=np.int64)
    for ind in individuals:
        codes = []
        for eth in (reference, other):
            states = eth.to_states().sel(individual=ind).values
            remap = np.array([behaviors.index(b) for b in eth.behaviors] + [n - 1])
            codes.append(remap[states])  # -1 -> the last entry: "none"
        np.add.at(mat, (codes[0], codes[1]), 1)
    table = pd.DataFrame(mat, index=names, columns=names)
    table.index.name, table.columns.name = "reference", "other"
    return table
