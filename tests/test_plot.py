"""Tests for behavior/plot/: what is drawn, on which axes, in which orientation."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # tests run without a display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

import behavior as bh


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def walk():
    """Two individuals, three keypoints, 60 frames; keypoint 'b' of ann is missing at times."""
    rng = np.random.default_rng(1)
    position = np.cumsum(rng.normal(0, 2, size=(60, 2, 3, 2)), axis=0) + 200
    position[10:15, :, 1, 0] = np.nan  # one keypoint missing: the centroid uses the others
    position[30, :, :, 1] = np.nan  # every keypoint missing: a gap
    ds = bh.from_numpy(
        position,
        keypoint_names=["a", "b", "c"],
        individual_names=["ann", "bob"],
        fps=30,
    )
    ds.attrs["space_unit"] = "cm"
    return ds


def test_trajectories_returns_figure_and_axes_in_image_coordinates(walk):
    fig, ax = bh.plot.trajectories(walk)
    assert isinstance(fig, Figure) and isinstance(ax, Axes)
    assert ax.figure is fig
    assert ax.yaxis_inverted() and not ax.xaxis_inverted()
    assert ax.get_aspect() == 1.0
    assert ax.get_xlabel() == "x (cm)" and ax.get_ylabel() == "y (cm)"
    assert [line.get_label() for line in ax.get_lines()] == ["ann", "bob"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ann", "bob"]


def test_trajectories_draws_the_centroid_of_available_keypoints(walk):
    _, ax = bh.plot.trajectories(walk)
    ann, bob = ax.get_lines()
    pos = walk.position.values
    expected_x = np.nanmean(pos[:, 0, :, 0], axis=1)
    np.testing.assert_allclose(ann.get_xdata(), expected_x)
    # frames 10-14 lack keypoint b: mean of a and c, not NaN
    np.testing.assert_allclose(ann.get_ydata()[12], pos[12, 1, [0, 2], 0].mean())
    # frame 30 of bob has no keypoint at all: a gap
    assert np.isnan(bob.get_xdata()[30]) and np.isfinite(bob.get_xdata()[29])


def test_trajectories_of_one_keypoint_and_individual(walk):
    _, ax = bh.plot.trajectories(walk, keypoint="c", individuals="bob")
    (line,) = ax.get_lines()
    assert line.get_label() == "bob"
    np.testing.assert_allclose(line.get_ydata(), walk.position.values[:, 1, 2, 1])
    assert "(c)" in ax.get_title()
    with pytest.raises(bh.PoseDataError, match=r"keypoint.*'nose'.*available"):
        bh.plot.trajectories(walk, keypoint="nose")
    with pytest.raises(bh.PoseDataError, match=r"individuals.*'eve'"):
        bh.plot.trajectories(walk, individuals=["eve"])


def test_trajectories_honours_ax_and_keeps_an_inverted_axis_inverted(walk):
    fig, (left, right) = plt.subplots(1, 2)
    right.invert_yaxis()
    got_fig, got_ax = bh.plot.trajectories(walk, ax=right)
    assert got_fig is fig and got_ax is right
    assert right.yaxis_inverted()  # not flipped back
    assert len(left.get_lines()) == 0 and len(right.get_lines()) == 2


def test_trajectories_colored_by_time_adds_a_colorbar(walk):
    fig, ax = bh.plot.trajectories(walk, color_by="time", individuals=["ann"])
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    finite = np.isfinite(np.nanmean(walk.position.values[:, :, :, 0], axis=2)).all(axis=1)
    assert len(points.get_offsets()) == int(finite.sum())
    np.testing.assert_allclose(points.get_array(), walk.time.values[finite])
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "time (seconds)"
    with pytest.raises(bh.PoseDataError, match="color_by"):
        bh.plot.trajectories(walk, color_by="speed")


def test_trajectories_of_3d_ensemble_and_dataarray_inputs(walk):
    pos3d = np.concatenate([walk.position.values, np.ones((60, 1, 3, 2))], axis=1)
    ds3 = bh.from_numpy(pos3d, keypoint_names=["a", "b", "c"], individual_names=["ann", "bob"])
    _, ax = bh.plot.trajectories(ds3)  # seen from above: x, y
    assert len(ax.get_lines()) == 2 and ax.get_xlabel() == "x (pixels)"
    shifted = walk.copy(deep=True)
    shifted["position"] = walk.position + 10.0
    ensemble = xr.concat([walk, shifted, walk], dim="ensemble")  # median is walk
    _, ax = bh.plot.trajectories(ensemble)
    np.testing.assert_allclose(
        ax.get_lines()[0].get_xdata(), np.nanmean(walk.position.values[:, 0, :, 0], axis=1)
    )
    _, ax = bh.plot.trajectories(walk.position, keypoint=["a", "c"])
    assert "mean of a, c" in ax.get_title()


def test_trajectories_needs_pose_dims(walk):
    with pytest.raises(bh.PoseDataError, match="keypoint"):
        bh.plot.trajectories(walk.position.isel(keypoint=0, drop=True))


BOUTS = pd.DataFrame(
    {
        "individual": ["ann", "ann", "bob", "ann", "bob"],
        "behavior": ["chase", "chase", "chase", "rest", "groom"],
        "duration": [1.0, 2.5, 4.0, 10.0, 0.5],
    }
)


def _bar_heights(ax):
    return {
        (tick, container.get_label()): patch.get_height()
        for container in ax.containers
        for tick, patch in zip(
            [t.get_text() for t in ax.get_xticklabels()], container.patches, strict=True
        )
    }


def test_time_budget_bars_sums_bout_durations_per_individual_and_behavior():
    fig, ax = bh.plot.time_budget_bars(BOUTS)
    assert isinstance(fig, Figure) and isinstance(ax, Axes)
    heights = _bar_heights(ax)
    assert heights[("chase", "ann")] == 3.5
    assert heights[("chase", "bob")] == 4.0
    assert heights[("rest", "ann")] == 10.0 and heights[("rest", "bob")] == 0.0
    assert heights[("groom", "bob")] == 0.5
    assert ax.get_ylabel() == "time (s)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ann", "bob"]


def test_time_budget_bars_from_a_budget_table_honours_ax_and_order():
    table = pd.DataFrame(
        {"individual": ["m1", "m1"], "behavior": ["walk", "rest"], "seconds": [5.0, 7.0]}
    )
    fig, (ax1, ax2) = plt.subplots(2)
    got_fig, got_ax = bh.plot.time_budget_bars(table, ax=ax2, behaviors=["rest", "walk", "chase"])
    assert got_fig is fig and got_ax is ax2 and not ax1.containers
    assert [t.get_text() for t in ax2.get_xticklabels()] == ["rest", "walk", "chase"]
    assert [p.get_height() for p in ax2.containers[0].patches] == [7.0, 5.0, 0.0]
    assert ax2.get_legend() is None  # one individual: no legend needed


def test_time_budget_bars_refuses_tables_without_durations():
    with pytest.raises(bh.PoseDataError, match=r"'duration'.*found \['individual', 'behavior'\]"):
        bh.plot.time_budget_bars(BOUTS.drop(columns="duration"))
    with pytest.raises(bh.PoseDataError, match="DataFrame"):
        bh.plot.time_budget_bars([1, 2, 3])


# --------------------------------------------------------------------------- ethogram plots


@pytest.fixture
def states_eth():
    from behavior.ethogram import Ethogram

    codes = np.array([[0, 0, 1, 1, -1, 0], [2, 2, 2, 0, 0, 1]]).T
    labels = xr.DataArray(
        codes,
        dims=("time", "individual"),
        coords={"time": np.arange(6) / 2.0, "individual": ["ann", "bob"]},
        attrs={"labels": ["rest", "walk", "groom"], "fps": 2.0},
    )
    return Ethogram.from_states(labels)


def test_ethogram_raster_draws_one_bar_per_bout(states_eth):
    from matplotlib.collections import PolyCollection

    fig, ax = bh.plot.ethogram_raster(states_eth)
    assert isinstance(fig, Figure) and isinstance(ax, Axes)
    bars = [c for c in ax.collections if isinstance(c, PolyCollection)]
    n_bouts = len(states_eth.to_bouts())
    assert sum(len(c.get_paths()) for c in bars) == n_bouts == 6
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ann", "bob"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["rest", "walk", "groom"]
    assert ax.get_xlim() == (0.0, 3.0)


def test_ethogram_raster_non_exclusive_rows_and_given_ax(states_eth):
    from behavior.ethogram import Ethogram

    eth = Ethogram(states_eth.labels)  # same frames, not exclusive: a row per behavior
    fig, (top, bottom) = plt.subplots(2)
    got_fig, got_ax = bh.plot.ethogram_raster(eth, ax=bottom, individuals="bob")
    assert got_fig is fig and got_ax is bottom and not top.collections
    assert [t.get_text() for t in bottom.get_yticklabels()] == ["rest", "walk", "groom"]
    with pytest.raises(bh.PoseDataError, match="Ethogram"):
        bh.plot.ethogram_raster(eth.to_bouts())


def test_time_budget_bars_accepts_an_ethogram(states_eth):
    _, ax = bh.plot.time_budget_bars(states_eth)
    heights = _bar_heights(ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["rest", "walk", "groom"]
    assert heights[("rest", "ann")] == 1.5 and heights[("groom", "bob")] == 1.5
    assert heights[("groom", "ann")] == 0.0


def test_bout_durations_histogram_counts_every_bout(states_eth):
    _, ax = bh.plot.bout_durations(states_eth, bins=5)
    assert ax.get_xlabel() == "bout duration (s)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["rest", "walk", "groom"]
    _, ax = bh.plot.bout_durations(states_eth.to_bouts(), behaviors=["rest"], bins=[0, 1, 2])
    (patch,) = ax.patches
    assert patch.get_label() == "rest"
    with pytest.raises(bh.PoseDataError, match="duration"):
        bh.plot.bout_durations(pd.DataFrame({"behavior": ["x"]}))


def test_transition_heatmap_shows_the_probabilities(states_eth):
    from behavior.ethogram import transition_matrix

    fig, ax = bh.plot.transition_heatmap(states_eth)
    (image,) = ax.images
    expected = transition_matrix(states_eth).to_numpy()
    np.testing.assert_array_equal(np.ma.filled(image.get_array(), np.nan), expected)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["rest", "walk", "groom"]
    assert len(fig.axes) == 2  # with a colorbar
    with pytest.raises(bh.PoseDataError, match="exclusive"):
        bh.plot.transition_heatmap(pd.DataFrame({"a": [1, 2]}))


def test_ethogram_in_frames_spans_its_frames_and_bout_durations_are_seconds():
    from behavior.ethogram import Ethogram

    labels = xr.DataArray(
        [[0], [0], [1], [1], [1], [0]],
        dims=("time", "individual"),
        coords={"time": np.arange(6.0), "individual": ["ann"]},
        attrs={"labels": ["rest", "walk"], "fps": 2.0, "time_unit": "frames"},
    )
    eth = Ethogram.from_states(labels)
    _, ax = bh.plot.ethogram_raster(eth)
    assert ax.get_xlim() == (0.0, 6.0)  # the last frame lasts one frame, not 1/fps frames
    _, ax = bh.plot.bout_durations(eth, bins=[0, 1.25, 2])
    counts = {p.get_label(): p.get_path().vertices[:, 1].max() for p in ax.patches}
    assert counts == {"rest": 2.0, "walk": 1.0}  # rest: 1 s and 0.5 s; walk: 1.5 s


def test_import_of_the_plot_package_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, behavior.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_plot_function_is_named_for_a_figure_and_returns_fig_and_axes():
    import importlib
    import inspect
    import pkgutil

    import behavior
    import behavior.plot

    kinds = {"classifiers", "ethograms", "kinematics", "maps", "syllables"}
    found = {m.name for m in pkgutil.iter_modules(behavior.plot.__path__)}
    assert kinds <= found
    assert sorted(bh.plot.__all__) == sorted(
        n for kind in kinds for n in importlib.import_module(f"behavior.plot.{kind}").__all__
    )
    # one name, one meaning: no figure shares its name with a module or a public name elsewhere
    others = {m.name for m in pkgutil.iter_modules(behavior.__path__)}
    for module in ("ethogram", "events", "classify", "embedding", "syllables", "kinematics"):
        others |= set(getattr(importlib.import_module(f"behavior.{module}"), "__all__", []))
    for name in bh.plot.__all__:
        func = getattr(bh.plot, name)
        assert name not in others, f"bh.plot.{name} collides with another name of behavior"
        returns = inspect.signature(func).return_annotation
        assert str(returns).startswith("tuple[Figure, "), (name, returns)
