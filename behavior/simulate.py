"""Realistic synthetic pose sessions with ground-truth behavior.

:func:`session` simulates mice filmed from above in a rectangular open field and
returns a pose dataset (in pixels, like a tracker's output) together with a
:class:`SimulationTruth`: the per-frame behavior of every animal, its bouts, the
noise-free positions and the parameters that made them. The demo, the tests and
every stage of the library (rules, classifiers, HMM syllables, clustering) are
scored against it.

The body
--------
Each mouse is a bendable spine (nose to tail base 9.5 cm, body 2.6 cm wide) with
a head that turns and dips, and an 8 cm tail, seen from above as the keypoints
:data:`KEYPOINTS`. The body bends with the path's curvature when the animal
turns, shortens when it rests or grooms, and stretches when it runs. The arena
is ``arena_cm`` wide with its corner at ``arena_origin_px``; x grows to the
right and y downwards, as in an image, and no keypoint ever leaves it (tails
pressed against a wall are flattened along it).

``kind="social"``
-----------------
Every mouse runs a behavior state machine (:data:`SOCIAL_BEHAVIORS`, exclusive
per animal, codes in that order) with realistic bout durations: ``explore``
(walking at 3-28 cm/s with smooth turns and a tendency to follow walls),
``rest`` (in place, curled, the body slowly turning and shifting, the head
looking about and bobbing), ``freeze`` (completely still: nothing moves but
tracking noise), ``groom`` (body in place but turning, fast head jitter, the
head working between face and flanks), ``approach`` (walking to the other),
``chase`` (running right behind the other), ``flee`` (being chased) and
``watch`` (in place, shifting its stance, head pointed at the other and
bobbing). An approach ends in contact, a
chase or a watch; being chased ends, often, in a freeze.

The labels are the generative states, refined so that every ``chase``,
``flee``, ``watch`` and ``freeze`` bout satisfies its rule in
:data:`DEFINITIONS` when measured on the noise-free positions: a bout keeps
only the stretches where the rule holds, found with the bout logic of the
:mod:`behavior.events` presets (at least ``min_fraction`` of the frames within
windows of ``min_duration_s``, gaps below ``merge_gap_s`` merged). The
frames dropped before the first stretch of a chase are labelled ``approach``
(the chaser closing in), other dropped frames ``explore``, and a watch or
freeze without any such stretch becomes ``rest``. ``flee`` frames are exactly
the frames in which another animal is labelled ``chase`` with this one as
``other``. Finally, bouts of rule-free behaviors (explore, rest, groom,
approach) shorter than 0.2 s join a rule-free neighbour. ``truth.events``
lists, apart from the labels and not exclusive, every stretch in which a rule
holds on the noise-free positions, whatever the generative state: the
reference for rule detectors.

``kind="single"``
-----------------
One mouse whose movement is a sequence of *motifs* from a known switching
autoregressive process. A 7-d latent ``z`` (:data:`LATENT_NAMES`: forward speed,
turning rate, body bend, head yaw, a head-sweep auxiliary, head pitch, body
length) follows, within motif ``k``, the AR(1) ``z[t] = A[k] z[t-1] + b[k] +
e[t]`` with ``e ~ N(0, Q[k])``: the exact discretisation at ``fps`` of an
Ornstein-Uhlenbeck process pulled towards the motif's mean posture and speed
(time constants 35-50 ms, so a new motif shows within a few frames). Motif
durations are Gamma distributed (mean 0.4 s, shape 6, rounded to frames, at
least 3), and the next motif is drawn from a transition matrix without
self-transitions (rows drawn from a Dirichlet distribution with the seed). The
default 8 motifs differ clearly in mean pose and velocity: pause, walk, run,
turn left, turn right, rear (short, upright body), groom (head tucked, 6 Hz
head oscillation) and sniff (head sweeping at 3 Hz); further motifs
(``n_motifs > 8``) get random means. Per frame, simple egocentric features of
the tracked keypoints (forward speed, turning, bend, head yaw, head and body
length) separate the 8 motifs at about 95 % with a quadratic classifier. The
body integrates speed and turning rate in the arena; near a wall the realised
turning and speed (not the latent) are bent away from it.

keypoint-MoSeq's generative model
----------------------------------
:func:`keypoint_ar` draws sessions from the model keypoint-MoSeq assumes, with the
true state of every frame (:class:`KeypointARTruth`): state-specific stable
AR(``n_lags``) dynamics in a latent pose space, mapped linearly to the egocentric
keypoints of a skeleton, turned by a heading random walk and moved by a centroid
random walk, then given the tracking noise below (Gaussian or Student-t) and
outliers with low confidence. :func:`keypoint_ar_family` draws the arguments of
a family of such models (4-16 states, AR order 1-3, 6-30 frame durations...), on
which ``benchmarks/bench_syllables_family.py`` scores the syllable models.

Tracking realism
----------------
Positions get Gaussian errors whose size grows as the confidence drops.
Confidence is Beta distributed around a per-keypoint visibility (tail tip lower
than the body) that wanders slowly and drops when another animal touches the
keypoint. Dropouts are runs of NaN (about 0.2 s) with confidence below 0.1,
more frequent where confidence is low; outliers jump a point 15-60 px away with
low-to-middling confidence; identity swaps exchange two tracks for a stretch
(1-10 s) while the animals are close, and are recorded in ``truth.params`` and
``truth.identity``. With ``noise_px=0, dropout=0, outliers=0`` the dataset
equals ``truth.position_clean``.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import pandas as pd
import xarray as xr

from behavior.bouts import bout_table, bouts_from_labels, empty_bouts, filter_runs, runs
from behavior.dataset import append_log, from_numpy
from behavior.errors import PoseDataError
from behavior.units import to_seconds

logger = logging.getLogger(__name__)

__all__ = [
    "BODY_KEYPOINTS",
    "DEFINITIONS",
    "KEYPOINTS",
    "LATENT_NAMES",
    "NEURAL_VARIABLES",
    "SOCIAL_BEHAVIORS",
    "KeypointARTruth",
    "NeuralRecording",
    "NeuralTruth",
    "SimulationTruth",
    "keypoint_ar",
    "keypoint_ar_family",
    "neural_population",
    "session",
]

KEYPOINTS = [
    "nose",
    "left_ear",
    "right_ear",
    "neck",
    "body_center",
    "left_hip",
    "right_hip",
    "tail_base",
    "tail_mid",
    "tail_tip",
]
"""Keypoint names, in the order of the ``keypoint`` coordinate."""

BODY_KEYPOINTS = KEYPOINTS[:8]
"""Keypoints of the body proper (no tail): the set used for closest-point distances."""

SOCIAL_BEHAVIORS = ["explore", "rest", "freeze", "groom", "approach", "chase", "flee", "watch"]
"""Behavior names of ``kind="social"``; the label code is the index."""

LATENT_NAMES = [
    "speed",
    "turn_rate",
    "bend",
    "head_yaw",
    "head_sweep",
    "head_pitch",
    "body_length",
]
"""Latent dimensions of ``kind="single"`` (cm/s, rad/s, 1/cm, rad, rad, 0-1, scale)."""

_COMMON = (
    "Measured on body keypoints (all but tail_mid and tail_tip) in cm. Speed is the "
    "speed of the centroid of the body keypoints; heading is the direction tail_base "
    "-> neck; closest-point distance is the smallest distance between a body keypoint "
    "of one animal and one "
    "of the other; head direction is the direction from the midpoint of the ears to "
    "the nose; gaze offset is the angle between the head direction and the direction "
    "from the ears' midpoint to the other's body keypoint nearest to the nose. The "
    "simulator checks them per frame on noise-free positions with central differences "
    "(numpy.gradient); on tracked data, smooth over about smoothing_s first. A bout "
    "holds the frames covered by windows of at least min_duration_s in which at "
    "least min_fraction of the frames meet the rule, with bouts less than "
    "merge_gap_s apart merged (the bout logic of behavior.bouts.bouts)."
)

DEFINITIONS: dict[str, dict[str, Any]] = {
    "chase": {
        "text": (
            "The animal runs right behind another that runs away: both move faster "
            "than min_speed_cm_s, their closest-point distance is below "
            "max_distance_cm and their headings differ by less than "
            "max_heading_angle_deg, in at least min_fraction of the frames of a bout "
            "lasting at least min_duration_s. 'other' is the chased animal. " + _COMMON
        ),
        "min_speed_cm_s": 15.0,
        "max_distance_cm": 5.0,
        "max_heading_angle_deg": 30.0,
        "min_duration_s": 1.0,
        "min_fraction": 0.8,
        "merge_gap_s": 0.5,
        "smoothing_s": 0.2,
        "social": True,
    },
    "flee": {
        "text": (
            "Being chased: the mirror of 'chase' with the same thresholds, for the "
            "animal in front; 'other' is the chaser. " + _COMMON
        ),
        "min_speed_cm_s": 15.0,
        "max_distance_cm": 5.0,
        "max_heading_angle_deg": 30.0,
        "min_duration_s": 1.0,
        "min_fraction": 0.8,
        "merge_gap_s": 0.5,
        "smoothing_s": 0.2,
        "social": True,
    },
    "watch": {
        "text": (
            "The animal stays still (speed below max_speed_cm_s) with its head pointed "
            "at another animal (gaze offset below max_gaze_offset_deg) that is between "
            "min_distance_cm and max_distance_cm away (closest-point distance), in at "
            "least min_fraction of the frames of a bout lasting at least "
            "min_duration_s. 'other' is the watched animal. " + _COMMON
        ),
        "min_distance_cm": 5.0,
        "max_distance_cm": 20.0,
        "max_gaze_offset_deg": 20.0,
        "max_speed_cm_s": 3.0,
        "min_duration_s": 1.0,
        "min_fraction": 0.8,
        "merge_gap_s": 0.5,
        "smoothing_s": 0.2,
        "social": True,
    },
    "freeze": {
        "text": (
            "Complete immobility: every keypoint (tail included) moves slower than "
            "max_keypoint_speed_cm_s for at least min_duration_s; only tracking noise "
            "moves. " + _COMMON
        ),
        "max_keypoint_speed_cm_s": 1.0,
        "min_duration_s": 1.0,
        "min_fraction": 1.0,
        "merge_gap_s": 0.0,
        "smoothing_s": 0.2,
        "social": False,
    },
    "approach": {
        "text": (
            "Walking towards another animal (speed above min_speed_cm_s, the "
            "closest-point distance shrinking) until contact, a chase or a stop to "
            "watch; the simulator steers at the other's nearest body keypoint (or its "
            "tail base before a chase). 'other' is the approached animal. Descriptive: "
            "not trimmed to a rule. " + _COMMON
        ),
        "min_speed_cm_s": 5.0,
        "social": True,
    },
    "explore": {
        "text": (
            "Locomotion at 3-28 cm/s with smooth turns and a tendency to follow walls; "
            "also the label of running that fails the chase/flee rules."
        ),
        "min_speed_cm_s": 3.0,
        "max_speed_cm_s": 28.0,
        "social": False,
    },
    "rest": {
        "text": (
            "Body in place (centre still), curled and shortened, but not immobile: the "
            "body turns slowly on the spot (angular speed of the body axis a few tens "
            "of deg/s) and the head looks about and bobs, so that it never meets the "
            "freeze rule for a whole second and a detector can tell it from a freeze "
            "by the turning of the body axis; bouts of 2-30 s (watches that fail "
            "their rule add shorter ones)."
        ),
        "social": False,
    },
    "groom": {
        "text": (
            "Body in place but turning (to present face and flanks) with fast (about "
            "6 Hz) jitter of the head, which is dipped, turns between the face and the "
            "flanks and works slowly over each; bouts of 2-15 s."
        ),
        "social": False,
    },
}
"""Behavior -> definition: ``text`` plus thresholds in cm, cm/s, deg and s.

