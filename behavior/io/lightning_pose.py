"""Lightning Pose: prediction CSVs (read and write).

Lightning Pose writes DeepLabCut's single-animal CSV layout (header rows
``scorer / bodyparts / coords``, coords ``x, y, likelihood``, frame numbers in
the first column; ``../shared/FORMATS.md`` section 2), so parsing is shared with
:mod:`behavior.io.deeplabcut`. What tells the two apart is the scorer,
``"<model_type>_tracker"`` (``heatmap_tracker``, ``heatmap_mhcrnn_tracker``,
``ensemble-kalman_tracker``), or the extra ``("set", "", "")`` column that
predictions on labelled frames carry (train / validation / test / unused). This
frontend claims a file with either mark more strongly than the DeepLabCut one
does, and refuses files without them.

The ``set`` column is not a coordinate: it is kept as a non-index coordinate
``set`` along ``time`` and written back by :func:`write`. Several seeds of one
video load as one dataset with an ``ensemble`` dimension through
``bh.load_poses([path0, path1, ...])``.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from behavior.errors import PoseDataError
from behavior.io import deeplabcut
from behavior.io.registry import Frontend, Probe, Verdict, accept, refuse

__all__ = ["FRONTEND", "read", "write"]

TRACKER_SUFFIX = "_tracker"
SET_COLUMN = "set"
DEFAULT_SCORER = "heatmap_tracker"


def sniff(probe: Probe) -> Verdict:
    """Accept DeepLabCut-style CSVs whose scorer ends with ``_tracker`` or that have
    a ``set`` column, with a higher score than the DeepLabCut frontend."""
    if probe.is_hdf5 or not probe.is_text:
        return refuse("Lightning Pose writes CSV text files; this is not text")
    rows = deeplabcut.head_rows(probe, 3)
    if not rows:
        return refuse("no complete line in the first 16 MiB")
    first = rows[0][0].strip() if rows[0] else ""
    if first != "scorer":
        return refuse(f"first cell of row 1 is {first[:40]!r}, expected 'scorer'")
    if len(rows) > 1 and rows[1] and rows[1][0].strip() == "individuals":
        return refuse("has an 'individuals' header row; Lightning Pose files are single-animal")
    scorers = [cell.strip() for cell in rows[0][1:] if cell.strip()]
    if SET_COLUMN in scorers:
        return accept(2.0, "DeepLabCut-style header with a 'set' column")
    if scorers and scorers[0].endswith(TRACKER_SUFFIX):
        return accept(2.0, f"scorer {scorers[0]!r} ends with '{TRACKER_SUFFIX}'")
    found = scorers[0][:60] if scorers else ""
    return refuse(
        f"scorer {found!r} does not end with '{TRACKER_SUFFIX}' and there is no 'set' column "
        "(a DeepLabCut file?)"
    )


def read(
    path: str | Path, *, fps: float | None = None, zeros_as_missing: bool = True
) -> xr.Dataset:
    """Read a Lightning Pose prediction CSV.

    Parameters
    ----------
    path
        The CSV file.
    fps
        Frames per second of the video; without it ``time`` counts frames.
    zeros_as_missing
        Points stored as ``x = y = likelihood = 0`` become NaN positions.

    Returns
    -------
    xr.Dataset
        One individual (``individual_0``), ``source_software="LightningPose"``,
        ``attrs["scorer"]`` (e.g. ``"heatmap_tracker"``) and, when the file has
        one, the ``set`` coordinate along ``time``.

    Raises
    ------
    FileFormatError
        Naming the file and the problem (header, malformed rows, no frames).

    Examples
    --------
    >>> import behavior as bh
    >>> ds = bh.load_poses("video.rng=0.csv", fps=60)  # doctest: +SKIP
    >>> ens = bh.load_poses([f"video.rng={i}.csv" for i in range(5)])  # doctest: +SKIP
    >>> ens.sizes["ensemble"]  # doctest: +SKIP
    5
    """
    table = deeplabcut.read_csv_table(path)
    return deeplabcut.to_dataset(
        table, fps=fps, zeros_as_missing=zeros_as_missing, source_software="LightningPose"
    )


def write(ds: xr.Dataset, path: str | Path, *, scorer: str | None = None) -> None:
    """Write a single-animal 2D pose dataset as a Lightning Pose prediction CSV.

    Parameters
    ----------
    ds
        A pose dataset with one individual, 2D, without an ``ensemble`` dimension.
        A ``set`` coordinate along ``time`` is written as the ``("set", "", "")``
        column. The individual's name is not stored (it reads back as
        ``individual_0``).
    path
        Destination ``.csv``.
    scorer
        The ``scorer`` level; default the one the dataset was read with when it
        ends with ``_tracker``, else ``"heatmap_tracker"``.

    Raises
    ------
    PoseDataError
        If the dataset has several individuals, 3D positions or an ensemble.

    Examples
    --------
    >>> import behavior as bh
    >>> bh.save_poses(ds, "predictions.csv", format="lightning-pose")  # doctest: +SKIP
    """
    path = Path(path)
    individuals = [str(i) for i in ds.individual.values]
    if len(individuals) != 1:
        raise PoseDataError(
            f"{path.name}: Lightning Pose files are single-animal; the dataset has "
            f"{len(individuals)} individuals {individuals}. Select one, e.g. "
            f"ds.sel(individual={individuals[0]!r}, drop=False).expand_dims('individual')"
        )
    if ds.sizes["space"] != 2:
        raise PoseDataError(
            f"{path.name}: Lightning Pose files are 2D (x, y); the dataset has space "
            f"{[str(s) for s in ds.space.values]}"
        )
    if scorer is None:
        read_with = str(ds.attrs.get("scorer") or "")
        scorer = read_with if read_with.endswith(TRACKER_SUFFIX) else DEFAULT_SCORER
    df = deeplabcut.to_frame(
        ds, scorer=scorer, likelihood=True, multi_animal=False, extra_coords=(SET_COLUMN,)
    )
    deeplabcut.write_csv(df, path)


FRONTEND = Frontend(
    name="lightning-pose",
    description="Lightning Pose prediction .csv (scorer *_tracker, optional 'set' column)",
    suffixes=(".csv",),
    sniff=sniff,
    read=read,
    write=write,
    aliases=("LightningPose", "lp", "lightning_pose"),
)
