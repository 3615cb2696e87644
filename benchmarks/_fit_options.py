"""``--fit-options``: expert options for ``bh.syllables.fit``, shared by the syllable
benchmarks (run as ``python benchmarks/NAME.py``, which puts this folder on ``sys.path``)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_fit_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--fit-options`` (a JSON object of ``bh.syllables.fit`` options)."""
    parser.add_argument(
        "--fit-options",
        default="{}",
        help="JSON of bh.syllables.fit options for every model, e.g. "
        '\'{"stage_seconds": 300}\' or \'{"preprocess": {"alignment": "axis"}}\'',
    )


def fit_options(parser: argparse.ArgumentParser, text: str) -> dict[str, Any]:
    """The parsed ``--fit-options``; a parser error naming the flag if it is not an object."""
    try:
        options = json.loads(text)
    except json.JSONDecodeError as err:
        parser.error(f"--fit-options: expected a JSON object, found {text!r} ({err})")
    if not isinstance(options, dict):
        parser.error(f"--fit-options: expected a JSON object, found {text!r}")
    return options


def with_options(options: dict[str, Any], preprocess: dict[str, Any] | None) -> dict[str, Any]:
    """``bh.syllables.fit`` keywords: ``options`` with its ``preprocess`` laid over a
    benchmark's own preprocessor parameters (keypoint roles...) instead of replacing them."""
    pre = {**(preprocess or {}), **dict(options.get("preprocess") or {})}
    return {**options, "preprocess": pre or None}