The ``chase``, ``flee``, ``watch`` and ``freeze`` labels of ``kind="social"``
satisfy these rules on the noise-free positions (see the module docstring);
rule presets of :mod:`behavior.events` assert that they use the same numbers.
"""

# --------------------------------------------------------------------------- body model

# Spine positions relative to body_center, in cm at body length scale 1.
_NECK_S = 2.4
_HEAD_LEN = 2.6
_EAR_FWD = 0.9
_EAR_SIDE = 1.05
_HIP_S = -2.4
_HIP_SIDE = 1.3
_TAIL_BASE_S = -4.5
_TAIL_LEN = 8.0
_CENTER_MARGIN = 5.8  # the body centre never comes closer to a wall (body reach < 5.7 cm)
_STEER_MARGIN = 7.0  # walls steer the animal to keep its centre this far from them
_N_KP = len(KEYPOINTS)
_N_BODY = len(BODY_KEYPOINTS)


@numba.njit(cache=True, inline="always")
def _chord(s: float, kappa: float) -> float:
    """Length factor of a circular arc of length ``s`` and curvature ``kappa``."""
    half = 0.5 * kappa * s
    if abs(half) < 1e-6:
        return s
    return s * math.sin(half) / half


@numba.njit(cache=True)
def _body_points(x, y, th, bend, lam, yaw, pitch, tcurv, out, w, h):
    """Write the 10 keypoints (cm) of one mouse into ``out[2, 10]``.

    The spine is an arc of curvature ``bend`` through (x, y) with tangent ``th``;
    the head turns by ``yaw`` at the neck and shortens with ``pitch``; the tail
    continues the spine with curvature ``tcurv``; tail points are kept in the
    ``w x h`` arena.
    """
    # neck
    s = _NECK_S * lam
    c = _chord(s, bend)
    a = th + 0.5 * bend * s
    nx = x + c * math.cos(a)
    ny = y + c * math.sin(a)
    phi_neck = th + bend * s
    ph = phi_neck + yaw
    ch, sh = math.cos(ph), math.sin(ph)
    hl = _HEAD_LEN * lam * (1.0 - 0.55 * pitch)
    # image frame (y down): the animal's left is (sin, -cos) of its heading
    out[0, 0] = nx + hl * ch
    out[1, 0] = ny + hl * sh
    ef = _EAR_FWD * lam * (1.0 - 0.3 * pitch)
    es = _EAR_SIDE * lam
    out[0, 1] = nx + ef * ch + es * sh
    out[1, 1] = ny + ef * sh - es * ch
    out[0, 2] = nx + ef * ch - es * sh
    out[1, 2] = ny + ef * sh + es * ch
    out[0, 3] = nx
    out[1, 3] = ny
    out[0, 4] = x
    out[1, 4] = y
    # hips
    s = _HIP_S * lam
    c = _chord(s, bend)
    a = th + 0.5 * bend * s
    hx = x + c * math.cos(a)
    hy = y + c * math.sin(a)
    pt = th + bend * s
    cs, ss = math.cos(pt), math.sin(pt)
    hs = _HIP_SIDE * lam
    out[0, 5] = hx + hs * ss
    out[1, 5] = hy - hs * cs
    out[0, 6] = hx - hs * ss
    out[1, 6] = hy + hs * cs
    # tail base and tail (pointing backwards)
    s = _TAIL_BASE_S * lam
    c = _chord(s, bend)
    a = th + 0.5 * bend * s
    bx = x + c * math.cos(a)
    by = y + c * math.sin(a)
    out[0, 7] = bx
    out[1, 7] = by
    back = th + bend * s + math.pi
    for k, u in ((8, 0.5 * _TAIL_LEN), (9, _TAIL_LEN)):
        c = _chord(u, tcurv)
        a = back + 0.5 * tcurv * u
        px = min(max(bx + c * math.cos(a), 0.0), w)
        py = min(max(by + c * math.sin(a), 0.0), h)
        out[0, k] = px
        out[1, k] = py


@numba.njit(cache=True, inline="always")
def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


@numba.njit(cache=True, inline="always")
def _ray(x, y, phi, x0, x1, y0, y1):
    """Distance from (x, y) along ``phi`` to the border of the box [x0, x1] x [y0, y1]."""
    c, s = math.cos(phi), math.sin(phi)
    d = 1e9
    if c > 1e-9:
        d = min(d, (x1 - x) / c)
    elif c < -1e-9:
        d = min(d, (x0 - x) / c)
    if s > 1e-9:
        d = min(d, (y1 - y) / s)
    elif s < -1e-9:
        d = min(d, (y0 - y) / s)
    return max(d, 0.0)


@numba.njit(cache=True)
def _wall_turn(x, y, th, w, h, d_turn, om_max, prev_dir):
    """Turning rate that bends a path away from a wall ahead; (rate, direction)."""
    m = _STEER_MARGIN
    ahead = _ray(x, y, th, m, w - m, m, h - m)
    if ahead >= d_turn:
        return 0.0, prev_dir
    left = _ray(x, y, th + 0.8, m, w - m, m, h - m)
    right = _ray(x, y, th - 0.8, m, w - m, m, h - m)
    direction = prev_dir
    if abs(left - right) > 2.0 or direction == 0.0:
        direction = 1.0 if left >= right else -1.0
    strength = min(1.0, (d_turn - ahead) / (0.6 * d_turn))
    return direction * om_max * strength, direction


@numba.njit(cache=True, inline="always")
def _relax(value, target, dt, tau):
    return value + (target - value) * (1.0 - math.exp(-dt / tau))


@numba.njit(cache=True, inline="always")
def _ou(value, dt, tau, sd, z):
    """One exact step of a zero-mean Ornstein-Uhlenbeck process."""
    e = math.exp(-dt / tau)
    return value * e + sd * math.sqrt(1.0 - e * e) * z


# --------------------------------------------------------------------------- social kernel

_EXPLORE, _REST, _FREEZE, _GROOM, _APPROACH, _CHASE, _FLEE, _WATCH = range(8)

# Columns of the float state S[mouse, column] ...
_X, _Y, _TH, _V, _OM = 0, 1, 2, 3, 4  # body centre (cm), heading, speed, turning rate
_BEND, _YAW, _PITCH, _LAM, _TCURV = 5, 6, 7, 8, 9  # posture (see _body_points)
_OU_TURN, _OU_SPEED, _YAW_OU, _WAG = 10, 11, 12, 13  # slow random drives
_VMEAN, _CURL, _FLEE_SPEED, _STOP_DIST, _ESCAPE = 14, 15, 16, 17, 18  # per-bout parameters
_PHASE, _OSC, _SITE_YAW, _SITE_BEND, _TURN_DIR = 19, 20, 21, 22, 23  # grooming, walls
_PITCH_OU = 24  # head bobbing while resting or watching (sniffing)
_NS = 25
# ... and of the integer state M[mouse, column]
_MODE, _TIMER, _PARTNER, _OUTCOME, _SITE_TIMER = range(5)
_NI = 5
# how an approach ends
_OUT_CONTACT, _OUT_CHASE, _OUT_WATCH = 0, 1, 2

_FLEE_RADIUS = 22.0  # smallest turning radius of a running, fleeing mouse (cm)

# bout durations: median (s), log-normal s.d., min (s), max (s)
_DURATIONS = np.array(
    [
        [5.0, 0.6, 1.5, 25.0],  # explore
        [8.0, 0.5, 2.0, 30.0],  # rest
        [2.5, 0.4, 1.6, 6.0],  # freeze
        [5.0, 0.5, 2.0, 15.0],  # groom
        [6.0, 0.0, 6.0, 6.0],  # approach (a timeout; it usually ends earlier)
        [2.4, 0.35, 1.5, 4.5],  # chase
        [2.4, 0.35, 1.5, 4.5],  # flee (the chaser's timer is used)
        [2.6, 0.4, 1.5, 6.0],  # watch
    ]
)

# next-mode probabilities when a bout ends on its own (rows: from; columns: to)
_NEXT = np.array(
    [
        # explore rest freeze groom approach chase flee watch
        [0.25, 0.12, 0.10, 0.15, 0.38, 0.0, 0.0, 0.0],  # explore
        [0.65, 0.0, 0.0, 0.25, 0.10, 0.0, 0.0, 0.0],  # rest
        [0.75, 0.10, 0.0, 0.15, 0.0, 0.0, 0.0, 0.0],  # freeze
        [0.70, 0.30, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # groom
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # approach
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # chase
        [0.55, 0.0, 0.45, 0.0, 0.0, 0.0, 0.0, 0.0],  # flee
        [0.55, 0.20, 0.0, 0.0, 0.25, 0.0, 0.0, 0.0],  # watch
    ]
)
_WATCH_RATE = 0.4  # per second: chance to start watching a moving animal in range


@numba.njit(cache=True)
def _duration_frames(mode, z, fps):
    med, sig = _DURATIONS[mode, 0], _DURATIONS[mode, 1]
    d = min(max(med * math.exp(sig * z), _DURATIONS[mode, 2]), _DURATIONS[mode, 3])
    return max(1, round(d * fps))


@numba.njit(cache=True)
def _pick_next(mode, u, social):
    total = 0.0
    for k in range(8):
        if social or k != _APPROACH:
            total += _NEXT[mode, k]
    acc = 0.0
    for k in range(8):
        if social or k != _APPROACH:
            acc += _NEXT[mode, k] / total
            if u < acc:
                return k
    return _EXPLORE


@numba.njit(cache=True)
def _enter(S, M, i, mode, partner, fps, zdur, u1, u2):
    """Start ``mode`` for mouse ``i`` and draw its per-bout parameters."""
    M[i, _MODE] = mode
    M[i, _PARTNER] = partner
    M[i, _TIMER] = _duration_frames(mode, zdur, fps)
    if mode == _EXPLORE:
        S[i, _VMEAN] = 6.0 + 14.0 * u1
    elif mode in (_REST, _GROOM):
        S[i, _CURL] = (0.04 + 0.08 * u1) * (1.0 if u2 < 0.5 else -1.0)
        M[i, _SITE_TIMER] = 0
    elif mode == _FLEE:
        S[i, _FLEE_SPEED] = 20.0 + 8.0 * u1
    elif mode == _APPROACH:
        S[i, _STOP_DIST] = 9.0 + 6.0 * u2


@numba.njit(cache=True)
def _behind(S, kp, i, p, w, h):
    """Where mouse ``i`` heads to get right behind mouse ``p``: around its side to a
    point behind it, then to its tail base. The flag is True when a wall blocks the
    way (the point was moved into the arena)."""
    hx, hy = math.cos(S[p, _TH]), math.sin(S[p, _TH])
    rx, ry = S[i, _X] - S[p, _X], S[i, _Y] - S[p, _Y]
    along = rx * hx + ry * hy
    side = -rx * hy + ry * hx
    if along <= -7.0:
        return kp[p, 0, 7], kp[p, 1, 7], False
    if abs(side) < 8.0:
        sgn = 1.0 if side >= 0 else -1.0
        tx, ty = S[p, _X] - 6.0 * hx - sgn * 10.0 * hy, S[p, _Y] - 6.0 * hy + sgn * 10.0 * hx
    else:
        tx, ty = S[p, _X] - 14.0 * hx, S[p, _Y] - 14.0 * hy
    m = _STEER_MARGIN
    cx, cy = min(max(tx, m), w - m), min(max(ty, m), h - m)
    return cx, cy, cx != tx or cy != ty


@numba.njit(cache=True)
def _escape_direction(S, i, j, w, h):
    """Direction in which mouse ``i`` flees from ``j``: open space, away from ``j``."""
    m = _STEER_MARGIN
    x, y = S[i, _X], S[i, _Y]
    away = math.atan2(y - S[j, _Y], x - S[j, _X])
    best, best_score = away, -1e9
    for k in range(-8, 9):
        phi = away + k * (math.pi / 12.0)
        score = min(_ray(x, y, phi, m, w - m, m, h - m), 70.0)
        score += 12.0 * math.cos(_wrap(phi - away)) + 12.0 * math.cos(_wrap(phi - S[j, _TH]))
        if score > best_score:
            best, best_score = phi, score
    return _wrap(best)


@numba.njit(cache=True)
def _pairs(kp, dist, near):
    """Closest-point distances ``dist[i, j]`` and the body point of ``j`` nearest
    to ``i``'s nose, ``near[i, j]``."""
    n_ind = kp.shape[0]
    for i in range(n_ind):
        for j in range(n_ind):
            if i == j:
                continue
            best = 1e18
            for a in range(_N_BODY):
                for b in range(_N_BODY):
                    d2 = (kp[i, 0, a] - kp[j, 0, b]) ** 2 + (kp[i, 1, a] - kp[j, 1, b]) ** 2
                    best = min(best, d2)
            dist[i, j] = math.sqrt(best)
            best = 1e18
            for b in range(_N_BODY):
                d2 = (kp[i, 0, 0] - kp[j, 0, b]) ** 2 + (kp[i, 1, 0] - kp[j, 1, b]) ** 2
                if d2 < best:
                    best = d2
                    near[i, j, 0] = kp[j, 0, b]
                    near[i, j, 1] = kp[j, 1, b]


@numba.njit(cache=True)
def _free(M, j):
    return M[j, _MODE] != _CHASE and M[j, _MODE] != _FLEE


@numba.njit(cache=True)
def _transition(S, M, i, kp, dist, fps, w, h, zd, u):
    """Advance mouse ``i``'s state machine by one frame (``u``: 6 uniforms)."""
    n_ind = S.shape[0]
    social = n_ind > 1
    M[i, _TIMER] -= 1
    mode, p = M[i, _MODE], M[i, _PARTNER]
    if mode == _FLEE:
        if M[p, _MODE] != _CHASE or M[p, _PARTNER] != i:
            _enter(S, M, i, _EXPLORE, -1, fps, zd, u[3], u[4])
    elif mode == _CHASE:
        if M[i, _TIMER] <= 0 or dist[i, p] > 12.0:
            _enter(S, M, i, _EXPLORE, -1, fps, zd, u[3], u[4])
            if M[p, _MODE] == _FLEE and M[p, _PARTNER] == i:
                _enter(S, M, p, _pick_next(_FLEE, u[1], social), -1, fps, zd, u[3], u[4])
    elif mode == _APPROACH:
        outcome = M[i, _OUTCOME]
        if not _free(M, p) or M[i, _TIMER] <= 0:
            _enter(S, M, i, _EXPLORE, -1, fps, zd, u[3], u[4])
        elif outcome == _OUT_CHASE:
            # the chase starts once the nose is at the other's tail base, from behind
            gap2 = (kp[i, 0, 0] - kp[p, 0, 7]) ** 2 + (kp[i, 1, 0] - kp[p, 1, 7]) ** 2
            tx, ty, blocked = _behind(S, kp, i, p, w, h)
            if blocked and (tx - S[i, _X]) ** 2 + (ty - S[i, _Y]) ** 2 < 6.25:
                # cannot get behind it (a wall): settle for a sniff
                M[i, _OUTCOME] = _OUT_CONTACT
            elif gap2 < 9.0 and abs(_wrap(S[i, _TH] - S[p, _TH])) < 1.0:
                _enter(S, M, i, _CHASE, p, fps, zd, u[3], u[4])
                _enter(S, M, p, _FLEE, i, fps, zd, u[3], u[4])
                M[p, _TIMER] = M[i, _TIMER]
                S[p, _ESCAPE] = _escape_direction(S, p, i, w, h)
        elif outcome == _OUT_WATCH:
            if dist[i, p] <= S[i, _STOP_DIST]:
                _enter(S, M, i, _WATCH, p, fps, zd, u[3], u[4])
        elif dist[i, p] < 2.0:  # contact: sniff, then walk on slowly
            _enter(S, M, i, _EXPLORE, -1, fps, zd, u[3], u[4])
            S[i, _VMEAN] = 4.0 + 4.0 * u[3]
    elif mode == _WATCH:
        if M[i, _TIMER] <= 0 or dist[i, p] < 5.5 or dist[i, p] > 19.5:
            nxt = _pick_next(_WATCH, u[1], social)
            if nxt == _APPROACH and _free(M, p):
                M[i, _OUTCOME] = _OUT_CONTACT if u[2] < 0.5 else _OUT_CHASE
                _enter(S, M, i, _APPROACH, p, fps, zd, u[3], u[4])
            else:
                _enter(S, M, i, _EXPLORE if nxt == _APPROACH else nxt, -1, fps, zd, u[3], u[4])
    else:
        if social and mode in (_EXPLORE, _REST):
            # start watching a moving animal in range
            best = -1
            for j in range(n_ind):
                moving_in_range = 7.0 <= dist[i, j] <= 17.0 and abs(S[j, _V]) > 4.0
                if j != i and moving_in_range and (best < 0 or dist[i, j] < dist[i, best]):
                    best = j
            if best >= 0 and u[5] < 1.0 - math.exp(-_WATCH_RATE / fps):
                _enter(S, M, i, _WATCH, best, fps, zd, u[3], u[4])
                return
        if M[i, _TIMER] > 0:
            return
        nxt = _pick_next(mode, u[1], social)
        if nxt == _APPROACH:
            # approach a partner that is not busy with a chase
            n_free = 0
            for j in range(n_ind):
                if j != i and _free(M, j):
                    n_free += 1
            pick = int(u[2] * n_free)
            p = -1
            for j in range(n_ind):
                if j != i and _free(M, j):
                    if pick == 0:
                        p = j
                        break
                    pick -= 1
            if p < 0:
                nxt = _EXPLORE
            else:
                if dist[i, p] < 10.0:
                    M[i, _OUTCOME] = _OUT_CONTACT if u[3] < 0.35 else _OUT_CHASE
                elif u[3] < 0.25:
                    M[i, _OUTCOME] = _OUT_CONTACT
                elif u[3] < 0.75:
                    M[i, _OUTCOME] = _OUT_CHASE
                else:
                    M[i, _OUTCOME] = _OUT_WATCH
                _enter(S, M, i, _APPROACH, p, fps, zd, u[3], u[4])
                return
        _enter(S, M, i, nxt, -1, fps, zd, u[3], u[4])


