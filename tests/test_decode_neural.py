"""The worked example of issue 18 and the neurons of bh.simulate.neural_population.

A two-animal session, neurons of one animal tuned to its speed, heading, chases and
behavior, recorded on their own clock: recover the clock, put behavior in 50 ms bins
of the recording, decode each variable from the neurons tuned to it, cross-validated
over contiguous time blocks, against a time-shifted control and untuned neurons.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import xarray as xr
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import behavior as bh
from behavior.decode import LaggedFeatures, align, fit_clock, to_recording_clock
from behavior.errors import PoseDataError
from behavior.simulate import NEURAL_VARIABLES, neural_population

BIN = 0.05


@pytest.fixture(scope="module")
def recorded():
    ds, truth = bh.simulate.session(duration="5 min", seed=0)
    recording, neurons = neural_population(ds, truth, seed=1)
    return ds, truth, recording, neurons


# ------------------------------------------------------------------ the simulator


def test_rates_follow_the_tuning_each_neuron_declares(recorded):
    _, truth, _, neurons = recorded
    assert neurons.encodes == [v for v in NEURAL_VARIABLES for _ in range(12)]
    rates = neurons.rates.values
    v = neurons.variables
    labels = list(truth.labels.attrs["labels"])
    codes = truth.labels.sel(individual=neurons.individual).values
    np.testing.assert_array_equal(v["behavior"].values, codes)
    chase = np.isin(codes, [labels.index("chase"), labels.index("flee")])
    np.testing.assert_array_equal(v["chase"].values, chase)
    for k, row in neurons.tuning.iterrows():
        r = rates[:, k]
        if row.encodes == "speed":  # monotonic in speed
            assert scipy.stats.spearmanr(r, v["speed"].values).statistic > 0.999
        elif row.encodes == "heading":  # peaks at the preferred heading
            peak = v["heading"].values[np.argmax(r)]
            assert abs(np.angle(np.exp(1j * (peak - row.preferred)))) < 0.05
        elif row.encodes == "chase":
            assert r[chase].min() > r[~chase].max()
        elif row.encodes == "behavior":
            mine = codes == labels.index(row.preferred)
            assert mine.mean() >= 0.05 and r[mine].min() > r[~mine].max()
        else:
            assert np.all(r == row.baseline_hz)


def test_spikes_are_poisson_and_stamped_by_the_recording_clock(recorded):
    ds, _, recording, neurons = recorded
    fps = ds.attrs["fps"]
    camera = ds.time.values
    start = neurons.offset + neurons.slope * camera[0]
    stop = neurons.offset + neurons.slope * (camera[-1] + 1 / fps)
    expected = neurons.rates.values.sum(axis=0) / fps
    for k, times in enumerate(recording.spike_times):
        assert np.all(np.diff(times) >= 0) and times[0] >= start and times[-1] <= stop
        assert abs(times.size - expected[k]) < 5 * np.sqrt(expected[k])
    # calcium follows the spikes, on its own sampling of the recording clock
    calcium = recording.calcium
    assert calcium.dims == ("time", "neuron") and calcium.attrs["fps"] == 20.0
    edges = np.append(calcium.time.values, calcium.time.values[-1] + 1 / 20)
    counts = np.histogram(recording.spike_times[0], edges)[0]
    smooth = np.convolve(counts, np.exp(-np.arange(40) / 8.0))[: counts.size]
    assert np.corrcoef(smooth, calcium.values[:, 0])[0, 1] > 0.8
    # the same seed gives the same recording
    short = bh.simulate.session(duration="5 s", seed=0)
    again, _ = neural_population(*short, n_dropped=(0, 0), seed=4)
    twice, _ = neural_population(*short, n_dropped=(0, 0), seed=4)
    for a, b in zip(again.spike_times, twice.spike_times, strict=True):
        np.testing.assert_array_equal(a, b)


def test_sync_pulses_recover_the_clock_within_a_frame(recorded):
    ds, _, recording, neurons = recorded
    fps = ds.attrs["fps"]
    assert neurons.dropped_camera.size == 3 and neurons.dropped_recording.size == 1
    clock = fit_clock(recording.camera_pulses, recording.recording_pulses)
    assert clock.n_unmatched_recording == 3 and clock.n_unmatched_camera == 1
    camera = ds.time.values
    error = np.abs(clock.apply(camera) - (neurons.offset + neurons.slope * camera))
    assert error.max() < 1 / fps
    assert abs(clock.drift_ppm - 50.0) < 5.0


def test_neural_population_refuses_bad_arguments():
    ds, truth = bh.simulate.session(duration="5 s", seed=0)
    with pytest.raises(PoseDataError, match="^individual"):
        neural_population(ds, truth, individual="rat")
    with pytest.raises(PoseDataError, match=r"^n_neurons: .*\['place'\]"):
        neural_population(ds, truth, n_neurons={"place": 3})
    with pytest.raises(PoseDataError, match="^n_neurons\\['speed'\\]"):
        neural_population(ds, truth, n_neurons={"speed": -1})
    with pytest.raises(PoseDataError, match="^n_dropped"):
        neural_population(ds, truth, n_dropped=(10, 0))


# ------------------------------------------------------------------ the worked example


def _model(classify: bool):
    last = (
        RidgeClassifierCV(np.logspace(-2, 4, 13), class_weight="balanced")
        if classify
        else RidgeCV(np.logspace(-2, 4, 13))
    )
    return make_pipeline(LaggedFeatures(range(-2, 3), fill_value=0.0), StandardScaler(), last)


def decode_score(variable: str, X: np.ndarray, y: np.ndarray, shift: int = 0) -> float:
    """Cross-validated (5 contiguous time blocks) score of decoding ``y`` from ``X``:
    R^2 (speed; heading as cos and sin, averaged), ROC AUC (chase), balanced
    accuracy (behavior). ``shift`` rolls ``y`` in time: the control."""
    y = np.roll(y, shift, axis=0)
    groups = np.arange(len(y)) * 5 // len(y)
    cv = GroupKFold(5)
    if variable in ("speed", "heading"):
        p = cross_val_predict(_model(False), X, y, groups=groups, cv=cv)
        return float(np.mean(r2_score(y, p, multioutput="raw_values")))
    if variable == "chase":
        yy = (y > 0.5).astype(int)
        p = cross_val_predict(_model(True), X, yy, groups=groups, cv=cv, method="decision_function")
        return float(roc_auc_score(yy, p))
    p = cross_val_predict(_model(True), X, y, groups=groups, cv=cv)
    return float(balanced_accuracy_score(y, p))


def test_worked_example_decodes_what_the_neurons_encode(recorded):
    ds, truth, recording, neurons = recorded
    fps = ds.attrs["fps"]
    me = neurons.individual
    clock = fit_clock(recording.camera_pulses, recording.recording_pulses)
    assert np.abs(clock.apply(ds.time.values) - neurons.rates.time.values * neurons.slope
                  - neurons.offset).max() < 1 / fps  # fmt: skip

    # behavior as measured on the (noisy) tracking, and the labels
    speed = bh.kinematics.speed(bh.kinematics.centroid(ds.position)).sel(individual=me)
    heading = bh.kinematics.body_heading(ds).sel(individual=me)
    labels = truth.labels.sel(individual=me)
    names = list(labels.attrs["labels"])
    chase = labels.isin([names.index("chase"), names.index("flee")])
    edges = np.arange(clock.apply(ds.time.values[0]), clock.apply(ds.time.values[-1]), BIN)

    def binned(x: xr.DataArray) -> np.ndarray:
        return align(to_recording_clock(x, clock), edges=edges).values

    targets = {
        "speed": binned(speed),
        "heading": np.stack([binned(np.cos(heading)), binned(np.sin(heading))], axis=1),
        "chase": binned(chase),
        "behavior": binned(labels),
    }
    ok = np.ones(edges.size - 1, bool)
    for y in targets.values():
        ok &= np.all(np.isfinite(y), axis=1) if y.ndim == 2 else np.isfinite(y) & (y >= 0)
    assert ok.mean() > 0.95
    counts = np.stack([np.histogram(s, edges)[0] for s in recording.spike_times], axis=1)[ok]
    population = {v: np.array(neurons.encodes) == v for v in NEURAL_VARIABLES}
    shift = int(ok.sum()) // 2
    chance = {"speed": 0.0, "heading": 0.0, "chase": 0.5}
    chance["behavior"] = 1 / np.unique(targets["behavior"][ok]).size
    scores = {}
    for variable, y in targets.items():
        y = y[ok]
        tuned = decode_score(variable, counts[:, population[variable]], y)
        control = decode_score(variable, counts[:, population[variable]], y, shift)
        untuned = decode_score(variable, counts[:, population["none"]], y)
        scores[variable] = (tuned, control, untuned)
        margin = 0.2 if variable == "chase" else 0.3
        assert tuned > chance[variable] + margin + 0.1, (variable, scores[variable])
        assert tuned > control + margin, (variable, scores[variable])
        assert untuned < chance[variable] + 0.12, (variable, scores[variable])
        assert control < chance[variable] + 0.12, (variable, scores[variable])

    # the ceiling: the same decoder on the expected counts (the true rates, no Poisson noise)
    expected = align(to_recording_clock(neurons.rates, clock), edges=edges).values[ok] * BIN
    ceiling = decode_score("speed", expected[:, population["speed"]], targets["speed"][ok])
    assert scores["speed"][0] > 0.7 * ceiling
