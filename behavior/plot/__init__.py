"""Figures, one module per kind of thing drawn; every function is re-exported here.

- :mod:`~behavior.plot.kinematics`: :func:`trajectories` (paths in the arena).
- :mod:`~behavior.plot.ethograms`: :func:`ethogram_raster`, :func:`time_budget_bars`,
  :func:`bout_durations`, :func:`transition_heatmap`.
- :mod:`~behavior.plot.syllables`: :func:`syllable_usage`, :func:`syllable_durations`,
  :func:`syllable_transitions`, :func:`syllable_trajectories`.
- :mod:`~behavior.plot.maps`: :func:`behavior_map`, :func:`cluster_pose_panels`.
- :mod:`~behavior.plot.classifiers`: :func:`pr_curve_lines`, :func:`learning_curve_lines`,
  :func:`feature_importance_bars`.
- :mod:`~behavior.plot.video` (``bh.plot.video``, not re-exported: not every function
  there returns a figure): :func:`~behavior.plot.video.find_video`,
  :func:`~behavior.plot.video.labelled_clip` (an mp4 with poses and behaviors drawn over
  the session's video), :func:`~behavior.plot.video.labelled_frame`.

Functions are named for what they draw, so that no name here means a table
elsewhere (``bh.ethogram.time_budget`` is the table, ``bh.plot.time_budget_bars``
its figure). Every function draws on ``ax`` when given one (so figures compose
into subplots) or on a new figure, and returns ``(fig, ax)`` (``(fig, axes)``
for the functions that draw one panel per cluster or syllable). matplotlib is
imported inside the functions, so ``import behavior.plot`` does not import it,
and no backend is chosen here: notebooks show the figures inline, scripts can
``fig.savefig(...)``.

Positions are drawn in image coordinates, as the pose estimators store them:
x to the right, y **down** (the y-axis is inverted), equal aspect.
"""

from __future__ import annotations

from behavior.plot import video as video  # bh.plot.video.labelled_clip
from behavior.plot.classifiers import feature_importance_bars, learning_curve_lines, pr_curve_lines
from behavior.plot.ethograms import (
    bout_durations,
    ethogram_raster,
    time_budget_bars,
    transition_heatmap,
)
from behavior.plot.kinematics import trajectories
from behavior.plot.maps import behavior_map, cluster_pose_panels
from behavior.plot.syllables import (
    syllable_durations,
    syllable_trajectories,
    syllable_transitions,
    syllable_usage,
)

__all__ = [
    "behavior_map",
    "bout_durations",
    "cluster_pose_panels",
    "ethogram_raster",
    "feature_importance_bars",
    "learning_curve_lines",
    "pr_curve_lines",
    "syllable_durations",
    "syllable_trajectories",
    "syllable_transitions",
    "syllable_usage",
    "time_budget_bars",
    "trajectories",
    "transition_heatmap",
]