@numba.njit(cache=True)
def _explore_control(S, i, w, h):
    """Speed and turning of exploration: random drives, walls, other animals."""
    x, y, th = S[i, _X], S[i, _Y], S[i, _TH]
    v_target = min(max(S[i, _VMEAN] + S[i, _OU_SPEED], 3.0), 28.0)
    om_w, S[i, _TURN_DIR] = _wall_turn(x, y, th, w, h, 14.0, 3.5, S[i, _TURN_DIR])
    om_target = S[i, _OU_TURN] + om_w
    # thigmotaxis: turn parallel to a nearby wall
    dwall = min(x, w - x, y, h - y)
    if dwall < 14.0 and om_w == 0.0:
        if dwall == x or dwall == w - x:
            up = abs(_wrap(0.5 * math.pi - th)) < abs(_wrap(-0.5 * math.pi - th))
            tangent = 0.5 * math.pi if up else -0.5 * math.pi
        else:
            tangent = 0.0 if abs(_wrap(-th)) < abs(_wrap(math.pi - th)) else math.pi
        diff = _wrap(tangent - th)
        if abs(diff) < 1.0:
            om_target += 1.2 * diff
    # swerve around other animals ahead
    for j in range(S.shape[0]):
        if j == i:
            continue
        dx, dy = S[j, _X] - x, S[j, _Y] - y
        r = math.sqrt(dx * dx + dy * dy)
        rel = _wrap(math.atan2(dy, dx) - th)
        if r < 10.0 and abs(rel) < 1.2:
            om_target -= (2.5 if rel >= 0 else -2.5) * (1.0 - r / 10.0)
            if r < 6.0:
                v_target *= r / 6.0
    m = _STEER_MARGIN
    ahead = _ray(x, y, th, m, w - m, m, h - m)
    v_target *= min(1.0, 0.3 + ahead / 8.0)
    return v_target, om_target


@numba.njit(cache=True)
def _step(S, M, i, kp, dist, near, fps, w, h, z, u):
    """Move mouse ``i`` by one frame under its current mode (``z``: 8 normals)."""
    dt = 1.0 / fps
    mode, p = M[i, _MODE], M[i, _PARTNER]
    x, y, th, v = S[i, _X], S[i, _Y], S[i, _TH], S[i, _V]
    S[i, _OU_TURN] = _ou(S[i, _OU_TURN], dt, 0.6, 1.0, z[1])
    S[i, _OU_SPEED] = _ou(S[i, _OU_SPEED], dt, 1.0, 4.0, z[0])
    S[i, _WAG] = _ou(S[i, _WAG], dt, 0.3, 0.02, z[5])
    # targets, and how fast they are reached
    v_target, accel = 0.0, 150.0
    om_target, om_max, om_tau = 0.0, 3.0, 0.08
    bend_target, moving_bend = S[i, _BEND], True
    yaw_target, yaw_tau = 0.0, 0.3
    pitch_target, lam_target, osc_target = 0.15, 1.0, 0.0
    tail_target = 1.3 * S[i, _BEND] + S[i, _WAG]
    phi_neck = th + S[i, _BEND] * _NECK_S * S[i, _LAM]
    if mode == _EXPLORE:
        v_target, om_target = _explore_control(S, i, w, h)
        S[i, _YAW_OU] = _ou(S[i, _YAW_OU], dt, 0.4, 0.25, z[2])
        yaw_target, yaw_tau = S[i, _YAW_OU], 0.1
        pitch_target = 0.15 + 0.1 * z[3]
    elif mode == _REST:
        accel, moving_bend = 100.0, False
        bend_target = S[i, _CURL]
        tail_target = 1.6 * S[i, _CURL] + S[i, _WAG]
        # awake rest: the head keeps looking about and bobbing (sniffing), so that,
        # unlike in a freeze, it never holds still for long
        S[i, _YAW_OU] = _ou(S[i, _YAW_OU], dt, 0.8, 0.6, z[2])
        S[i, _PITCH_OU] = _ou(S[i, _PITCH_OU], dt, 0.5, 0.2, z[3])
        yaw_target, yaw_tau = min(max(S[i, _YAW_OU], -0.8), 0.8), 0.2
        pitch_target, lam_target = min(max(0.45 + S[i, _PITCH_OU], 0.2), 0.7), 0.86
        # ... and the body shifts, turning slowly on the spot, one way then the
        # other, never lingering without turning (what tells rest from a freeze)
        turn = S[i, _OU_TURN]
        om_target = 0.6 * turn + (0.35 if turn >= 0 else -0.35)
    elif mode == _FREEZE:
        # stop at once and hold every posture variable
        step = 900.0 * dt
        S[i, _V] = 0.0 if abs(v) <= step else v - step * (1.0 if v > 0 else -1.0)
        S[i, _OM] = 0.0
    elif mode == _GROOM:
        accel, moving_bend = 100.0, False
        M[i, _SITE_TIMER] -= 1
        if M[i, _SITE_TIMER] <= 0:
            # switch between washing the face and licking a flank
            M[i, _SITE_TIMER] = int(fps * (1.0 + 1.5 * u[4]))
            if u[5] < 0.5:
                S[i, _SITE_YAW], S[i, _SITE_BEND] = 0.0, 0.5 * S[i, _CURL]
            else:
                side = 1.0 if u[5] < 0.75 else -1.0
                S[i, _SITE_YAW], S[i, _SITE_BEND] = side, 0.1 * side
        bend_target = S[i, _SITE_BEND]
        tail_target = 1.6 * S[i, _CURL] + S[i, _WAG]
        # the head also works slowly over the site (face, flank) it is washing
        S[i, _YAW_OU] = _ou(S[i, _YAW_OU], dt, 0.6, 0.3, z[4])
        work = min(max(S[i, _SITE_YAW] + S[i, _YAW_OU], -1.1), 1.1)
        yaw_target, yaw_tau = work + 0.05 * z[2], 0.15
        pitch_target, lam_target, osc_target = 0.6, 0.84, 0.22
        om_target = 0.6 * S[i, _OU_TURN]  # the body turns to present face and flanks
    elif mode == _APPROACH:
        if M[i, _OUTCOME] == _OUT_CHASE:
            tx, ty, _ = _behind(S, kp, i, p, w, h)
        else:
            tx, ty = near[i, p, 0], near[i, p, 1]
        goal = math.atan2(ty - y, tx - x)
        om_target, om_max = 5.0 * _wrap(goal - th), 4.0
        d = dist[i, p]
        if M[i, _OUTCOME] == _OUT_WATCH:
            v_target = min(max(1.5 * (d - S[i, _STOP_DIST]) + 6.0, 6.0), 22.0)
        elif M[i, _OUTCOME] == _OUT_CHASE:
            v_target = min(max(1.5 * d + 8.0, 10.0), 26.0)
        else:
            v_target = min(max(1.5 * d + 5.0, 5.0), 20.0)
        yaw_target, yaw_tau = min(max(_wrap(goal - phi_neck), -0.5), 0.5), 0.1
        pitch_target, lam_target = 0.1, 1.02
    elif mode == _CHASE:
        # pure pursuit of the other's body centre (aiming ahead of the tail cuts
        # corners, which keeps the headings aligned in turns), with the speed set
        # to keep the nose about 2 cm behind the other's tail base
        goal = math.atan2(S[p, _Y] - y, S[p, _X] - x)
        alpha = _wrap(goal - th)
        look = math.sqrt((S[p, _X] - x) ** 2 + (S[p, _Y] - y) ** 2) + 1e-6
        if abs(alpha) < 0.5 * math.pi:
            om_target = 2.0 * max(abs(v), 5.0) * math.sin(alpha) / look
        else:
            om_target = 8.0 if alpha > 0 else -8.0
        om_max, om_tau = 8.0, 0.04
        gap = math.sqrt((kp[i, 0, 0] - kp[p, 0, 7]) ** 2 + (kp[i, 1, 0] - kp[p, 1, 7]) ** 2)
        behind = 1.0 if math.cos(alpha) > 0 else -1.0
        v_target = abs(S[p, _V]) * math.cos(alpha) + 4.0 * (behind * gap - 2.0)
        v_target, accel = min(max(v_target, 0.0), 40.0), 300.0
        yaw_target, yaw_tau = min(max(_wrap(goal - phi_neck), -0.3), 0.3), 0.1
        pitch_target, lam_target = 0.0, 1.06
    elif mode == _FLEE:
        # spin towards the escape direction, then run on it, turning along walls
        # on arcs of at least _FLEE_RADIUS
        off = _wrap(S[i, _ESCAPE] - th)
        if abs(off) > 0.5:
            v_target, om_max, om_target = 6.0, 8.0, 8.0 * off
        else:
            v_target = S[i, _FLEE_SPEED]
            om_max = max(abs(v), 6.0) / _FLEE_RADIUS
            om_w, S[i, _TURN_DIR] = _wall_turn(
                x, y, th, w, h, _FLEE_RADIUS + 8.0, om_max, S[i, _TURN_DIR]
            )
            if om_w != 0.0:
                S[i, _ESCAPE] = th
                om_target = om_w
            else:
                S[i, _ESCAPE] = _wrap(S[i, _ESCAPE] + 0.1 * z[4] * math.sqrt(dt))
                om_target = 4.0 * off
        accel = 300.0
        pitch_target, lam_target = 0.0, 1.06
    elif mode == _WATCH:
        # stand, turn the body and point the head at the other's nearest body point
        tx, ty = near[i, p, 0], near[i, p, 1]
        om_target, om_max = 5.0 * _wrap(math.atan2(ty - y, tx - x) - th), 3.0
        om_target += 0.6 * S[i, _OU_TURN]  # shifting its stance, the head stays on target
        moving_bend = False
        bend_target = min(max(0.05 * S[i, _OM], -0.12), 0.12)
        ex = 0.5 * (kp[i, 0, 1] + kp[i, 0, 2])
        ey = 0.5 * (kp[i, 1, 1] + kp[i, 1, 2])
        look = math.atan2(ty - ey, tx - ex)
        yaw_target, yaw_tau = min(max(_wrap(look - phi_neck), -0.8), 0.8), 0.06
        # sniffing towards the other: the head bobs up and down
        S[i, _PITCH_OU] = _ou(S[i, _PITCH_OU], dt, 0.5, 0.2, z[3])
        pitch_target = min(max(0.15 + S[i, _PITCH_OU], 0.0), 0.6)

    if mode != _FREEZE:
        v += min(max(v_target - v, -accel * dt), accel * dt)
        S[i, _V] = v
        om = _relax(S[i, _OM], om_target, dt, om_tau)
        S[i, _OM] = min(max(om, -om_max), om_max)
        S[i, _TH] = _wrap(th + S[i, _OM] * dt)
        if moving_bend:  # the body bends with the path
            bend_target = min(max(S[i, _OM] / max(abs(v), 5.0), -0.16), 0.16)
        S[i, _BEND] = _relax(S[i, _BEND], bend_target, dt, 0.12)
        S[i, _YAW] = _relax(S[i, _YAW], yaw_target, dt, yaw_tau)
        S[i, _PITCH] = _relax(S[i, _PITCH], pitch_target, dt, 0.2)
        S[i, _LAM] = _relax(S[i, _LAM], lam_target, dt, 0.3)
        S[i, _OSC] = _relax(S[i, _OSC], osc_target, dt, 0.1)
        S[i, _TCURV] = _relax(S[i, _TCURV], tail_target, dt, 0.25)
        phase = S[i, _PHASE] + 2.0 * math.pi * 6.0 * dt * (1.0 + 0.1 * z[7])
        S[i, _PHASE] = phase % (4.0 * math.pi)
    v = S[i, _V]
    x += v * math.cos(S[i, _TH]) * dt
    y += v * math.sin(S[i, _TH]) * dt
    S[i, _X] = min(max(x, _CENTER_MARGIN), w - _CENTER_MARGIN)
    S[i, _Y] = min(max(y, _CENTER_MARGIN), h - _CENTER_MARGIN)


@numba.njit(cache=True)
def _social_kernel(n_frames, fps, w, h, init, normals, uniforms):
    """Simulate ``init.shape[0]`` mice; keypoints (cm), modes and partners per frame."""
    n_ind = init.shape[0]
    pos = np.empty((n_frames, 2, _N_KP, n_ind))
    modes = np.empty((n_frames, n_ind), dtype=np.int8)
    partners = np.empty((n_frames, n_ind), dtype=np.int16)
    S = np.zeros((n_ind, _NS))
    M = np.zeros((n_ind, _NI), dtype=np.int64)
    kp = np.empty((n_ind, 2, _N_KP))
    dist = np.zeros((n_ind, n_ind))
    near = np.zeros((n_ind, n_ind, 2))
    for i in range(n_ind):
        S[i, _X], S[i, _Y], S[i, _TH] = init[i, 0], init[i, 1], init[i, 2]
        S[i, _V], S[i, _LAM], S[i, _PITCH], S[i, _TURN_DIR] = 8.0, 1.0, 0.15, 1.0
        _enter(S, M, i, _EXPLORE, -1, fps, normals[0, i, 6], uniforms[0, i, 3], uniforms[0, i, 4])
        M[i, _TIMER] = 1 + int(init[i, 3] * M[i, _TIMER])  # start mid-bout

    for t in range(n_frames):
        for i in range(n_ind):
            yaw = S[i, _YAW] + S[i, _OSC] * math.sin(S[i, _PHASE])
            pitch = S[i, _PITCH] + 0.5 * S[i, _OSC] * math.sin(0.5 * S[i, _PHASE] + 1.0)
            _body_points(
                S[i, _X], S[i, _Y], S[i, _TH], S[i, _BEND], S[i, _LAM], yaw, pitch,
                S[i, _TCURV], kp[i], w, h,
            )  # fmt: skip
            pos[t, :, :, i] = kp[i]
        _pairs(kp, dist, near)
        for i in range(n_ind):
            _transition(S, M, i, kp, dist, fps, w, h, normals[t, i, 6], uniforms[t, i])
        for i in range(n_ind):
            m = M[i, _MODE]
            modes[t, i] = m
            social = m in (_APPROACH, _CHASE, _FLEE, _WATCH)
            partners[t, i] = M[i, _PARTNER] if social else -1
        for i in range(n_ind):
            _step(S, M, i, kp, dist, near, fps, w, h, normals[t, i], uniforms[t, i])
    return pos, modes, partners


# --------------------------------------------------------------------------- single kernel


