"""Pose estimation from video, behind a plug-in protocol.

``behavior`` starts after pose estimation, but a pipeline often starts at the
video. A *pose estimator* is any object with a ``name`` and an
``estimate(video_path, **options) -> xr.Dataset`` method (the
:class:`PoseEstimator` protocol). Two adapters ship with the package and call
the real inference code of their tools when it is installed:

- :class:`DeepLabCutEstimator`: ``deeplabcut.analyze_videos`` on a trained
  project, then reads the ``.h5`` it writes;
- :class:`SLEAPEstimator`: SLEAP's predictor (``sleap-nn`` or the older
  ``sleap`` package) or the ``sleap-track`` command, then reads the ``.slp``.

Neither tool is a dependency of ``behavior``: without it the adapter raises
:class:`~behavior.errors.MissingDependencyError` saying what to install. Third
parties add estimators through the entry-point group ``behavior.estimators``
(an entry point names a class, or a factory, returning a :class:`PoseEstimator`)
or at run time with :func:`register_estimator`; :func:`estimators` lists them.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pandas as pd
import xarray as xr

from behavior._registry import Registry, first_doc_line
from behavior.dataset import append_log, validate
from behavior.errors import MissingDependencyError, PoseDataError

logger = logging.getLogger(__name__)

__all__ = [
    "ENTRY_POINT_GROUP",
    "ESTIMATORS",
    "DeepLabCutEstimator",
    "PoseEstimator",
    "SLEAPEstimator",
    "estimate_poses",
    "estimators",
    "get_estimator",
    "register_estimator",
    "unregister_estimator",
]

ENTRY_POINT_GROUP = "behavior.estimators"


@runtime_checkable
class PoseEstimator(Protocol):
    """What ``behavior`` needs from a pose estimator.

    Attributes
    ----------
    name
        Short name of the estimator, stored in the processing log.

    Examples
    --------
    >>> class Still:
    ...     name = "still"
    ...     def estimate(self, video_path, **options):
    ...         import numpy as np, behavior as bh
    ...         return bh.from_numpy(np.zeros((10, 2, 1, 1)), fps=30)
    >>> isinstance(Still(), PoseEstimator)
    True
    """

    name: str

    def estimate(self, video_path: str | os.PathLike, **options: Any) -> xr.Dataset:
        """Estimate poses in one video; return a pose dataset."""
        ...


# --------------------------------------------------------------------------- registry


def _load_builtins(registry: Registry[Callable[..., Any]]) -> None:
    for cls in (DeepLabCutEstimator, SLEAPEstimator):
        registry.register(cls.name, cls)


def _from_entry_point(obj: Any) -> Callable[..., Any]:
    if not callable(obj) and not isinstance(obj, PoseEstimator):
        raise TypeError(
            f"expected a PoseEstimator class, factory or instance, found {type(obj).__name__}"
        )
    return _as_factory(obj)


def _as_factory(obj: Any) -> Callable[..., Any]:
    """A class or factory stays as it is; a ready instance becomes a factory of itself."""
    if isinstance(obj, type) or not isinstance(obj, PoseEstimator):
        return obj

    def instance(**kwargs: Any) -> Any:
        if kwargs:
            raise TypeError(
                f"estimator {obj.name!r} is a ready instance and takes no options, "
                f"found {sorted(kwargs)}"
            )
        return obj

    instance.__doc__ = first_doc_line(obj)
    return instance


ESTIMATORS: Registry[Callable[..., Any]] = Registry(
    "pose estimator",
    builtins=_load_builtins,
    entry_point_group=ENTRY_POINT_GROUP,
    from_entry_point=_from_entry_point,
)
"""The registry behind :func:`register_estimator`, :func:`unregister_estimator` and
:func:`estimators`: each entry is a class or factory, ``factory(**kwargs)`` returning a
:class:`PoseEstimator`."""


def register_estimator(
    name: str,
    factory: Callable[..., PoseEstimator],
    *,
    description: str | None = None,
    replace: bool = False,
) -> None:
    """Add a pose estimator to the registry at run time.

    Parameters
    ----------
    name
        Name used by :func:`get_estimator` and :func:`estimate_poses`.
    factory
        A class or callable; ``factory(**kwargs)`` returns a :class:`PoseEstimator`.
        A ready instance is accepted too (it then takes no options).
    description
        One line for :func:`estimators` (defaults to the factory's docstring).
    replace
        Replace an estimator of the same name instead of raising ``ValueError``.

    Examples
    --------
    >>> class Still:
    ...     '''Every keypoint at the origin.'''
    ...     name = "still"
    ...     def estimate(self, video_path, **options):
    ...         import numpy as np, behavior as bh
    ...         return bh.from_numpy(np.zeros((10, 2, 1, 1)), fps=30)
    >>> register_estimator("still", Still, replace=True)
    >>> "still" in set(estimators()["name"])
    True
    >>> unregister_estimator("still") is Still
    True
    """
    ESTIMATORS.register(
        name,
        _as_factory(factory),
        description=description or first_doc_line(factory),
        replace=replace,
    )


def unregister_estimator(name: str) -> Callable[..., PoseEstimator]:
    """Remove a pose estimator from the registry (for the rest of this process).

    Parameters
    ----------
    name
        A name from :func:`estimators` (case-insensitive).

    Returns
    -------
    callable
        The class or factory that was registered.

    Raises
    ------
    KeyError
        If no estimator has that name; the message lists the known names.

    Examples
    --------
    >>> register_estimator("copy-of-dlc", DeepLabCutEstimator)
    >>> unregister_estimator("Copy_of_DLC") is DeepLabCutEstimator
    True
    """
    return ESTIMATORS.unregister(name)


def estimators() -> pd.DataFrame:
    """List every registered pose estimator.

    Returns
    -------
    pandas.DataFrame
        One row per estimator: ``name``, ``description`` and ``origin``
        (``built-in``, ``runtime`` or the entry point that provides it).

    Examples
    --------
    >>> table = estimators()
    >>> {"deeplabcut", "sleap"} <= set(table["name"])
    True
    """
    return ESTIMATORS.table()


def get_estimator(name: str, **kwargs: Any) -> PoseEstimator:
    """Build the pose estimator registered as ``name``.

    Parameters
    ----------
    name
        A name from :func:`estimators` (case-insensitive).
    **kwargs
        Passed to the estimator's class or factory (e.g. ``config_path=`` for
        DeepLabCut, ``model_paths=`` for SLEAP).

    Returns
    -------
    PoseEstimator
        The estimator instance.

    Raises
    ------
    KeyError
        If no estimator has that name; the message lists the known names.
    TypeError
        If the factory does not return a :class:`PoseEstimator`.
    MissingDependencyError
        If the estimator's software is not installed.

    Examples
    --------
    >>> get_estimator("deeplabcut", config_path="project/config.yaml")  # doctest: +SKIP
    """
    entry = ESTIMATORS.entry(name)
    estimator = entry.item(**kwargs)
    if not isinstance(estimator, PoseEstimator):
        raise TypeError(
            f"pose estimator {name!r} ({entry.origin}) returned a {type(estimator).__name__}, "
            "expected an object with a 'name' and an 'estimate(video_path, **options)' method"
        )
    return estimator


def estimate_poses(
    video_path: str | os.PathLike,
    estimator: str | PoseEstimator = "deeplabcut",
    *,
    estimator_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> xr.Dataset:
    """Estimate poses in a video and return a validated pose dataset.

    Parameters
    ----------
    video_path
        The video file.
    estimator
        A :class:`PoseEstimator` instance, or the name of a registered one
        (see :func:`estimators`), which is built with ``estimator_options``.
    estimator_options
        Arguments to build a named estimator, e.g.
        ``{"config_path": "project/config.yaml"}`` for ``"deeplabcut"``.
    **options
        Passed to the estimator's ``estimate`` (e.g. ``fps=30``).

    Returns
    -------
    xr.Dataset
        The pose dataset, with ``attrs["source_file"]`` set to the video and an
        ``estimate_poses`` record appended to the log.

    Raises
    ------
    FileNotFoundError
        If the video does not exist.
    MissingDependencyError
        If the estimator's software is not installed.
    PoseDataError
        If the estimator returns something that is not a valid pose dataset.

    Examples
    --------
    >>> dlc = DeepLabCutEstimator("project/config.yaml")  # doctest: +SKIP
    >>> ds = estimate_poses("mouse.mp4", dlc, fps=30)  # doctest: +SKIP
    """
    path = Path(video_path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such video file")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, expected a video file")
    if isinstance(estimator, str):
        estimator = get_estimator(estimator, **dict(estimator_options or {}))
    elif estimator_options:
        raise PoseDataError(
            "estimator_options: only used to build a named estimator, "
            f"but an estimator instance ({type(estimator).__name__}) was given"
        )
    if not isinstance(estimator, PoseEstimator):
        raise TypeError(
            f"estimator: expected a name or an object with 'name' and 'estimate', "
            f"found {type(estimator).__name__}"
        )
    name = str(estimator.name)
    logger.info("estimating poses in %s with %s", path, name)
    ds = estimator.estimate(path, **options)
    if not isinstance(ds, xr.Dataset):
        raise PoseDataError(
            f"pose estimator {name!r} returned a {type(ds).__name__} for {path}, "
            "expected an xarray.Dataset of poses"
        )
    ds = ds.copy(deep=False)
    ds.attrs = dict(ds.attrs)
    ds.attrs["source_file"] = str(path)
    try:
        validate(ds)
    except PoseDataError as err:
        raise PoseDataError(
            f"pose estimator {name!r} returned an invalid pose dataset for {path}: {err}"
        ) from err
    return append_log(ds, "estimate_poses", video=str(path), estimator=name, **options)


# --------------------------------------------------------------------------- adapters


def _installed(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _missing(tool: str, what: str, install: str, guide: str) -> MissingDependencyError:
    return MissingDependencyError(
        f"{tool} needs {what}, which is not installed. Install it with: {install} "
        f"(for GPU inference follow {guide})"
    )


_DLC_GUIDE = "https://deeplabcut.github.io/DeepLabCut/docs/installation.html"
_SLEAP_GUIDE = "https://sleap.ai/installation.html"


class DeepLabCutEstimator:
    """DeepLabCut: ``deeplabcut.analyze_videos`` on a trained project.

    Parameters
    ----------
    config_path
        The project's ``config.yaml``.
    shuffle, trainingsetindex
        Which trained network of the project to use.
    gputouse, batchsize
        Passed to ``analyze_videos`` (None: DeepLabCut's defaults).
    **analyze_options
        Any other ``analyze_videos`` argument (``modelprefix``, ``n_tracks``,
        ``auto_track`` ...), used for every video.

    Raises
    ------
    MissingDependencyError
        If ``deeplabcut`` is not installed (``pip install deeplabcut``).
    FileNotFoundError
        If ``config_path`` does not exist.

    Examples
    --------
    >>> dlc = DeepLabCutEstimator("openfield-Pranav-2018-10-30/config.yaml")  # doctest: +SKIP
    >>> ds = dlc.estimate("m3v1mp4.mp4", fps=30)  # doctest: +SKIP
    """

    name = "deeplabcut"

    def __init__(
        self,
        config_path: str | os.PathLike,
        shuffle: int = 1,
        trainingsetindex: int = 0,
        gputouse: int | None = None,
        batchsize: int | None = None,
        **analyze_options: Any,
    ):
        if not _installed("deeplabcut"):
            raise _dlc_missing()
        self.config_path = Path(config_path)
        if not self.config_path.exists():
            raise FileNotFoundError(f"{self.config_path}: no such DeepLabCut config.yaml")
        self.shuffle = shuffle
        self.trainingsetindex = trainingsetindex
        self.gputouse = gputouse
        self.batchsize = batchsize
        self.analyze_options = analyze_options

    def __repr__(self) -> str:
        return f"DeepLabCutEstimator({str(self.config_path)!r}, shuffle={self.shuffle})"

    def estimate(
        self,
        video_path: str | os.PathLike,
        *,
        fps: float | None = None,
        destfolder: str | os.PathLike | None = None,
        **options: Any,
    ) -> xr.Dataset:
        """Run ``deeplabcut.analyze_videos`` on one video and read its ``.h5``.

        Parameters
        ----------
        video_path
            The video.
        fps
            Frame rate for the ``time`` coordinate (DeepLabCut files store frames).
        destfolder
            Keep DeepLabCut's output files there; by default they go to a
            temporary folder that is removed afterwards.
        **options
            Extra ``analyze_videos`` arguments for this call.

        Returns
        -------
        xr.Dataset
            The poses, read with the ``deeplabcut`` frontend.
        """
        try:
            import deeplabcut
        except ImportError as err:
            raise _dlc_missing() from err
        video = Path(video_path)
        kwargs = {
            "shuffle": self.shuffle,
            "trainingsetindex": self.trainingsetindex,
            "save_as_csv": False,
            **({"gputouse": self.gputouse} if self.gputouse is not None else {}),
            **({"batchsize": self.batchsize} if self.batchsize is not None else {}),
            **self.analyze_options,
            **options,
        }
        with _output_folder(destfolder, "behavior-dlc-") as out:
            logger.info(
                "deeplabcut.analyze_videos(%s, [%s], destfolder=%s)", self.config_path, video, out
            )
            scorer = deeplabcut.analyze_videos(
                str(self.config_path), [str(video)], destfolder=str(out), **kwargs
            )
            h5 = _dlc_output(out, video, scorer)
            from behavior.io.registry import load_poses

            return load_poses(h5, source="deeplabcut", fps=fps).load()


def _dlc_output(folder: Path, video: Path, scorer: Any) -> Path:
    """The ``.h5`` that ``analyze_videos`` wrote for ``video`` in ``folder``.

    Multi-animal projects write ``<video><scorer>_el.h5`` (stitched tracks) next
    to the detections; single-animal ones ``<video><scorer>.h5``.
    """
    candidates = sorted(p for p in folder.glob(f"{video.stem}*.h5") if p.is_file())
    if isinstance(scorer, str) and scorer:
        preferred = [f"{video.stem}{scorer}_el.h5", f"{video.stem}{scorer}.h5"]
        for name in preferred:
            if (folder / name).is_file():
                return folder / name
    tracks = [p for p in candidates if p.name.endswith("_el.h5")]
    if tracks:
        return tracks[0]
    if candidates:
        return candidates[0]
    found = sorted(p.name for p in folder.iterdir())
    raise PoseDataError(
        f"{video.name}: deeplabcut.analyze_videos wrote no '{video.stem}*.h5' file into "
        f"{folder}; found {found or 'nothing'}. Check DeepLabCut's log above."
    )


class SLEAPEstimator:
    """SLEAP: a trained model's predictor, then the ``.slp`` it writes.

    Uses, in order, whichever is installed: ``sleap-nn`` (SLEAP >= 1.5,
    PyTorch), the older ``sleap`` package (``sleap.load_model``), or the
    ``sleap-track`` command on the ``PATH``.

    Parameters
    ----------
    model_paths
        One trained model folder, or several (e.g. centroid and
        centered-instance for top-down models).
    batch_size
        Frames per inference batch.
    tracking
        Link instances across frames into tracks (``"simple"`` tracker for the
        older packages).
    max_instances
        Keep at most this many animals per frame (None: all found).
    **predict_options
        Other options of the predictor, used for every video.

    Raises
    ------
    MissingDependencyError
        If none of SLEAP's inference backends is installed (``pip install sleap``).

    Examples
    --------
    >>> sleap = SLEAPEstimator(["models/centroid", "models/centered_instance"])  # doctest: +SKIP
    >>> ds = sleap.estimate("flies.mp4")  # doctest: +SKIP
    """

    name = "sleap"

    def __init__(
        self,
        model_paths: str | os.PathLike | Sequence[str | os.PathLike],
        batch_size: int = 4,
        tracking: bool = True,
        max_instances: int | None = None,
        **predict_options: Any,
    ):
        if isinstance(model_paths, str | os.PathLike):
            model_paths = [model_paths]
        self.model_paths = [Path(p) for p in model_paths]
        if not self.model_paths:
            raise PoseDataError("model_paths: expected at least one trained SLEAP model folder")
        for p in self.model_paths:
            if not p.exists():
                raise FileNotFoundError(f"{p}: no such SLEAP model folder")
        self.batch_size = batch_size
        self.tracking = tracking
        self.max_instances = max_instances
        self.predict_options = predict_options
        self.backend = _sleap_backend()

    def __repr__(self) -> str:
        return f"SLEAPEstimator({[str(p) for p in self.model_paths]!r}, backend={self.backend!r})"

    def estimate(
        self,
        video_path: str | os.PathLike,
        *,
        fps: float | None = None,
        destfolder: str | os.PathLike | None = None,
        **options: Any,
    ) -> xr.Dataset:
        """Predict poses in one video with SLEAP and read the resulting ``.slp``.

        Parameters
        ----------
        video_path
            The video.
        fps
            Frame rate for the ``time`` coordinate (``.slp`` files store frames).
        destfolder
            Keep the predictions file there; by default a temporary folder.
        **options
            Extra predictor options for this call.

        Returns
        -------
        xr.Dataset
            The poses, read with the ``sleap`` frontend.
        """
        video = Path(video_path)
        opts = {**self.predict_options, **options}
        with _output_folder(destfolder, "behavior-sleap-") as out:
            slp = out / f"{video.name}.predictions.slp"
            models = [str(p) for p in self.model_paths]
            if self.backend == "sleap-nn":
                self._predict_sleap_nn(video, models, slp, opts)
            elif self.backend == "sleap":
                self._predict_sleap(video, models, slp, opts)
            else:
                self._predict_cli(video, models, slp, opts)
            if not slp.is_file():
                raise PoseDataError(
                    f"{video.name}: SLEAP ({self.backend}) wrote no predictions file {slp}"
                )
            from behavior.io.registry import load_poses

            return load_poses(slp, source="sleap", fps=fps).load()

    def _predict_sleap_nn(self, video: Path, models: list[str], slp: Path, opts: dict) -> None:
        predict_module = importlib.import_module("sleap_nn.predict")
        kwargs = {
            "batch_size": self.batch_size,
            "tracking": self.tracking,
            "max_instances": self.max_instances,
            **opts,
        }
        logger.info("sleap_nn.predict.run_inference(%s, model_paths=%s)", video, models)
        labels = predict_module.run_inference(
            data_path=str(video), model_paths=models, output_path=str(slp), **kwargs
        )
        if not slp.is_file() and hasattr(labels, "save"):
            labels.save(str(slp))

    def _predict_sleap(self, video: Path, models: list[str], slp: Path, opts: dict) -> None:
        sleap = importlib.import_module("sleap")
        kwargs: dict[str, Any] = {"batch_size": self.batch_size, **opts}
        if self.tracking:
            kwargs.setdefault("tracker", "simple")
        if self.max_instances is not None:
            kwargs.setdefault("max_instances", self.max_instances)
        logger.info("sleap.load_model(%s).predict(%s)", models, video)
        predictor = sleap.load_model(models, **kwargs)
        labels = predictor.predict(sleap.load_video(str(video)))
        labels.save(str(slp))

    def _predict_cli(self, video: Path, models: list[str], slp: Path, opts: dict) -> None:
        exe = shutil.which("sleap-track")
        if exe is None:  # uninstalled since the estimator was built
            raise _sleap_missing()
        cmd = [exe, str(video), "-o", str(slp), "--batch_size", str(self.batch_size)]
        for model in models:
            cmd += ["-m", model]
        if self.tracking:
            cmd += ["--tracking.tracker", "simple"]
        if self.max_instances is not None:
            cmd += ["--max_instances", str(self.max_instances)]
        for key, value in opts.items():
            cmd += [f"--{key}", str(value)]
        logger.info("running %s", " ".join(cmd))
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise PoseDataError(
                f"{video.name}: sleap-track failed with exit code {result.returncode}: "
                + " | ".join(tail)
            )


def _sleap_backend() -> str:
    if _installed("sleap_nn"):
        return "sleap-nn"
    if _installed("sleap"):
        return "sleap"
    if shutil.which("sleap-track"):
        return "sleap-track"
    raise _sleap_missing()


def _dlc_missing() -> MissingDependencyError:
    return _missing(
        "DeepLabCutEstimator", "the package 'deeplabcut'", "pip install deeplabcut", _DLC_GUIDE
    )


def _sleap_missing() -> MissingDependencyError:
    return _missing(
        "SLEAPEstimator",
        "SLEAP's inference ('sleap-nn', the 'sleap' package or the 'sleap-track' command)",
        "pip install sleap (or pip install sleap-nn)",
        _SLEAP_GUIDE,
    )


class _output_folder:
    """A folder for a tool's output files: ``destfolder`` kept, else a temporary one."""

    def __init__(self, destfolder: str | os.PathLike | None, prefix: str):
        self.destfolder = destfolder
        self.prefix = prefix
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> Path:
        if self.destfolder is not None:
            path = Path(self.destfolder)
            path.mkdir(parents=True, exist_ok=True)
            return path
        self._tmp = tempfile.TemporaryDirectory(prefix=self.prefix)
        return Path(self._tmp.name)

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
