"""Pose files in and out: a registry of pluggable frontends, one module per format.

Use :func:`load_poses` and :func:`save_poses`; :func:`frontends` lists what can be
read and written. Third parties add formats through the entry-point group
``behavior.frontends`` or :func:`register_frontend` (and remove them with
:func:`unregister_frontend`).
"""

from behavior.io.registry import (
    ENTRY_POINT_GROUP,
    Frontend,
    Probe,
    Verdict,
    accept,
    atomic_path,
    detect_format,
    frontends,
    get_frontend,
    load_poses,
    refuse,
    register_frontend,
    save_poses,
    unregister_frontend,
    writer_for,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Frontend",
    "Probe",
    "Verdict",
    "accept",
    "atomic_path",
    "detect_format",
    "frontends",
    "get_frontend",
    "load_poses",
    "refuse",
    "register_frontend",
    "save_poses",
    "unregister_frontend",
    "writer_for",
]