@numba.njit(cache=True)
def _single_kernel(n_frames, fps, w, h, init, motif, A, b, L, normals):
    """One mouse driven by the switching AR(1) latent; keypoints (cm) and latent.

    ``init`` is (x, y, heading, z0...); ``motif[t]`` selects ``A``, ``b`` and the
    noise factor ``L`` (Cholesky of Q) for the step into frame ``t``.
    """
    dt = 1.0 / fps
    d = A.shape[1]
    pos = np.empty((n_frames, 2, _N_KP, 1))
    latent = np.empty((n_frames, d))
    out = np.empty((2, _N_KP))
    z = init[3:].copy()
    znew = np.empty(d)
    x, y, th = init[0], init[1], init[2]
    tcurv = 0.0
    turn_dir = 1.0
    m = _STEER_MARGIN
    for t in range(n_frames):
        if t > 0:
            k = motif[t]
            for r in range(d):
                acc = b[k, r]
                for c in range(d):
                    acc += A[k, r, c] * z[c]
                for c in range(r + 1):
                    acc += L[k, r, c] * normals[t, c]
                znew[r] = acc
            z[:] = znew
        latent[t] = z
        speed, turn, bend, yaw, pitch, lam = z[0], z[1], z[2], z[3], z[5], z[6]
        pitch = min(max(pitch, 0.0), 1.0)
        lam = min(max(lam, 0.6), 1.2)
        tcurv = _relax(tcurv, 1.3 * bend, dt, 0.25)
        _body_points(x, y, th, bend, lam, yaw, pitch, tcurv, out, w, h)
        pos[t, :, :, 0] = out
        # realised motion: the latent speed and turning, bent away from walls
        om_w, turn_dir = _wall_turn(x, y, th, w, h, 12.0, 4.0, turn_dir)
        v = speed
        if v > 0:
            v *= min(1.0, 0.2 + _ray(x, y, th, m, w - m, m, h - m) / 8.0)
        th = _wrap(th + (turn + om_w) * dt)
        x = min(max(x + v * math.cos(th) * dt, _CENTER_MARGIN), w - _CENTER_MARGIN)
        y = min(max(y + v * math.sin(th) * dt, _CENTER_MARGIN), h - _CENTER_MARGIN)
    return pos, latent


# --------------------------------------------------------------------------- truth


@dataclass
class SimulationTruth:
    """Ground truth of a simulated session.

    Attributes
    ----------
    labels
        int64 codes over ``(time, individual)`` on the dataset's time coordinate;
        ``attrs["labels"]`` lists the names (code ``i`` is ``labels[i]``):
        :data:`SOCIAL_BEHAVIORS` for ``kind="social"``, ``motif_0 ...`` for
        ``kind="single"``. Indexed by the *true* identity of each animal.
    bouts
        The bouts of ``labels`` (:data:`behavior.bouts.BOUT_COLUMNS`), with the
        partner in ``other`` for approach, chase, flee and watch.
    position_clean
        Noise-free positions in pixels, dims and coordinates as
        ``ds.position``, by true identity.
    params
        Everything that made the session: ``kind``, ``seed``, ``fps``,
        ``px_per_cm``, ``arena_cm``, ``arena_px``, noise settings,
        ``identity_swaps`` (list of ``{"start_frame", "stop_frame",
        "individuals"}``); for ``kind="single"`` also ``transition_matrix``,
        ``ar_matrices``, ``ar_offsets``, ``ar_noise_cov``, ``motif_means``,
        ``latent_names``, ``duration_mean_s``, ``duration_shape``.
    partner
        Partner name per frame over ``(time, individual)`` (``""`` = none).
    identity
        Which true animal each track of ``ds`` holds, per frame, over ``(time,
        individual)``: differs from the track's own name only during identity
        swaps.
    latent
        ``kind="single"``: the AR latent over ``(time, latent)``; else None.
    events
        ``kind="social"``: every stretch in which a rule of :data:`DEFINITIONS`
        (``chase``, ``flee``, ``watch``, ``freeze``) holds on the noise-free
        positions, found with the bout logic of the :mod:`behavior.events`
        presets (``min_fraction`` within ``window = min_duration_s``, gaps below
        ``merge_gap_s`` merged), as a bout table (not exclusive: a freezing
        mouse can also be watching). This is what a perfect detector finds on
        perfect tracking, the reference for rule detectors; ``labels`` are the
        generative states (refined by the same rules) for ethograms and
        classifiers. A chase belongs to the animal behind (its nose nearer the
        other's tail base); ``flee`` mirrors it. Empty for ``kind="single"``.
    """

    labels: xr.DataArray
    bouts: pd.DataFrame
    position_clean: xr.DataArray
    params: dict[str, Any] = field(default_factory=dict)
    partner: xr.DataArray | None = None
    identity: xr.DataArray | None = None
    latent: xr.DataArray | None = None
    events: pd.DataFrame = field(default_factory=empty_bouts)


# --------------------------------------------------------------------------- geometry


def _gradient_speed(xy: np.ndarray, fps: float) -> np.ndarray:
    """Speed (cm/s) of positions ``(time, 2, ...)`` by central differences."""
    if xy.shape[0] < 2:
        return np.zeros((xy.shape[0], *xy.shape[2:]))
    return np.linalg.norm(np.gradient(xy, axis=0), axis=1) * fps


def _pair_geometry(pos: np.ndarray, i: int, j: int) -> dict[str, np.ndarray]:
    """Per-frame quantities of the :data:`DEFINITIONS` for animal ``i`` towards ``j``."""
    a = pos[:, :, :_N_BODY, i]
    bj = pos[:, :, :_N_BODY, j]
    diff = a[:, :, :, None] - bj[:, :, None, :]
    closest = np.sqrt((diff**2).sum(axis=1)).min(axis=(1, 2))
    head_i = a[:, :, 3] - a[:, :, 7]
    head_j = bj[:, :, 3] - bj[:, :, 7]
    heading = np.degrees(
        np.abs(
            np.angle((head_i[:, 0] + 1j * head_i[:, 1]) * np.conj(head_j[:, 0] + 1j * head_j[:, 1]))
        )
    )
    ears = 0.5 * (a[:, :, 1] + a[:, :, 2])
    nose = a[:, :, 0]
    nearest = np.argmin(((nose[:, :, None] - bj) ** 2).sum(axis=1), axis=1)
    target = np.take_along_axis(bj, nearest[:, None, None], axis=2)[:, :, 0]
    look = nose - ears
    to = target - ears
    gaze = np.degrees(
        np.abs(np.angle((look[:, 0] + 1j * look[:, 1]) * np.conj(to[:, 0] + 1j * to[:, 1])))
    )
    return {"closest": closest, "heading": heading, "gaze": gaze}


def _rule_segments(ok: np.ndarray, rule: dict[str, Any], fps: float) -> list[tuple[int, int]]:
    """Bouts ``[start, stop)`` of the 1-D mask ``ok`` under a :data:`DEFINITIONS` rule.

    The same bout logic as the rule presets of :mod:`behavior.events`
    (:func:`behavior.bouts.bouts` with ``window=min_duration``, through
    :func:`behavior.bouts.filter_runs`),
    so a detector and the truth differ only by the tracking.
    """
    min_frames = rule["min_duration_s"] * fps
    fraction = float(rule["min_fraction"])
    _, starts, stops = filter_runs(
        np.asarray(ok, dtype=bool)[:, None],
        min_frames,
        rule["merge_gap_s"] * fps,
        None if fraction >= 1.0 else fraction,
        min_frames,
    )
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _fix_runs(labels, partner, i, code, ok, rule, fps, prefix, other, fail):
    """Keep only the parts of animal ``i``'s runs of ``code`` where the rule ``ok`` holds.

    Frames before the first kept segment of a run get ``prefix`` (an approach
    prefix keeps the partner), other dropped frames get ``other``, runs with no
    segment get ``fail``.
    """
    col = labels[:, i]
    for p in np.unique(partner[col == code, i]):
        starts, stops = runs((col == code) & (partner[:, i] == p))
        for s, e in zip(starts, stops, strict=True):
            good = ok[s:e] if ok.ndim == 1 else ok[s:e, p]
            segments = _rule_segments(good, rule, fps)
            if not segments:
                labels[s:e, i] = fail
                partner[s:e, i] = -1
                continue
            labels[s:e, i] = other
            partner[s:e, i] = -1
            first = s + segments[0][0]
            labels[s:first, i] = prefix
            partner[s:first, i] = p if prefix == _APPROACH else -1
            for a, z in segments:
                labels[s + a : s + z, i] = code
                partner[s + a : s + z, i] = p


_FREE = (_EXPLORE, _REST, _GROOM, _APPROACH)  # labels without a rule to satisfy


def _absorb_short(labels, partner, min_frames):
    """Give bouts of rule-free labels shorter than ``min_frames`` to a rule-free neighbour."""
    n_time = labels.shape[0]
    for i in range(labels.shape[1]):
        lab, par = labels[:, i], partner[:, i]
        change = np.ones(n_time, dtype=bool)
        change[1:] = (lab[1:] != lab[:-1]) | (par[1:] != par[:-1])
        starts = np.flatnonzero(change)
        stops = np.append(starts[1:], n_time)
        for s, e in zip(starts.tolist(), stops.tolist(), strict=True):
            if e - s >= min_frames or lab[s] not in _FREE:
                continue
            for t in (s - 1, e):
                if 0 <= t < n_time and lab[t] in _FREE:
                    lab[s:e], par[s:e] = lab[t], par[t]
                    break


def _finalize_social(modes, partners, pos, fps):
    """Labels that satisfy :data:`DEFINITIONS` from the generative modes, and the
    definition events: ``(individual, other, behavior, start, stop)`` tuples of every
    stretch where a rule holds on the noise-free positions."""
    n_time, n_ind = modes.shape
    labels = modes.astype(np.int64)
    partner = partners.astype(np.int64)
    speed = _gradient_speed(pos[:, :, :_N_BODY, :].mean(axis=2), fps)
    kp_speed = _gradient_speed(pos, fps).max(axis=1)
    freeze_ok = kp_speed < DEFINITIONS["freeze"]["max_keypoint_speed_cm_s"]
    chase, watch, freeze = DEFINITIONS["chase"], DEFINITIONS["watch"], DEFINITIONS["freeze"]
    found: list[tuple[int, int, str, int, int]] = []
    if n_ind > 1:
        chase_ok = np.zeros((n_time, n_ind, n_ind), dtype=bool)
        watch_ok = np.zeros((n_time, n_ind, n_ind), dtype=bool)
        behind = np.zeros((n_time, n_ind, n_ind), dtype=bool)
        for i in range(n_ind):
            for j in range(n_ind):
                if i == j:
                    continue
                g = _pair_geometry(pos, i, j)
                chase_ok[:, i, j] = (
                    (speed[:, i] > chase["min_speed_cm_s"])
                    & (speed[:, j] > chase["min_speed_cm_s"])
                    & (g["closest"] < chase["max_distance_cm"])
                    & (g["heading"] < chase["max_heading_angle_deg"])
                )
                watch_ok[:, i, j] = (
                    (g["closest"] >= watch["min_distance_cm"])
                    & (g["closest"] <= watch["max_distance_cm"])
                    & (g["gaze"] < watch["max_gaze_offset_deg"])
                    & (speed[:, i] < watch["max_speed_cm_s"])
                )
                nose_tail = np.linalg.norm(pos[:, :, 0, i] - pos[:, :, 7, j], axis=1)
                tail_nose = np.linalg.norm(pos[:, :, 0, j] - pos[:, :, 7, i], axis=1)
                behind[:, i, j] = nose_tail < tail_nose
        for i in range(n_ind):
            for j in range(n_ind):
                if i == j:
                    continue
                # the chase rule is symmetric: the chaser is the animal behind
                for s, e in _rule_segments(chase_ok[:, i, j], chase, fps):
                    if np.median(behind[s:e, i, j]) >= 0.5:
                        found.append((i, j, "chase", s, e))
                        found.append((j, i, "flee", s, e))
                for s, e in _rule_segments(watch_ok[:, i, j], watch, fps):
                    found.append((i, j, "watch", s, e))
        for i in range(n_ind):
            _fix_runs(
                labels, partner, i, _CHASE, chase_ok[:, i], chase, fps,
                _APPROACH, _EXPLORE, _EXPLORE,
            )  # fmt: skip
            _fix_runs(
                labels, partner, i, _WATCH, watch_ok[:, i], watch, fps,
                _EXPLORE, _EXPLORE, _REST,
            )  # fmt: skip
        # running that meets the chase rule is a chase whatever the generative mode
        # (e.g. the two keep running on after a chase's timer ran out): such
        # stretches of explore/approach become a chase of the animal behind
        for i in range(n_ind):
            for j in range(n_ind):
                if i == j:
                    continue
                free_i = np.isin(labels[:, i], (_EXPLORE, _APPROACH))
                free_j = np.isin(labels[:, j], (_EXPLORE, _APPROACH, _FLEE))
                ok = chase_ok[:, i, j] & behind[:, i, j] & free_i & free_j
                for s, e in _rule_segments(ok, chase, fps):
                    labels[s:e, i] = _CHASE
                    partner[s:e, i] = j
        # flee is exactly "being chased"
        flee = labels == _FLEE
        labels[flee] = _EXPLORE
        partner[flee] = -1
        for i in range(n_ind):
            frames = np.flatnonzero(labels[:, i] == _CHASE)
            targets = partner[frames, i]
            labels[frames, targets] = _FLEE
            partner[frames, targets] = i
    for i in range(n_ind):
        _fix_runs(
            labels, partner, i, _FREEZE, freeze_ok[:, i], freeze, fps,
            _EXPLORE, _EXPLORE, _REST,
        )  # fmt: skip
        for s, e in _rule_segments(freeze_ok[:, i], freeze, fps):
            found.append((i, -1, "freeze", s, e))
    _absorb_short(labels, partner, max(1, round(0.2 * fps)))
    return labels, partner, found


def _events_table(found, individuals, like: xr.DataArray, fps: float) -> pd.DataFrame:
    """The definition events as a bout table (:data:`behavior.bouts.BOUT_COLUMNS`)."""
    if not found:
        return empty_bouts()
    names = np.array([*individuals, ""], dtype=object)
    found = sorted(found, key=lambda f: (f[2], f[0], f[1], f[3]))
    arr = np.array([(i, j, s, e) for i, j, _, s, e in found], dtype=np.int64)
    return bout_table(
        like,
        individual=names[arr[:, 0]],
        behavior=[f[2] for f in found],
        start_frame=arr[:, 2],
        stop_frame=arr[:, 3],
        other=names[arr[:, 1]],
        fps=fps,
    )


# --------------------------------------------------------------------------- single motifs

