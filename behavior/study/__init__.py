"""A study: many pose files analysed from one config, on one machine or a cluster.

:func:`analyze` runs :func:`analyze_session` on every session as a
dask.distributed task, keeps a manifest so that a killed run resumes, and writes
a study summary (per session and per group) with a report linking every
session's own report. ``behavior analyze`` is the same on the command line.
"""

from __future__ import annotations

from behavior.study.runner import StudyResult, analyze, find_sessions, group_tables

__all__ = ["StudyResult", "analyze", "find_sessions", "group_tables"]
