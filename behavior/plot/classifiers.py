"""Figures of classifier evaluation: precision-recall, learning curves, feature importance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from behavior.errors import PoseDataError
from behavior.plot._common import _as_list, _behavior_colors, _figure_and_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from behavior.classify import CVResult

__all__ = ["feature_importance_bars", "learning_curve_lines", "pr_curve_lines"]


def pr_curve_lines(
    result: CVResult | pd.DataFrame,
    ax: Axes | None = None,
    behaviors: str | Sequence[str] | None = None,
) -> tuple[Figure, Axes]:
    """Precision-recall curves of a cross-validated classifier, one per behavior.

    Parameters
    ----------
    result
        A :class:`behavior.classify.CVResult` (its ``pr_curve``, with the chosen
        threshold of each behavior marked) or a table with columns
        ``behavior``, ``precision``, ``recall`` (and ``threshold``).
    ax
        Axes to draw on; None makes a new figure.
    behaviors
        Behaviors to draw; None draws all.

    Returns
    -------
    (Figure, Axes)
        Recall on x, precision on y, both 0-1; the legend gives each
        behavior's average precision when ``result`` is a CVResult.

    Examples
    --------
    >>> import pandas as pd, behavior as bh
    >>> curve = pd.DataFrame({"behavior": ["chase"] * 3, "precision": [0.5, 0.8, 1.0],
    ...                       "recall": [1.0, 0.7, 0.2]})
    >>> fig, ax = bh.plot.pr_curve_lines(curve)  # or bh.classify.cross_validate(...)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('recall', 'precision')
    """
    table = getattr(result, "pr_curve", result)
    if not isinstance(table, pd.DataFrame):
        raise PoseDataError(
            f"result: expected a CVResult or a pr_curve table, found {type(result).__name__}"
        )
    missing = [c for c in ("behavior", "precision", "recall") if c not in table]
    if missing:
        raise PoseDataError(f"result: the table lacks column(s) {missing}")
    names = _as_list(behaviors) or list(dict.fromkeys(table["behavior"]))
    summary = getattr(result, "summary", None)
    chosen = getattr(result, "thresholds", None) or {}
    palette = _behavior_colors(names, None)
    fig, ax = _figure_and_axes(ax, figsize=(5, 4.5))
    for name in names:
        part = table[table["behavior"] == name]
        if part.empty:
            continue
        label = name
        if summary is not None and "average_precision" in summary:
            ap = summary.loc[summary["behavior"] == name, "average_precision"]
            if len(ap):
                label = f"{name} (AP {float(ap.iloc[0]):.2f})"
        ax.plot(part["recall"], part["precision"], color=palette[name], label=label)
        if name in chosen and "threshold" in part:
            k = int(np.argmin(np.abs(part["threshold"].to_numpy() - chosen[name])))
            ax.plot(part["recall"].iloc[k], part["precision"].iloc[k], "o", color=palette[name],
                    markeredgecolor="k")  # fmt: skip
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("precision-recall (held-out folds)")
    ax.legend(fontsize="small", loc="lower left")
    return fig, ax


def learning_curve_lines(
    table: pd.DataFrame,
    ax: Axes | None = None,
    axis: str = "frames",
    metric: str = "frame_f1",
    behaviors: str | Sequence[str] | None = None,
) -> tuple[Figure, Axes]:
    """Held-out score against the amount of labels, mean and spread over folds.

    Parameters
    ----------
    table
        The output of :func:`behavior.classify.learning_curve`.
    ax
        Axes to draw on; None makes a new figure.
    axis
        ``"frames"``: x is the labelled time (seconds, or frames without a
        frame rate); ``"videos"``: x is the number of labelled videos.
    metric
        Column to draw (``"frame_f1"``, ``"average_precision"`` ...).
    behaviors
        Behaviors to draw; None draws all.

    Returns
    -------
    (Figure, Axes)

    Examples
    --------
    >>> import pandas as pd, behavior as bh
    >>> curve = pd.DataFrame({"axis": "frames", "size": [1, 1, 2, 2], "behavior": "chase",
    ...                       "labelled_seconds": [30.0, 30.0, 60.0, 60.0],
    ...                       "frame_f1": [0.5, 0.6, 0.7, 0.8]})
    >>> fig, ax = bh.plot.learning_curve_lines(curve)  # or bh.classify.learning_curve(...)
    >>> ax.lines[0].get_xydata().round(2).tolist()  # mean over folds
    [[30.0, 0.55], [60.0, 0.75]]
    """
    if axis not in ("frames", "videos"):
        raise PoseDataError(f"axis: expected 'frames' or 'videos', found {axis!r}")
    missing = [c for c in ("axis", "size", "behavior", metric) if c not in table]
    if missing:
        raise PoseDataError(f"table: lacks column(s) {missing}; expected learning_curve output")
    part = table[table["axis"] == axis]
    if part.empty:
        raise PoseDataError(f"table: no rows for axis {axis!r} (videos need two or more groups)")
    if axis == "frames":
        seconds = part["labelled_seconds"].notna().all()
        x_col, x_label = (
            ("labelled_seconds", "labelled time (s)") if seconds
            else ("labelled_frames", "labelled frames")
        )  # fmt: skip
    else:
        x_col, x_label = "size", "labelled videos"
    names = _as_list(behaviors) or list(dict.fromkeys(part["behavior"]))
    palette = _behavior_colors(names, None)
    fig, ax = _figure_and_axes(ax, figsize=(5.5, 4))
    for name in names:
        rows = part[part["behavior"] == name]
        grouped = rows.groupby("size").agg(
            x=(x_col, "mean"), mean=(metric, "mean"), sd=(metric, "std")
        )
        grouped = grouped.sort_values("x")
        ax.plot(grouped["x"], grouped["mean"], "o-", color=palette[name], label=name)
        sd = grouped["sd"].fillna(0)
        ax.fill_between(grouped["x"], grouped["mean"] - sd, grouped["mean"] + sd,
                        color=palette[name], alpha=0.2, linewidth=0)  # fmt: skip
    ax.set_xlabel(x_label)
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_ylim(0, 1.01)
    ax.set_title("how many labels? (held-out folds)")
    ax.legend(fontsize="small", loc="lower right")
    return fig, ax


def feature_importance_bars(
    table: pd.DataFrame,
    ax: Axes | None = None,
    behavior: str | None = None,
    top: int = 20,
) -> tuple[Figure, Axes]:
    """Horizontal bars of the most important features of one behavior.

    Parameters
    ----------
    table
        :meth:`behavior.classify.BehaviorClassifier.feature_importance`
        (column ``importance``) or
        :func:`behavior.classify.permutation_importance` (``importance_mean``
        with ``importance_std`` drawn as error bars).
    ax
        Axes to draw on; None makes a new figure.
    behavior
        The behavior; None takes the first in the table.
    top
        Number of features drawn, most important at the top.

    Returns
    -------
    (Figure, Axes)

    Examples
    --------
    >>> import pandas as pd, behavior as bh
    >>> table = pd.DataFrame({"behavior": "chase", "feature": ["speed", "distance", "angle"],
    ...                       "importance": [0.2, 0.5, 0.3]})
    >>> fig, ax = bh.plot.feature_importance_bars(table, top=2)  # or clf.feature_importance()
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['distance', 'angle']
    """
    value = "importance_mean" if "importance_mean" in table else "importance"
    missing = [c for c in ("behavior", "feature", value) if c not in table]
    if missing:
        raise PoseDataError(f"table: lacks column(s) {missing}; expected an importance table")
    if behavior is None:
        behavior = str(table["behavior"].iloc[0])
    part = table[table["behavior"] == behavior]
    if part.empty:
        raise PoseDataError(
            f"behavior: {behavior!r} not in the table; available: "
            f"{list(dict.fromkeys(table['behavior']))}"
        )
    part = part.sort_values(value, ascending=False).head(top)
    fig, ax = _figure_and_axes(ax, figsize=(6, 0.8 + 0.25 * len(part)))
    y = np.arange(len(part))
    err = part["importance_std"].to_numpy() if "importance_std" in part else None
    ax.barh(y, part[value].to_numpy(), xerr=err, color="tab:blue", alpha=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(part["feature"].tolist(), fontsize="small")
    ax.invert_yaxis()
    kind = "permutation (drop in average precision)" if value == "importance_mean" else "impurity"
    ax.set_xlabel(f"importance: {kind}")
    ax.set_title(f"{behavior}: top {len(part)} features")
    return fig, ax