_MOTIFS = [
    # name, speed, turn, bend, yaw, pitch, length, oscillation (Hz, amplitude rad)
    ("pause", 0.5, 0.0, 0.0, 0.0, 0.30, 0.92, 0.0, 0.0),
    ("walk", 12.0, 0.0, 0.0, 0.0, 0.10, 1.00, 0.0, 0.0),
    ("run", 26.0, 0.0, 0.0, 0.0, 0.00, 1.12, 0.0, 0.0),
    ("turn_left", 5.0, 2.5, 0.15, 0.40, 0.15, 0.95, 0.0, 0.0),
    ("turn_right", 5.0, -2.5, -0.15, -0.40, 0.15, 0.95, 0.0, 0.0),
    ("rear", 0.0, 0.0, 0.0, 0.0, 0.20, 0.70, 0.0, 0.0),
    ("groom", 0.0, 0.0, 0.0, 0.0, 0.80, 0.82, 6.0, 0.25),
    ("sniff", 3.0, 0.0, 0.0, 0.0, 0.50, 1.04, 3.0, 0.40),
]
# stationary standard deviations of each latent around the motif mean, and the
# time constants (s) with which it is pulled there
_LATENT_SD = np.array([1.5, 0.25, 0.012, 0.05, 0.05, 0.04, 0.015])
_LATENT_TAU = np.array([0.05, 0.04, 0.035, 0.035, 0.035, 0.035, 0.035])
_MOTIF_MEAN_S = 0.4
_MOTIF_SHAPE = 6.0
_MOTIF_MIN_FRAMES = 3


def _motif_table(n_motifs: int, rng: np.random.Generator) -> list[tuple]:
    table = list(_MOTIFS[:n_motifs])
    for k in range(len(table), n_motifs):
        table.append(
            (
                f"random_{k}",
                float(rng.uniform(0, 20)),
                float(rng.uniform(-2, 2)),
                float(rng.uniform(-0.12, 0.12)),
                float(rng.uniform(-0.4, 0.4)),
                float(rng.uniform(0, 0.8)),
                float(rng.uniform(0.75, 1.1)),
                0.0,
                0.0,
            )
        )
    return table


def _ar_parameters(table: list[tuple], fps: float) -> dict[str, np.ndarray]:
    """Exact AR(1) discretisation at ``fps`` of each motif's OU process."""
    from scipy.linalg import expm, solve_continuous_lyapunov

    dt = 1.0 / fps
    n, d = len(table), len(LATENT_NAMES)
    A = np.zeros((n, d, d))
    b = np.zeros((n, d))
    Q = np.zeros((n, d, d))
    mu = np.zeros((n, d))
    for k, (_, speed, turn, bend, yaw, pitch, length, hz, amp) in enumerate(table):
        mu[k] = [speed, turn, bend, yaw, 0.0, pitch, length]
        theta = np.diag(1.0 / _LATENT_TAU)
        sd = _LATENT_SD.copy()
        if hz > 0:
            # damped rotation of (head_yaw, head_sweep): a quasi-oscillation at hz
            gamma, omega = 2.5, 2.0 * np.pi * hz
            theta[3:5, 3:5] = [[gamma, -omega], [omega, gamma]]
            sd[3] = sd[4] = amp
        # innovation covariance chosen for stationary s.d. ``sd`` (diagonal part)
        stationary = np.diag(sd**2)
        noise = theta @ stationary + stationary @ theta.T
        P = solve_continuous_lyapunov(theta, noise)
        A[k] = expm(-theta * dt)
        b[k] = (np.eye(d) - A[k]) @ mu[k]
        Q[k] = P - A[k] @ P @ A[k].T
        Q[k] = 0.5 * (Q[k] + Q[k].T) + 1e-12 * np.eye(d)
    return {"A": A, "b": b, "Q": Q, "mu": mu}


def _motif_sequence(
    n_frames, fps, trans, mean_s, shape, rng, min_frames=_MOTIF_MIN_FRAMES
) -> np.ndarray:
    """State per frame: gamma durations (``mean_s``, ``shape``), next state from ``trans``."""
    n_motifs = trans.shape[0]
    seq = np.empty(n_frames, dtype=np.int64)
    k = int(rng.integers(n_motifs))
    t = 0
    while t < n_frames:
        frames = max(min_frames, round(rng.gamma(shape, mean_s / shape) * fps))
        seq[t : t + frames] = k
        t += frames
        k = int(rng.choice(n_motifs, p=trans[k]))
    return seq


# --------------------------------------------------------------------------- tracking noise

_VISIBILITY = np.array([0.92, 0.94, 0.94, 0.93, 0.96, 0.9, 0.9, 0.93, 0.85, 0.7])


def _tracking(clean_cm, params, rng, visibility=None, outlier_confidence=(0.05, 0.6)):
    """Clean and noisy positions (px), confidence and the outlier mask, from positions in cm.

    ``visibility`` is the mean confidence of each keypoint (default
    :data:`KEYPOINTS`'); ``params["noise"]`` (default ``"gaussian"``) may be
    ``"student_t"`` with ``params["noise_df"]`` degrees of freedom (``noise_px``
    is then the scale); outliers get a confidence uniform in ``outlier_confidence``.
    """
    from scipy.signal import lfilter

    n_time, _, n_kp, n_ind = clean_cm.shape
    fps = params["fps"]
    ppc = params["px_per_cm"]
    origin = np.asarray(params["arena_origin_px"], dtype=np.float64)
    clean_px = clean_cm * ppc + origin[None, :, None, None]
    noise_px, dropout, outliers = params["noise_px"], params["dropout"], params["outliers"]

    # slowly wandering visibility (logit), lower where another animal touches a point
    e = math.exp(-1.0 / (0.5 * fps))
    q = lfilter(
        [math.sqrt(1 - e * e) * 0.6], [1.0, -e], rng.standard_normal((n_time, n_kp, n_ind)), axis=0
    )
    visibility = _VISIBILITY if visibility is None else np.asarray(visibility, dtype=np.float64)
    logit = np.log(visibility / (1 - visibility))[None, :, None] + q
    for i in range(n_ind):
        for j in range(n_ind):
            if i == j:
                continue
            other = clean_cm[:, :, :_N_BODY, j]
            for k in range(n_kp):
                d = np.sqrt(((clean_cm[:, :, k, i, None] - other) ** 2).sum(axis=1)).min(axis=1)
                logit[:, k, i] -= 2.5 * np.clip(1.0 - d / 2.5, 0.0, 1.0)
    mean = 1.0 / (1.0 + np.exp(-logit))
    kappa = 14.0
    conf = rng.beta(mean * kappa, (1 - mean) * kappa)
    conf = np.clip(conf, 1e-3, 1 - 1e-3)
    sd = noise_px * (0.5 + 5.0 * (1.0 - conf))
    if params.get("noise", "gaussian") == "student_t":
        errors = rng.standard_t(params["noise_df"], clean_px.shape)
    else:
        errors = rng.standard_normal(clean_px.shape)
    noisy = clean_px + errors * sd[:, None, :, :]

    hit = np.zeros((n_time, n_kp, n_ind), dtype=bool)
    if outliers > 0:
        hit = rng.random((n_time, n_kp, n_ind)) < outliers
        t, k, i = np.nonzero(hit)
        r = rng.uniform(15, 60, t.size)
        a = rng.uniform(0, 2 * np.pi, t.size)
        noisy[t, 0, k, i] += r * np.cos(a)
        noisy[t, 1, k, i] += r * np.sin(a)
        conf[t, k, i] = rng.uniform(*outlier_confidence, t.size)

    if dropout > 0:
        run = max(1.0, 0.2 * fps)
        weight = (1 - mean) / (1 - mean).mean()
        start_rate = dropout / (run * (1 - dropout))
        start = rng.random((n_time, n_kp, n_ind)) < np.clip(start_rate * weight, 0, 1)
        length = rng.geometric(1.0 / run, size=start.shape)
        reach = np.where(start, np.arange(n_time)[:, None, None] + length, 0)
        reach = np.maximum.accumulate(reach, axis=0)
        gone = reach > np.arange(n_time)[:, None, None]
        noisy[np.broadcast_to(gone[:, None], noisy.shape)] = np.nan
        conf[gone] *= 0.1
    return clean_px, noisy, conf, hit


