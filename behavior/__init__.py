"""behavior: animal behavior analysis after pose estimation.

Pose tracks load into xarray datasets (:func:`load_poses`) and flow through
filtering, kinematics, events, classifiers, syllables and embeddings to
ethograms and feature tables. ``import behavior as bh``.

Heavy parts (JAX, sleap-io, pynwb, dask, matplotlib) import lazily where used,
and so do the stage submodules: ``bh.simulate`` loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from behavior._lazy import lazy_package

__version__ = "0.1.0"

from behavior.dataset import append_log, from_numpy, read_log, validate
from behavior.errors import (
    FileFormatError,
    FileWriteError,
    MissingDependencyError,
    PoseDataError,
    UnknownFormatError,
)

_SUBMODULES = {
    "bouts",
    "classify",
    "cli",
    "contrastive",
    "dataset",
    "decode",
    "embedding",
    "errors",
    "estimators",
    "ethogram",
    "events",
    "features",
    "filtering",
    "io",
    "kinematics",
    "plot",
    "roi",
    "simulate",
    "social",
    "study",
    "syllables",
    "units",
}
_LAZY_ATTRS = {
    "load_poses": "behavior.io.registry",
    "save_poses": "behavior.io.registry",
    "frontends": "behavior.io.registry",
    "estimate_poses": "behavior.estimators",
    "Ethogram": "behavior.ethogram",
    "analyze": "behavior.study",
    "load_annotations": "behavior.io.annotations",
    "save_annotations": "behavior.io.annotations",
}

__all__ = [
    "Ethogram",
    "FileFormatError",
    "FileWriteError",
    "MissingDependencyError",
    "PoseDataError",
    "UnknownFormatError",
    "__version__",
    "analyze",
    "append_log",
    "frontends",
    "from_numpy",
    "load_annotations",
    "load_poses",
    "read_log",
    "save_annotations",
    "save_poses",
    "validate",
    *sorted(_SUBMODULES),
]

if TYPE_CHECKING:  # pragma: no cover
    from behavior import (  # noqa: F401
        bouts,
        classify,
        contrastive,
        decode,
        embedding,
        estimators,
        ethogram,
        events,
        features,
        filtering,
        io,
        kinematics,
        plot,
        roi,
        simulate,
        social,
        study,
        syllables,
        units,
    )
    from behavior.ethogram import Ethogram
    from behavior.io.annotations import load_annotations, save_annotations
    from behavior.io.registry import frontends, load_poses, save_poses
    from behavior.study import analyze


__getattr__, __dir__ = lazy_package(__name__, _SUBMODULES, _LAZY_ATTRS, __all__)
