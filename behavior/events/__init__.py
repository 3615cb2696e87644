"""Events: where a behavior happens, found by rules on pose data.

Two rooms:

- :mod:`behavior.events.rules` -- the rule language: quantities with units
  (:data:`QUANTITIES`, :data:`q`), :func:`parse_rule`, :func:`rule_mask` (the
  per-frame truth) and :func:`detect` (its bouts);
- :mod:`behavior.events.presets` -- published definitions as ready-made rules
  (:func:`chase`, :func:`watching`, :func:`freezing`, the contacts ...),
  registered by name in :data:`PRESETS`.

Every event function returns a bout table (:data:`behavior.bouts.BOUT_COLUMNS`);
masks <-> bout tables live in :mod:`behavior.bouts`, and
``Ethogram.from_bouts(table, ds, behaviors=[name])`` makes an ethogram of one.

Examples
--------
>>> import behavior as bh
>>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
>>> table = bh.events.detect(ds, "speed < 1 cm/s", behavior="still")
>>> "chase" in bh.events.PRESETS.names()
True
"""

from __future__ import annotations

from behavior.events.presets import (
    PRESETS,
    approach,
    chase,
    following,
    freezing,
    head_dip,
    huddling,
    nose_to_anogenital_contact,
    nose_to_body_contact,
    nose_to_nose_contact,
    side_by_side,
    watching,
    zone_visits,
)
from behavior.events.rules import (
    QUANTITIES,
    QuantityInfo,
    Rule,
    RuleError,
    Var,
    detect,
    parse_rule,
    q,
    quantity_values,
    rule_mask,
    var,
    zones_by_name,
)

__all__ = [
    "PRESETS",
    "QUANTITIES",
    "QuantityInfo",
    "Rule",
    "RuleError",
    "Var",
    "approach",
    "chase",
    "detect",
    "following",
    "freezing",
    "head_dip",
    "huddling",
    "nose_to_anogenital_contact",
    "nose_to_body_contact",
    "nose_to_nose_contact",
    "parse_rule",
    "q",
    "quantity_values",
    "rule_mask",
    "side_by_side",
    "var",
    "watching",
    "zone_visits",
    "zones_by_name",
]