def _identity_swaps(n_swaps, pos_cm, fps, rng):
    """Choose ``n_swaps`` non-overlapping swap intervals while two animals are close."""
    n_time, _, _, n_ind = pos_cm.shape
    if n_swaps == 0:
        return []
    if n_ind < 2:
        raise PoseDataError(
            f"identity_swaps: expected 0 for a session with one individual, found {n_swaps}"
        )
    pairs = [(i, j) for i in range(n_ind) for j in range(i + 1, n_ind)]
    near = np.zeros((n_time, len(pairs)), dtype=bool)
    for p, (i, j) in enumerate(pairs):
        near[:, p] = _pair_geometry(pos_cm, i, j)["closest"] < 3.0
    taken = np.zeros(n_time, dtype=bool)
    swaps = []
    for _ in range(n_swaps):
        length = max(1, round(rng.uniform(1.0, 10.0) * fps))
        length = min(length, max(1, n_time // (2 * n_swaps)))
        candidates = np.flatnonzero(near.any(axis=1) & ~taken)
        if candidates.size == 0:
            candidates = np.flatnonzero(~taken)
        if candidates.size == 0:
            break
        start = int(rng.choice(candidates))
        stop = min(n_time, start + length)
        if taken[start:stop].any():
            stop = start + int(np.argmax(taken[start:stop]))
        close = np.flatnonzero(near[start]) if near[start].any() else np.arange(len(pairs))
        i, j = pairs[int(rng.choice(close))]
        taken[start:stop] = True
        swaps.append({"start_frame": start, "stop_frame": stop, "individuals": [i, j]})
    return sorted(swaps, key=lambda s: s["start_frame"])


# --------------------------------------------------------------------------- public API


def _check_positive(value: Any, name: str, allow_zero: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PoseDataError(f"{name}: expected a number, found {value!r}") from None
    ok = number >= 0 if allow_zero else number > 0
    if not (math.isfinite(number) and ok):
        bound = "non-negative" if allow_zero else "positive"
        raise PoseDataError(f"{name}: expected a finite {bound} number, found {value!r}")
    return number


def _initial_positions(n_ind, w, h, rng):
    lo = _STEER_MARGIN + 2.0
    out = np.zeros((n_ind, 4))
    for i in range(n_ind):
        for _ in range(200):
            xy = rng.uniform([lo, lo], [w - lo, h - lo])
            if all(np.hypot(*(xy - out[k, :2])) > 15.0 for k in range(i)):
                break
        out[i] = [xy[0], xy[1], rng.uniform(-np.pi, np.pi), rng.uniform()]
    return out


def session(
    kind: str = "social",
    duration: float | str = "10 min",
    fps: float = 30,
    n_individuals: int | None = None,
    seed: int | None = 0,
    *,
    arena_cm: tuple[float, float] = (60.0, 60.0),
    px_per_cm: float = 12.0,
    arena_origin_px: tuple[float, float] = (40.0, 40.0),
    noise_px: float = 1.5,
    dropout: float = 0.01,
    outliers: float = 0.001,
    identity_swaps: int = 0,
    n_motifs: int = 8,
) -> tuple[xr.Dataset, SimulationTruth]:
    """Simulate a pose-tracked session with ground-truth behavior.

    Parameters
    ----------
    kind
        ``"social"``: mice with a behavior state machine (explore, rest, freeze,
        groom, approach, chase, flee, watch); ``"single"``: one mouse moving
        through motifs of a switching autoregressive process. See the module
        docstring.
    duration
        Seconds, or text such as ``"10 min"``.
    fps
        Frames per second; all dynamics are defined in seconds, so any rate works.
    n_individuals
        Number of mice; default 2 for ``"social"`` (1 gives no social
        behaviors), and ``"single"`` requires 1.
    seed
        Seed of every random draw: the same seed gives identical arrays. None
        draws a fresh seed (recorded in ``truth.params["seed"]``).
    arena_cm
        Width and height of the arena in cm (at least 30 each).
    px_per_cm
        Camera calibration, stored in ``ds.attrs["px_per_cm"]``.
    arena_origin_px
        Pixel position of the arena's top-left corner.
    noise_px
        Tracking error s.d. in pixels at confidence 0.9 (larger at lower
        confidence); 0 gives exact positions.
    dropout
        Fraction of keypoints missing (NaN), in runs of about 0.2 s.
    outliers
        Fraction of keypoints displaced by 15-60 px (tracking mistakes).
    identity_swaps
        Number of stretches (1-10 s) in which two tracks exchange animals.
    n_motifs
        ``kind="single"``: number of motifs (the first 8 are designed, more are
        random).

    Returns
    -------
    ds
        Pose dataset in pixels (``space_unit="pixels"``), ``source_software
        "behavior.simulate"``, with attrs ``px_per_cm``, ``arena_cm`` [w, h],
        ``arena_px`` [x0, y0, x1, y1], ``simulation_kind`` and ``seed``; the log
        records ``simulate.session``. Individuals are ``mouse_0, mouse_1, ...``,
        keypoints :data:`KEYPOINTS`.
    truth
        :class:`SimulationTruth`.

    Raises
    ------
    PoseDataError
        For an unknown kind or a parameter out of range.

    Examples
    --------
    >>> ds, truth = session(duration="20 s", seed=1)
    >>> ds.sizes["time"], [str(name) for name in ds.individual.values]
    (600, ['mouse_0', 'mouse_1'])
    >>> truth.labels.attrs["labels"][5]
    'chase'
    """
    if kind not in ("social", "single"):
        raise PoseDataError(f"kind: expected 'social' or 'single', found {kind!r}")
    fps = _check_positive(fps, "fps")
    seconds = to_seconds(duration, name="duration")
    n_frames = round(seconds * fps)
    if n_frames < 1:
        raise PoseDataError(
            f"duration: expected at least one frame at {fps:g} fps, found {duration!r}"
        )
    if n_individuals is None:
        n_individuals = 2 if kind == "social" else 1
    if isinstance(n_individuals, bool) or int(n_individuals) != n_individuals:
        raise PoseDataError(f"n_individuals: expected a whole number, found {n_individuals!r}")
    n_individuals = int(n_individuals)
    if n_individuals < 1:
        raise PoseDataError(f"n_individuals: expected at least 1, found {n_individuals}")
    if kind == "single" and n_individuals != 1:
        raise PoseDataError(
            f"n_individuals: kind='single' simulates one animal, found {n_individuals}; "
            "use kind='social' for several"
        )
    w, h = (_check_positive(v, "arena_cm") for v in np.broadcast_to(arena_cm, 2))
    if min(w, h) < 30:
        raise PoseDataError(f"arena_cm: expected at least 30 cm per side, found {arena_cm!r}")
    px_per_cm = _check_positive(px_per_cm, "px_per_cm")
    origin = np.asarray(arena_origin_px, dtype=np.float64).reshape(-1)
    if origin.shape != (2,) or not np.isfinite(origin).all():
        raise PoseDataError(
            f"arena_origin_px: expected two finite pixel coordinates (x, y), found "
            f"{arena_origin_px!r}"
        )
    noise_px = _check_positive(noise_px, "noise_px", allow_zero=True)
    for value, name in ((dropout, "dropout"), (outliers, "outliers")):
        if not 0 <= float(value) < 1:
            raise PoseDataError(f"{name}: expected a fraction in [0, 1), found {value!r}")
    if int(identity_swaps) != identity_swaps or identity_swaps < 0:
        raise PoseDataError(
            f"identity_swaps: expected a non-negative whole number, found {identity_swaps!r}"
        )
    if int(n_motifs) != n_motifs or n_motifs < 2:
        raise PoseDataError(f"n_motifs: expected a whole number >= 2, found {n_motifs!r}")
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    seed = int(seed)
    motion_ss, noise_ss, swap_ss = np.random.SeedSequence(seed).spawn(3)
    motion_rng = np.random.default_rng(motion_ss)

    params: dict[str, Any] = {
        "kind": kind,
        "seed": seed,
        "fps": fps,
        "duration_s": n_frames / fps,
        "n_individuals": n_individuals,
        "px_per_cm": px_per_cm,
        "arena_cm": [w, h],
        "arena_origin_px": origin.tolist(),
        "arena_px": [
            *origin.tolist(),
            float(origin[0] + w * px_per_cm),
            float(origin[1] + h * px_per_cm),
        ],
        "noise_px": noise_px,
        "dropout": float(dropout),
        "outliers": float(outliers),
    }
    individuals = [f"mouse_{i}" for i in range(n_individuals)]
    latent = None
    found: list[tuple[int, int, str, int, int]] = []
    if kind == "social":
        init = _initial_positions(n_individuals, w, h, motion_rng)
        normals = motion_rng.standard_normal((n_frames, n_individuals, 8))
        uniforms = motion_rng.random((n_frames, n_individuals, 6))
        pos_cm, modes, partners = _social_kernel(n_frames, fps, w, h, init, normals, uniforms)
        codes, partner, found = _finalize_social(modes, partners, pos_cm, fps)
        names = list(SOCIAL_BEHAVIORS)
        params["definitions"] = copy.deepcopy(DEFINITIONS)
    else:
        table = _motif_table(int(n_motifs), motion_rng)
        names = [f"motif_{k}" for k in range(len(table))]
        trans = motion_rng.dirichlet(np.full(len(table), 2.0), size=len(table))
        np.fill_diagonal(trans, 0.0)
        trans /= trans.sum(axis=1, keepdims=True)
        ar = _ar_parameters(table, fps)
        seq = _motif_sequence(n_frames, fps, trans, _MOTIF_MEAN_S, _MOTIF_SHAPE, motion_rng)
        L = np.linalg.cholesky(ar["Q"])
        init = np.concatenate([_initial_positions(1, w, h, motion_rng)[0, :3], ar["mu"][seq[0]]])
        normals = motion_rng.standard_normal((n_frames, len(LATENT_NAMES)))
        pos_cm, z = _single_kernel(n_frames, fps, w, h, init, seq, ar["A"], ar["b"], L, normals)
        codes = seq[:, None]
        partner = np.full((n_frames, 1), -1, dtype=np.int64)
        params.update(
            n_motifs=len(table),
            motif_names=[m[0] for m in table],
            latent_names=list(LATENT_NAMES),
            transition_matrix=trans,
            motif_means=ar["mu"],
            ar_matrices=ar["A"],
            ar_offsets=ar["b"],
            ar_noise_cov=ar["Q"],
            duration_mean_s=_MOTIF_MEAN_S,
            duration_shape=_MOTIF_SHAPE,
            duration_min_frames=_MOTIF_MIN_FRAMES,
        )
        latent = z

    swaps = _identity_swaps(int(identity_swaps), pos_cm, fps, np.random.default_rng(swap_ss))
    params["identity_swaps"] = [
        {
            "start_frame": s["start_frame"],
            "stop_frame": s["stop_frame"],
            "individuals": [individuals[k] for k in s["individuals"]],
        }
        for s in swaps
    ]
    clean_px, noisy, conf, _ = _tracking(pos_cm, params, np.random.default_rng(noise_ss))
    identity = np.tile(np.arange(n_individuals), (n_frames, 1))
    for s in swaps:
        i, j = s["individuals"]
        sl = slice(s["start_frame"], s["stop_frame"])
        noisy[sl, :, :, [i, j]] = noisy[sl, :, :, [j, i]]
        conf[sl, :, [i, j]] = conf[sl, :, [j, i]]
        identity[sl, [i, j]] = identity[sl, [j, i]]

    ds = from_numpy(
        noisy,
        conf,
        individual_names=individuals,
        keypoint_names=KEYPOINTS,
        fps=fps,
        source_software="behavior.simulate",
        space_unit="pixels",
    )
    ds.attrs.update(
        px_per_cm=px_per_cm,
        arena_cm=[w, h],
        arena_px=params["arena_px"],
        simulation_kind=kind,
        seed=seed,
    )
    ds = append_log(
        ds,
        "simulate.session",
        kind=kind,
        duration=duration,
        fps=fps,
        n_individuals=n_individuals,
        seed=seed,
        arena_cm=[w, h],
        px_per_cm=px_per_cm,
        arena_origin_px=origin.tolist(),
        noise_px=noise_px,
        dropout=dropout,
        outliers=outliers,
        identity_swaps=identity_swaps,
        n_motifs=n_motifs if kind == "single" else None,
    )

    time = ds["time"].values
    base = {"time": time, "individual": individuals}
    labels = xr.DataArray(
        codes,
        dims=("time", "individual"),
        coords=base,
        name="labels",
        attrs={"labels": names, "fps": fps, "time_unit": "seconds"},
    )
    partner_names = np.array([*individuals, ""], dtype=object)[
        np.where(partner < 0, n_individuals, partner)
    ]
    partner_da = xr.DataArray(partner_names, dims=("time", "individual"), coords=base)
    bouts = bouts_from_labels(labels, other=partner_da)
    position_clean = xr.DataArray(
        clean_px,
        dims=ds.position.dims,
        coords={k: ds.position.coords[k].values for k in ds.position.dims},
        name="position",
        attrs={"space_unit": "pixels"},
    )
    identity_da = xr.DataArray(
        np.asarray(individuals, dtype=object)[identity],
        dims=("time", "individual"),
        coords=base,
        name="identity",
    )
    latent_da = None
    if latent is not None:
        latent_da = xr.DataArray(
            latent,
            dims=("time", "latent"),
            coords={"time": time, "latent": list(LATENT_NAMES)},
            name="latent",
        )
    truth = SimulationTruth(
        labels=labels,
        bouts=bouts,
        position_clean=position_clean,
        params=params,
        partner=partner_da,
        identity=identity_da,
        latent=latent_da,
        events=_events_table(found, individuals, labels, fps),
    )
    logger.debug("simulated %s session: %d frames, %d bouts", kind, n_frames, len(bouts))
    return ds, truth


# --------------------------------------------------------------------------- keypoint AR model

# Candidate keypoints of the keypoint-AR skeleton, in the order they are taken:
# (name, forward cm, left cm, mean confidence), mouse-sized, body centre at 0.
_SKELETON = [
    ("nose", 5.0, 0.0, 0.92),
    ("tail_base", -4.5, 0.0, 0.93),
    ("neck", 2.6, 0.0, 0.93),
    ("left_ear", 3.4, 0.9, 0.94),
    ("right_ear", 3.4, -0.9, 0.94),
    ("body_center", 0.0, 0.0, 0.96),
    ("left_hip", -2.8, 1.2, 0.9),
    ("right_hip", -2.8, -1.2, 0.9),
    ("tail_mid", -8.5, 0.0, 0.85),
    ("tail_tip", -12.5, 0.0, 0.7),
    ("left_shoulder", 1.4, 1.1, 0.9),
    ("right_shoulder", 1.4, -1.1, 0.9),
    ("spine_front", 1.3, 0.0, 0.95),
    ("spine_back", -2.2, 0.0, 0.95),
    ("left_forepaw", 2.2, 1.6, 0.75),
    ("right_forepaw", 2.2, -1.6, 0.75),
    ("left_hindpaw", -2.6, 1.9, 0.75),
    ("right_hindpaw", -2.6, -1.9, 0.75),
    ("head", 4.2, 0.0, 0.93),
    ("tail_quarter", -6.5, 0.0, 0.88),
]
_KAR_ARENA_CM = 60.0
_KAR_MARGIN_CM = 13.0  # the body centre keeps this far from the walls (the tail fits in)
_KAR_SPREAD = 1.0  # s.d. of the state fixed points in the latent space
_KAR_WITHIN = 0.25  # stationary s.d. of the latent around a fixed point
_KAR_MODE_CM = 0.5  # rms displacement per coordinate of the first latent dimension
_KAR_MODE_DECAY = 0.92  # each further latent dimension moves the keypoints this much less
_KAR_DURATION_SHAPE = 6.0
_KAR_NOISE_DF = 3.0
_KAR_OUTLIER_CONFIDENCE = (0.02, 0.3)


@dataclass
class KeypointARTruth:
    """Ground truth of :func:`keypoint_ar`: the states, latents, outliers and parameters.

    Attributes
    ----------
    labels
        The state of every frame, one int64 array ``(time,)`` per session.
    latents
        The latent pose ``(time, latent_dim)`` per session.
    outliers
        Which points were displaced as outliers, bool ``(time, keypoint)`` per session.
    heading
        Direction of the body's forward axis in the arena (radians, unwrapped) per
        session, ``(time,)``.
    centroid_cm
        Position of the body centre (the origin of the egocentric pose) in cm
        from the arena's corner per session, ``(time, 2)``.
    params
        Everything that made the sessions: the arguments (``n_states``,
        ``n_lags``, ``latent_dim``, ``noise``, ``noise_px``, ``outlier_fraction``,
        ``fps``, ``seed``...), ``keypoints``, ``mean_pose_cm`` ``(2, keypoint)``
        and ``loadings_cm`` ``(2 * keypoint, latent_dim)`` (egocentric pose =
        mean + loadings @ latent, x forward), ``ar_matrices`` ``(state, lag,
        latent, latent)`` (lag 1 first), ``ar_offsets``, ``ar_noise_chol``,
        ``fixed_points``, ``ar_roots`` ``(state, latent, lag)``,
        ``transition_matrix``, ``duration_mean_frames``, ``duration_shape``,
        ``noise_df``, ``px_per_cm``, ``arena_cm``, ``arena_origin_px``.
    """

    labels: list[np.ndarray]
    latents: list[np.ndarray]
    outliers: list[np.ndarray]
    heading: list[np.ndarray] = field(default_factory=list)
    centroid_cm: list[np.ndarray] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


@numba.njit(cache=True)
def _switching_ar_kernel(states, A, b, L, normals, start):
    """Latent of a switching AR(p): ``x[t] = b[k] + sum_l A[k, l] x[t-1-l] + L[k] e[t]``.

    The first ``p`` frames hold ``start`` (the fixed point of the first state).
    """
    n, d = normals.shape
    p = A.shape[1]
    x = np.empty((n, d))
    for t in range(min(p, n)):
        x[t] = start
    for t in range(p, n):
        k = states[t]
        for r in range(d):
            acc = b[k, r]
            for lag in range(p):
                for c in range(d):
                    acc += A[k, lag, r, c] * x[t - 1 - lag, c]
            for c in range(r + 1):
                acc += L[k, r, c] * normals[t, c]
            x[t, r] = acc
    return x


@numba.njit(cache=True)
def _centroid_walk(start, lo, hi, decay, kicks, fps):
    """Centroid (cm) of an Ornstein-Uhlenbeck velocity, reflected at ``lo`` and ``hi``."""
    n = kicks.shape[0]
    out = np.empty((n, 2))
    p = start.copy()
    v = np.zeros(2)
    for t in range(n):
        for c in range(2):
            v[c] = decay * v[c] + kicks[t, c]
            p[c] += v[c] / fps
            if p[c] < lo:
                p[c] = 2 * lo - p[c]
                v[c] = -v[c]
            elif p[c] > hi:
                p[c] = 2 * hi - p[c]
                v[c] = -v[c]
            p[c] = min(max(p[c], lo), hi)
        out[t] = p
    return out


def _whole(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise PoseDataError(f"{name}: expected a whole number >= {minimum}, found {value!r}")
    if value < minimum:
        raise PoseDataError(f"{name}: expected a whole number >= {minimum}, found {value}")
    return int(value)


def _skeleton(n_keypoints: int, rng: np.random.Generator):
    """Names, egocentric mean pose ``(2, K)`` in cm (x forward) and mean confidence per point."""
    rows = list(_SKELETON[:n_keypoints])
    for j in range(n_keypoints - len(rows)):
        rows.append(
            (f"marker_{j}", float(rng.uniform(-4.0, 4.0)), float(rng.uniform(-1.2, 1.2)), 0.9)
        )
    rows.sort(key=lambda row: -row[1])  # front to back
    scale = rng.uniform(0.85, 1.15)
    pose = np.array([[row[1] for row in rows], [row[2] for row in rows]]) * scale
    pose += rng.normal(0.0, 0.15, pose.shape)
    return [row[0] for row in rows], pose, np.array([row[3] for row in rows])


def _pose_modes(pose: np.ndarray, latent_dim: int, rng: np.random.Generator) -> np.ndarray:
    """Orthonormal smooth deformation modes ``(2K, latent_dim)`` of a skeleton.

    Random combinations of polynomial displacement fields (degree <= 3 in the
    body coordinates) plus a little independent motion per point, with the
    rigid motions of the mean pose (translation, rotation) projected out, so
    that every mode survives egocentric alignment.
    """
    n_kp = pose.shape[1]
    u = pose[0] / np.abs(pose[0]).max()
    v = pose[1] / max(np.abs(pose[1]).max(), 1e-9)
    monomials = np.array([u**i * v**j for i in range(4) for j in range(4 - i)])  # (10, K)
    fields = np.concatenate(
        [
            np.concatenate(
                [rng.standard_normal((latent_dim, 10)) @ monomials, np.zeros((latent_dim, n_kp))], 1
            ),
            np.concatenate(
                [np.zeros((latent_dim, n_kp)), rng.standard_normal((latent_dim, 10)) @ monomials], 1
            ),
        ]
    )
    fields = fields[rng.permutation(2 * latent_dim)[:latent_dim]]  # (D, 2K), x then y
    fields += 0.3 * rng.standard_normal(fields.shape) * np.abs(fields).mean()
    centred = pose - pose.mean(axis=1, keepdims=True)
    rigid = np.stack(
        [
            np.concatenate([np.ones(n_kp), np.zeros(n_kp)]),
            np.concatenate([np.zeros(n_kp), np.ones(n_kp)]),
            np.concatenate([-centred[1], centred[0]]),
        ],
        axis=1,
    )
    rigid, _ = np.linalg.qr(rigid)
    fields = fields.T - rigid @ (rigid.T @ fields.T)
    modes, r = np.linalg.qr(fields)
    return modes * np.sign(np.diag(r))


def _ar_roots(n_lags: int, rng: np.random.Generator) -> np.ndarray:
    """Roots (inside the unit circle) of one scalar AR(n_lags): a real one, complex pairs."""
    roots: list[complex] = []
    if n_lags % 2:
        roots.append(rng.uniform(0.8, 0.95) if n_lags == 1 else rng.uniform(0.4, 0.9))
    for _ in range(n_lags // 2):
        modulus, angle = rng.uniform(0.8, 0.95), rng.uniform(0.05, 0.5)
        roots += [modulus * np.exp(1j * angle), modulus * np.exp(-1j * angle)]
    return np.array(roots)


def _ar_states(n_states: int, n_lags: int, dim: int, rng: np.random.Generator) -> dict:
    """Stable AR(n_lags) dynamics per state, each with its own fixed point and eigenbasis.

    In a random, nearly orthogonal basis ``V`` each coordinate is a scalar
    AR(n_lags) with its own roots, its innovation scaled for a stationary s.d.
    of ``_KAR_WITHIN``; the fixed points are drawn with s.d. ``_KAR_SPREAD``.
    """
    A = np.zeros((n_states, n_lags, dim, dim))
    b = np.zeros((n_states, dim))
    L = np.zeros((n_states, dim, dim))
    mu = rng.standard_normal((n_states, dim)) * _KAR_SPREAD
    roots = np.zeros((n_states, dim, n_lags), dtype=complex)
    for k in range(n_states):
        q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        basis = q @ (np.eye(dim) + 0.2 * rng.standard_normal((dim, dim)) / np.sqrt(dim))
        inverse = np.linalg.inv(basis)
        coef = np.zeros((dim, n_lags))
        sd = np.zeros(dim)
        for j in range(dim):
            roots[k, j] = _ar_roots(n_lags, rng)
            coef[j] = -np.real(np.poly(roots[k, j]))[1:]
            psi = np.zeros(4000)  # impulse response -> stationary variance per unit innovation
            psi[0] = 1.0
            for t in range(1, psi.size):
                lags = min(t, n_lags)
                psi[t] = coef[j, :lags] @ psi[t - lags : t][::-1]
            sd[j] = _KAR_WITHIN / np.sqrt((psi**2).sum())
        for lag in range(n_lags):
            A[k, lag] = basis @ np.diag(coef[:, lag]) @ inverse
        b[k] = (np.eye(dim) - A[k].sum(axis=0)) @ mu[k]
        L[k] = np.linalg.cholesky((basis * sd**2) @ basis.T + 1e-12 * np.eye(dim))
    return {"A": A, "b": b, "L": L, "mu": mu, "roots": roots}


def keypoint_ar(
    n_states: int = 8,
    n_lags: int = 1,
    latent_dim: int = 6,
    n_keypoints: int = 10,
    mean_duration: float | str = "0.4 s",
    noise_px: float = 1.5,
    noise: str = "gaussian",
    outlier_fraction: float = 0.01,
    n_sessions: int = 3,
    duration: float | str = "10 min",
    fps: float = 30,
    seed: int | None = None,
) -> tuple[list[xr.Dataset], KeypointARTruth]:
    """Sessions drawn from keypoint-MoSeq's generative model, with the true states.

    One draw of the model (states, dynamics, skeleton) gives ``n_sessions``
    sessions of one animal. Each state ``k`` is a stable AR(``n_lags``) process
    in a ``latent_dim``-dimensional pose space with its own fixed point and
    dynamics (damped oscillations for ``n_lags >= 2``). States last a gamma
    distributed number of frames (shape 6, mean ``mean_duration``) and the next
    state is drawn from a transition matrix without self-transitions (Dirichlet
    rows). The latent maps linearly to an egocentric pose of ``n_keypoints``
    points of a mouse-sized body (nose, tail base, neck, ears, hips... in that
    order of choice, scaled and jittered per draw), through smooth deformation
    modes of decreasing size (its own principal axes, each 8 % smaller than the
    one before, so that a PCA to 90 % of the variance keeps most of them; rigid
    motions excluded).
    A heading random walk turns the pose and a centroid with an
    Ornstein-Uhlenbeck velocity (about 4 cm/s) moves it inside a 60 cm arena;
    the points then get tracking noise in pixels (12 px/cm), larger where the
    per-point confidence is lower, and outliers: a fraction of points displaced
    15-60 px with confidence 0.02-0.3.

    Parameters
    ----------
    n_states
        Number of states (at least 2).
    n_lags
        Order of the AR dynamics (at least 1).
    latent_dim
        Dimension of the latent pose space: 1 to ``2 * n_keypoints - 3``.
    n_keypoints
        Number of keypoints (at least 3; the first 20 are named body parts,
        more are ``marker_0 ...`` on the trunk).
    mean_duration
        Mean state duration, seconds or text (``"0.4 s"``); at least one frame.
    noise_px
        Tracking error in pixels at confidence 0.9 (the s.d. for Gaussian noise,
        the scale for Student-t noise); 0 gives exact positions.
    noise
        ``"gaussian"`` or ``"student_t"`` (3 degrees of freedom).
    outlier_fraction
        Fraction of points displaced as outliers, in ``[0, 1)``.
    n_sessions
        Number of sessions (at least 1).
    duration
        Length of each session, seconds or text (``"10 min"``).
    fps
        Frames per second (the dynamics are defined per frame).
    seed
        Seed of every draw: the same seed gives identical sessions. Session
        ``i`` does not depend on ``n_sessions``. None draws a fresh seed
        (recorded in ``truth.params["seed"]``).

    Returns
    -------
    sessions
        Pose datasets in pixels, one individual (``mouse_0``), ``px_per_cm``
        in the attrs, ``source_software`` ``"behavior.simulate"``; the log
        records ``simulate.keypoint_ar``.
    truth
        :class:`KeypointARTruth`: states, latents and outliers per session and
        the parameters of the draw.

    Raises
    ------
    PoseDataError
        Naming the argument that is out of range.

    Examples
    --------
    >>> sessions, truth = keypoint_ar(n_states=4, n_sessions=2, duration="20 s", seed=0)
    >>> len(sessions), sessions[0].sizes["time"], sessions[0].sizes["keypoint"]
    (2, 600, 10)
    >>> truth.labels[0].shape, truth.params["ar_matrices"].shape
    ((600,), (4, 1, 6, 6))
    """
    n_states = _whole(n_states, "n_states", 2)
    n_lags = _whole(n_lags, "n_lags", 1)
    n_keypoints = _whole(n_keypoints, "n_keypoints", 3)
    latent_dim = _whole(latent_dim, "latent_dim", 1)
    if latent_dim > 2 * n_keypoints - 3:
        raise PoseDataError(
            f"latent_dim: expected at most 2 * n_keypoints - 3 = {2 * n_keypoints - 3} (the "
            f"pose dimensions left after egocentric alignment), found {latent_dim}"
        )
    n_sessions = _whole(n_sessions, "n_sessions", 1)
    fps = _check_positive(fps, "fps")
    mean_frames = to_seconds(mean_duration, name="mean_duration") * fps
    if not mean_frames >= 1:
        raise PoseDataError(
            f"mean_duration: expected at least one frame at {fps:g} fps, found {mean_duration!r}"
        )
    n_frames = round(to_seconds(duration, name="duration") * fps)
    if n_frames <= n_lags:
        raise PoseDataError(
            f"duration: expected more than n_lags = {n_lags} frames at {fps:g} fps, found "
            f"{duration!r} ({n_frames} frames)"
        )
    noise_px = _check_positive(noise_px, "noise_px", allow_zero=True)
    if noise not in ("gaussian", "student_t"):
        raise PoseDataError(f"noise: expected 'gaussian' or 'student_t', found {noise!r}")
    fraction = _check_positive(outlier_fraction, "outlier_fraction", allow_zero=True)
    if fraction >= 1:
        raise PoseDataError(
            f"outlier_fraction: expected a fraction in [0, 1), found {outlier_fraction!r}"
        )
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    elif isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise PoseDataError(f"seed: expected a whole number or None, found {seed!r}")
    seed = int(seed)

    draw_ss, *session_ss = np.random.SeedSequence(seed).spawn(1 + n_sessions)
    rng = np.random.default_rng(draw_ss)
    names, mean_pose, visibility = _skeleton(n_keypoints, rng)
    modes = _pose_modes(mean_pose, latent_dim, rng)
    size = _KAR_MODE_CM * np.sqrt(2 * n_keypoints) * _KAR_MODE_DECAY ** np.arange(latent_dim)
    loadings = modes * size  # (2K, D) cm per latent unit
    ar = _ar_states(n_states, n_lags, latent_dim, rng)
    trans = rng.dirichlet(np.full(n_states, 2.0), size=n_states)
    np.fill_diagonal(trans, 0.0)
    trans /= trans.sum(axis=1, keepdims=True)
    px_per_cm, origin = 12.0, (40.0, 40.0)
    params: dict[str, Any] = {
        "kind": "keypoint_ar",
        "seed": seed,
        "n_states": n_states,
        "n_lags": n_lags,
        "latent_dim": latent_dim,
        "n_keypoints": n_keypoints,
        "keypoints": names,
        "n_sessions": n_sessions,
        "fps": fps,
        "duration_s": n_frames / fps,
        "duration_mean_frames": mean_frames,
        "duration_shape": _KAR_DURATION_SHAPE,
        "noise": noise,
        "noise_df": _KAR_NOISE_DF,
        "noise_px": noise_px,
        "outlier_fraction": fraction,
        "outliers": fraction,
        "dropout": 0.0,
        "px_per_cm": px_per_cm,
        "arena_cm": [_KAR_ARENA_CM, _KAR_ARENA_CM],
        "arena_origin_px": list(origin),
        "mean_pose_cm": mean_pose,
        "loadings_cm": loadings,
        "ar_matrices": ar["A"],
        "ar_offsets": ar["b"],
        "ar_noise_chol": ar["L"],
        "fixed_points": ar["mu"],
        "ar_roots": ar["roots"],
        "transition_matrix": trans,
    }
    sessions, labels, latents, outliers, headings, centroids = [], [], [], [], [], []
    for ss in session_ss:
        motion_ss, noise_ss = ss.spawn(2)
        rng = np.random.default_rng(motion_ss)
        states = _motif_sequence(
            n_frames, 1.0, trans, mean_frames, _KAR_DURATION_SHAPE, rng, min_frames=1
        )
        normals = rng.standard_normal((n_frames, latent_dim))
        x = _switching_ar_kernel(states, ar["A"], ar["b"], ar["L"], normals, ar["mu"][states[0]])
        ego = (mean_pose.reshape(-1) + x @ loadings.T).reshape(n_frames, 2, n_keypoints)
        heading = rng.uniform(0, 2 * np.pi) + np.cumsum(
            rng.normal(0.0, 0.05 * math.sqrt(30.0 / fps), n_frames)
        )
        decay = math.exp(-1.0 / (0.3 * fps))  # velocity time constant 0.3 s, s.d. 4 cm/s
        kicks = rng.normal(0.0, 4.0 * math.sqrt(1 - decay**2), (n_frames, 2))
        lo, hi = _KAR_MARGIN_CM, _KAR_ARENA_CM - _KAR_MARGIN_CM
        centre = _centroid_walk(rng.uniform(lo, hi, 2), lo, hi, decay, kicks, fps)
        cos, sin = np.cos(heading)[:, None], np.sin(heading)[:, None]
        arena = np.empty_like(ego)
        arena[:, 0] = cos * ego[:, 0] - sin * ego[:, 1] + centre[:, :1]
        arena[:, 1] = sin * ego[:, 0] + cos * ego[:, 1] + centre[:, 1:]
        _, noisy, conf, hit = _tracking(
            arena[..., None],
            params,
            np.random.default_rng(noise_ss),
            visibility=visibility,
            outlier_confidence=_KAR_OUTLIER_CONFIDENCE,
        )
        ds = from_numpy(
            noisy,
            conf,
            individual_names=["mouse_0"],
            keypoint_names=names,
            fps=fps,
            source_software="behavior.simulate",
            space_unit="pixels",
        )
        ds.attrs.update(
            px_per_cm=px_per_cm,
            arena_cm=[_KAR_ARENA_CM, _KAR_ARENA_CM],
            simulation_kind="keypoint_ar",
            seed=seed,
        )
        sessions.append(
            append_log(
                ds,
                "simulate.keypoint_ar",
                n_states=n_states,
                n_lags=n_lags,
                latent_dim=latent_dim,
                n_keypoints=n_keypoints,
                mean_duration=str(mean_duration),
                noise_px=noise_px,
                noise=noise,
                outlier_fraction=fraction,
                n_sessions=n_sessions,
                duration=str(duration),
                fps=fps,
                seed=seed,
            )
        )
        labels.append(states)
        latents.append(x)
        outliers.append(hit[:, :, 0])
        headings.append(heading)
        centroids.append(centre)
    truth = KeypointARTruth(
        labels=labels,
        latents=latents,
        outliers=outliers,
        heading=headings,
        centroid_cm=centroids,
        params=params,
    )
    return sessions, truth


_FAMILY_STATES = (4, 8, 16)
_FAMILY_LAGS = (1, 2, 3)


def keypoint_ar_family(n_draws: int = 12, seed: int = 0) -> list[dict[str, Any]]:
    """Arguments of :func:`keypoint_ar` for a family of different generative models.

    Every draw takes its number of states from {4, 8, 16} and its AR order from
    {1, 2, 3} (each value equally often, in a random order, so that any three
    or more draws cover all of them), a mean state duration of 6-30 frames, a
    latent dimension of 4-12, 6-20 keypoints (at least ``(latent_dim + 3) / 2``),
    tracking noise of 0.5-3 px, Gaussian or Student-t, 0-3 % outliers, and 2-4
    sessions of 10-20 minutes at 30 fps; and its own seed.

    Parameters
    ----------
    n_draws
        Number of draws (at least 1).
    seed
        Seed of the family: the same seed gives the same list.

    Returns
    -------
    list of dict
        Keyword arguments of :func:`keypoint_ar`, ``mean_duration`` in seconds.

    Raises
    ------
    PoseDataError
        For a bad ``n_draws`` or ``seed``.

    Examples
    --------
    >>> family = keypoint_ar_family(n_draws=3, seed=0)
    >>> sorted(draw["n_states"] for draw in family), sorted(draw["n_lags"] for draw in family)
    ([4, 8, 16], [1, 2, 3])
    >>> sessions, truth = keypoint_ar(**{**family[0], "duration": "5 s"})  # doctest: +SKIP
    """
    n_draws = _whole(n_draws, "n_draws", 1)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise PoseDataError(f"seed: expected a whole number, found {seed!r}")
    rng = np.random.default_rng(int(seed))
    states = rng.permutation(np.resize(_FAMILY_STATES, n_draws))
    lags = rng.permutation(np.resize(_FAMILY_LAGS, n_draws))
    fps = 30
    draws = []
    for i in range(n_draws):
        latent_dim = int(rng.integers(4, 13))
        draws.append(
            {
                "n_states": int(states[i]),
                "n_lags": int(lags[i]),
                "latent_dim": latent_dim,
                "n_keypoints": int(rng.integers(max(6, math.ceil((latent_dim + 3) / 2)), 21)),
                "mean_duration": int(rng.integers(6, 31)) / fps,
                "noise_px": round(float(rng.uniform(0.5, 3.0)), 2),
                "noise": str(rng.choice(["gaussian", "student_t"])),
                "outlier_fraction": round(float(rng.uniform(0.0, 0.03)), 4),
                "n_sessions": int(rng.integers(2, 5)),
                "duration": f"{int(rng.integers(10, 21))} min",
                "fps": fps,
                "seed": int(rng.integers(2**31)),
            }
        )
    return draws


# --------------------------------------------------------------------------------------
# neurons recorded alongside a simulated session
# --------------------------------------------------------------------------------------

NEURAL_VARIABLES = ("speed", "heading", "chase", "behavior", "none")
"""What a neuron of :func:`neural_population` may encode: the animal's speed, its
heading, being in a chase (chasing or fleeing), one behavior label, or nothing."""


@dataclass
class NeuralRecording:
    """Neurons recorded alongside a video, on the recording's own clock.

    Attributes
    ----------
    spike_times
        One sorted float64 array of spike times (seconds, recording clock) per
        neuron, in the order of ``neurons``.
    calcium
        Calcium-like fluorescence (dF/F) over ``(time, neuron)``, sampled at
        ``attrs["fps"]`` on the recording clock: the spikes filtered by a
        decaying exponential plus Gaussian noise.
    camera_pulses
        Sync-pulse times as the video sees them (the frame in which the LED is
        first lit, camera clock), a few dropped.
    recording_pulses
        The same pulses as the recording system stamps them (recording clock,
        with 0.1 ms jitter), a few dropped.
    neurons
        Neuron names, ``n00``, ``n01``, ...
    """

    spike_times: list[np.ndarray]
    calcium: xr.DataArray
    camera_pulses: np.ndarray
    recording_pulses: np.ndarray
    neurons: list[str]


@dataclass
class NeuralTruth:
    """What made a :class:`NeuralRecording`.

    Attributes
    ----------
    encodes
        Per neuron, the variable it is tuned to (:data:`NEURAL_VARIABLES`).
    tuning
        One row per neuron: ``neuron``, ``encodes``, ``baseline_hz``, ``gain``
        and ``preferred`` (heading in radians, or the behavior name; NaN / ""
        where it does not apply).
    variables
        The variables per video frame (camera clock), from the noise-free
        positions and the true labels: ``speed`` (cm/s of the body centre),
        ``heading`` (radians, direction tail base -> neck, image axes),
        ``chase`` (1.0 while the animal chases or flees) and ``behavior`` (int
        code of :attr:`SimulationTruth.labels`, names in its ``labels`` attr).
    rates
        The firing rate (Hz) of every neuron over ``(time, neuron)`` per video
        frame, camera clock: what a perfect decoder would see.
    offset, slope
        The clocks: ``recording = offset + slope * camera``.
    dropped_camera, dropped_recording
        Indices (into the true pulse train) of the pulses each side missed.
    individual
        The animal whose brain is recorded.
    """

    encodes: list[str]
    tuning: pd.DataFrame
    variables: xr.Dataset
    rates: xr.DataArray
    offset: float
    slope: float
    dropped_camera: np.ndarray
    dropped_recording: np.ndarray
    individual: str


def _neuron_variables(ds: xr.Dataset, truth: SimulationTruth, individual: str) -> xr.Dataset:
    """speed, heading, chase and behavior code of one animal per frame, from the truth."""
    clean = truth.position_clean.sel(individual=individual)
    fps = float(truth.params["fps"])
    px_per_cm = float(truth.params["px_per_cm"])
    centre = clean.sel(keypoint="body_center").transpose("time", "space").values
    speed = _gradient_speed(centre, fps) / px_per_cm
    axis = (clean.sel(keypoint="neck") - clean.sel(keypoint="tail_base")).transpose("time", "space")
    heading = np.arctan2(axis.values[:, 1], axis.values[:, 0])
    codes = truth.labels.sel(individual=individual).values.astype(np.int64)
    names = list(truth.labels.attrs["labels"])
    chasing = [names.index(b) for b in ("chase", "flee") if b in names]
    chase = np.isin(codes, chasing).astype(np.float64)
    behavior = xr.DataArray(codes, dims="time", attrs={"labels": names})
    return xr.Dataset(
        {
            "speed": ("time", speed, {"units": "cm/s"}),
            "heading": ("time", heading, {"units": "rad"}),
            "chase": ("time", chase),
            "behavior": behavior,
        },
        coords={"time": ds["time"].values},
        attrs={"fps": fps, "time_unit": "seconds", "individual": individual},
    )


def neural_population(
    ds: xr.Dataset,
    truth: SimulationTruth,
    *,
    individual: str | None = None,
    n_neurons: dict[str, int] | None = None,
    offset: float = 3.2,
    drift_ppm: float = 50.0,
    pulse_interval: float = 1.0,
    n_dropped: tuple[int, int] = (3, 1),
    calcium_fps: float = 20.0,
    calcium_tau: float = 0.4,
    calcium_noise: float = 0.05,
    seed: int | None = 0,
) -> tuple[NeuralRecording, NeuralTruth]:
    """Neurons tuned to speed, heading, chase and behavior, recorded on their own clock.

    Each neuron is an inhomogeneous Poisson process whose rate follows one
    variable of the animal (see :class:`NeuralTruth` for the variables, taken
    from the noise-free positions and the true labels of ``truth``):

    - ``speed``: ``baseline * exp(gain * z)``, ``z`` the z-scored speed, gain 0.4-0.8;
    - ``heading``: von Mises, ``baseline * exp(kappa * (cos(heading - preferred) - 1))``
      times 3, ``kappa`` 1-2, preferred headings spread around the circle;
    - ``chase``: ``baseline * (1 + gain * chase)``, gain 3-6;
    - ``behavior``: ``baseline * exp(gain * [behavior == preferred])``, gain
      1-1.5, the preferred behaviors cycling through the ones the animal shows
      for at least 5 % of the session (``chase`` and ``flee`` left to the chase
      neurons);
    - ``none``: ``baseline``, constant;

    baselines 4-12 Hz. Spikes fall uniformly within each video frame and are
    stamped by the recording clock ``recording = offset + slope * camera``,
    ``slope = 1 + drift_ppm * 1e-6``. Sync pulses come every ``pulse_interval``
    seconds on average (intervals drawn uniformly between 0.5 and 1.5 times
    it, so that their phases against the frames vary); the camera sees each in the first frame that
    starts after it (up to one frame late), the recording stamps it with 0.1 ms
    jitter; ``n_dropped`` pulses are missing on (camera, recording) side.
    Calcium traces are sampled at ``calcium_fps`` on the recording clock.

    Parameters
    ----------
    ds, truth
        A session of :func:`session` (``kind="social"`` gives chases; with
        ``"single"`` the chase neurons see none).
    individual
        The recorded animal (default the first).
    n_neurons
        Neurons per variable of :data:`NEURAL_VARIABLES`; default 12 each.
    offset, drift_ppm
        The recording clock: seconds at camera time 0, and drift in parts per million.
    pulse_interval
        Mean seconds between sync pulses.
    n_dropped
        Pulses missed by the camera and by the recording.
    calcium_fps, calcium_tau, calcium_noise
        Imaging rate, decay time (s) and noise s.d. of the calcium traces.
    seed
        Seed of every random draw.

    Returns
    -------
    recording
        :class:`NeuralRecording`.
    truth
        :class:`NeuralTruth`.

    Raises
    ------
    PoseDataError
        For an unknown individual or variable, or a parameter out of range.

    Examples
    --------
    >>> ds, truth = session(duration="20 s", seed=1)
    >>> rec, neurons = neural_population(ds, truth, n_neurons={"speed": 3, "none": 2})
    >>> neurons.encodes
    ['speed', 'speed', 'speed', 'none', 'none']
    >>> rec.calcium.dims, len(rec.spike_times)
    (('time', 'neuron'), 5)
    """
    import scipy.signal

    rng = np.random.default_rng(seed)
    names_i = [str(i) for i in ds["individual"].values]
    individual = names_i[0] if individual is None else str(individual)
    if individual not in names_i:
        raise PoseDataError(f"individual: expected one of {names_i}, found {individual!r}")
    counts = dict.fromkeys(NEURAL_VARIABLES, 12) if n_neurons is None else dict(n_neurons)
    unknown = sorted(set(counts) - set(NEURAL_VARIABLES))
    if unknown:
        raise PoseDataError(
            f"n_neurons: expected keys among {list(NEURAL_VARIABLES)}, found {unknown}"
        )
    for key, n in counts.items():
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise PoseDataError(f"n_neurons[{key!r}]: expected a whole number >= 0, found {n!r}")
    pulse_interval = _check_positive(pulse_interval, "pulse_interval")
    calcium_fps = _check_positive(calcium_fps, "calcium_fps")
    calcium_tau = _check_positive(calcium_tau, "calcium_tau")
    calcium_noise = _check_positive(calcium_noise, "calcium_noise", allow_zero=True)
    slope = 1.0 + float(drift_ppm) * 1e-6
    if slope <= 0:
        raise PoseDataError(f"drift_ppm: expected more than -1e6, found {drift_ppm!r}")

    variables = _neuron_variables(ds, truth, individual)
    fps = float(variables.attrs["fps"])
    speed = variables["speed"].values
    z = (speed - speed.mean()) / (speed.std() or 1.0)
    heading = variables["heading"].values
    chase = variables["chase"].values
    codes = variables["behavior"].values
    labels = list(variables["behavior"].attrs["labels"])
    common = [
        k
        for k, name in enumerate(labels)
        if name not in ("chase", "flee") and (codes == k).mean() >= 0.05
    ] or [int(np.bincount(codes[codes >= 0]).argmax())]

    rows, rates = [], []
    for variable in NEURAL_VARIABLES:
        n = int(counts.get(variable, 0))
        phase = rng.uniform(0, 2 * np.pi)
        for k in range(n):
            baseline = rng.uniform(4.0, 12.0)
            preferred: Any = np.nan
            if variable == "speed":
                gain = rng.uniform(0.4, 0.8)
                rate = baseline * np.exp(gain * z)
            elif variable == "heading":
                gain = rng.uniform(1.0, 2.0)
                preferred = float((phase + 2 * np.pi * k / n) % (2 * np.pi) - np.pi)
                rate = 3 * baseline * np.exp(gain * (np.cos(heading - preferred) - 1))
            elif variable == "chase":
                gain = rng.uniform(3.0, 6.0)
                rate = baseline * (1 + gain * chase)
            elif variable == "behavior":
                gain = rng.uniform(1.0, 1.5)
                code = common[k % len(common)]
                preferred = labels[code]
                rate = baseline * np.exp(gain * (codes == code))
            else:
                gain = 0.0
                rate = np.full(speed.shape, baseline)
            rows.append((f"n{len(rows):02d}", variable, baseline, gain, preferred))
            rates.append(rate)
    tuning = pd.DataFrame(rows, columns=["neuron", "encodes", "baseline_hz", "gain", "preferred"])
    neurons = tuning["neuron"].tolist()
    camera_time = np.asarray(ds["time"].values, dtype=np.float64)
    rate_matrix = np.stack(rates, axis=1) if rates else np.zeros((camera_time.size, 0))

    spike_times = []
    for k in range(rate_matrix.shape[1]):
        n_spikes = rng.poisson(rate_matrix[:, k] / fps)
        t = np.repeat(camera_time, n_spikes) + rng.uniform(0, 1 / fps, int(n_spikes.sum()))
        spike_times.append(np.sort(offset + slope * t))

    start = offset + slope * camera_time[0]
    stop = offset + slope * (camera_time[-1] + 1 / fps)
    frames = np.arange(start, stop, 1 / calcium_fps)
    decay = math.exp(-1 / (calcium_fps * calcium_tau))
    edges = np.append(frames, frames[-1] + 1 / calcium_fps) if frames.size else frames
    trace = np.zeros((frames.size, len(spike_times)))
    for k, times in enumerate(spike_times):
        if frames.size:  # a first-order filter: each spike adds 0.1 dF/F, decaying
            hits = np.histogram(times, edges)[0].astype(np.float64)
            trace[:, k] = scipy.signal.lfilter([0.1], [1.0, -decay], hits)
    trace += rng.normal(0, calcium_noise, trace.shape) if calcium_noise else 0.0
    calcium = xr.DataArray(
        trace,
        dims=("time", "neuron"),
        coords={"time": frames, "neuron": neurons},
        attrs={"fps": calcium_fps, "time_unit": "seconds", "units": "dF/F"},
    )

    steps = rng.uniform(0.5, 1.5, int((camera_time[-1] - camera_time[0]) / pulse_interval) * 2 + 2)
    pulses = camera_time[0] + np.cumsum(steps * pulse_interval)
    pulses = pulses[pulses < camera_time[-1]]
    seen = np.ceil((pulses - camera_time[0]) * fps - 1e-9) / fps + camera_time[0]
    stamped = offset + slope * pulses + rng.normal(0, 1e-4, pulses.size)
    n_cam, n_rec = (int(n) for n in n_dropped)
    if min(n_cam, n_rec) < 0 or max(n_cam, n_rec) > pulses.size // 4:
        raise PoseDataError(
            f"n_dropped: expected whole numbers from 0 to a quarter of the {pulses.size} "
            f"pulses, found {n_dropped!r}"
        )
    inner = np.arange(1, max(1, pulses.size - 1))
    dropped_camera = np.sort(rng.choice(inner, n_cam, replace=False))
    dropped_recording = np.sort(rng.choice(np.setdiff1d(inner, dropped_camera), n_rec, False))
    recording = NeuralRecording(
        spike_times=spike_times,
        calcium=calcium,
        camera_pulses=np.delete(seen, dropped_camera),
        recording_pulses=np.delete(stamped, dropped_recording),
        neurons=neurons,
    )
    neural_truth = NeuralTruth(
        encodes=tuning["encodes"].tolist(),
        tuning=tuning,
        variables=variables,
        rates=xr.DataArray(
            rate_matrix,
            dims=("time", "neuron"),
            coords={"time": camera_time, "neuron": neurons},
            attrs={"fps": fps, "time_unit": "seconds", "units": "Hz"},
        ),
        offset=float(offset),
        slope=slope,
        dropped_camera=dropped_camera,
        dropped_recording=dropped_recording,
        individual=individual,
    )
    return recording, neural_truth
