"""A study: many pose files analysed from one config, on one machine or a cluster.

:func:`analyze` runs :func:`analyze_session` on every session as a
dask.distributed task, keeps a manifest so that a killed run resumes, and writes
a study summary (per session and per group) with a report linking every
session's own report. ``behavior analyze`` is the same on the command line;
:func:`load_config` reads and checks its TOML config (:func:`example_config` is
the commented template). :func:`fit_across` fits a classifier, syllable model
or behavior map on random blocks of every session, read on the workers, without
loading the study into one process.
"""

from __future__ import annotations

from behavior.study.config import AnalysisConfig, ConfigError, example_config, load_config
from behavior.study.runner import StudyResult, analyze, find_sessions, group_tables
from behavior.study.session import analyze_session
from behavior.study.training import StudyFit, fit_across

__all__ = [
    "AnalysisConfig",
    "ConfigError",
    "StudyFit",
    "StudyResult",
    "analyze",
    "analyze_session",
    "example_config",
    "find_sessions",
    "fit_across",
    "group_tables",
    "load_config",
]
