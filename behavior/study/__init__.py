"""A study: many pose files analysed from one config, on one machine or a cluster.

:func:`analyze` runs :func:`analyze_session` on every session as a
dask.distributed task, keeps a manifest so that a killed run resumes, and writes
a study summary (per session and per group) with a report linking every
session's own report. ``behavior analyze`` is the same on the command line;
:func:`load_config` reads and checks its TOML config (:func:`example_config` is
the commented template).
"""

from __future__ import annotations

from behavior.study.config import AnalysisConfig, ConfigError, example_config, load_config
from behavior.study.runner import StudyResult, analyze, find_sessions, group_tables
from behavior.study.session import analyze_session

__all__ = [
    "AnalysisConfig",
    "ConfigError",
    "StudyResult",
    "analyze",
    "analyze_session",
    "example_config",
    "find_sessions",
    "group_tables",
    "load_config",
]
