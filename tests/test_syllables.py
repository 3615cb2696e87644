"""Tests for behavior/syllables: preprocessing, the Gaussian HMM, results, fit()."""

from __future__ import annotations

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")  # tests run without a display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

import behavior as bh
import behavior.syllables as bs
from behavior.errors import FileFormatError, PoseDataError
from behavior.syllables.hmm import GaussianHMM, as_sequences
from behavior.syllables.preprocess import Latents, Preprocessor
from behavior.syllables.results import BOUT_COLUMNS, Syllables

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def single():
    """A simulated single mouse (switching AR motifs), 2 min at 30 fps, with its truth."""
    return bh.simulate.session(kind="single", duration="2 min", seed=1)


@pytest.fixture(scope="module")
def short():
    """A 10 s single-mouse session without dropped keypoints."""
    return bh.simulate.session(kind="single", duration="10 s", seed=3, dropout=0.0)[0]


@pytest.fixture(scope="module")
def hmm_syllables(single):
    """fit(model='hmm') on the 2 min session, with the true number of motifs."""
    ds, _ = single
    return bs.fit(ds, model="hmm", n_states=8, progress=False)


def _latents(labels: list[list[int]], fps: float = 10.0) -> Latents:
    """Latents of zeros for hand-written label sequences (sessions s0, s1, ... of mouse 'm')."""
    return Latents(
        data=[np.zeros((len(lab), 1), np.float32) for lab in labels],
        mask=[np.ones(len(lab), bool) for lab in labels],
        keys=[(f"s{i}", "m") for i in range(len(labels))],
        time=[np.arange(len(lab)) / fps for lab in labels],
        fps=fps,
    )


# --------------------------------------------------------------------------- imports


def test_importing_the_package_loads_no_heavy_dependency():
    code = (
        "import sys, behavior.syllables\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('jax', 'hmmlearn', 'sklearn')]\n"
        "assert not heavy, heavy\n"
        "assert 'behavior.syllables.hmm' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lazy_names_resolve():
    assert bs.Preprocessor is Preprocessor
    assert bs.GaussianHMM is GaussianHMM
    assert bs.Syllables is Syllables
    with pytest.raises(AttributeError, match="no attribute"):
        _ = bs.not_a_name


# --------------------------------------------------------------------------- preprocess


def test_preprocessor_roles_units_and_pca(single):
    ds, _ = single
    pre = Preprocessor().fit(ds)
    # body axis from keypoint_roles: tail base -> neck; calibrated to cm by px_per_cm
    assert pre.anterior_ == ("neck",) and pre.posterior_ == ("tail_base",)
    assert pre.space_unit_ == "cm"
    assert pre.explained_variance_ratio_.sum() >= 0.9
    # the fewest components: one fewer falls short of 90 %
    assert pre.explained_variance_ratio_[:-1].sum() < 0.9
    assert np.all(np.diff(pre.explained_variance_) <= 1e-12)
    lat = pre.transform(ds)
    assert lat.data[0].dtype == np.float32 and lat.data[0].shape == (3600, pre.n_components_)
    assert np.isfinite(lat.data[0]).all()
    assert lat.attrs["space_unit"] == "cm" and lat.fps == 30.0
    np.testing.assert_array_equal(lat.time[0], ds.time.values)


def test_round_trip_with_all_components_recovers_the_poses(single):
    ds, _ = single
    pre = Preprocessor(variance=1.0, outlier_factor=None)  # exact: no point imputed
    lat = pre.fit_transform(ds)
    assert pre.n_components_ == 2 * 10
    observed = ds.position.values[..., 0] / ds.attrs["px_per_cm"]  # (time, space, keypoint) cm
    ok = np.isfinite(observed)
    arena = pre.inverse_transform(lat, frame="arena")[0]
    np.testing.assert_allclose(arena[ok], observed[ok], rtol=1e-5, atol=1e-4)
    # the egocentric poses put the centroid at 0 and the body axis (neck - tail base) on +x
    ego = pre.inverse_transform(lat)[0]
    np.testing.assert_allclose(ego.mean(axis=2), 0, atol=1e-4)
    axis = ego[:, :, pre.keypoints_.index("neck")] - ego[:, :, pre.keypoints_.index("tail_base")]
    assert np.all(axis[:, 0] > 0)
    np.testing.assert_allclose(axis[:, 1], 0, atol=1e-4)
    # one latent vector -> one pose
    assert pre.inverse_transform(lat.data[0][5]).shape == (2, 10)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_kp=st.integers(3, 6),
    n_time=st.integers(5, 40),
    n_space=st.sampled_from([2, 3]),
)
def test_round_trip_on_random_poses(seed, n_kp, n_time, n_space):
    rng = np.random.default_rng(seed)
    shape = (n_time, n_space, n_kp, 2)
    pos = rng.normal(0, 50, size=shape) + rng.uniform(-500, 500, size=(1, n_space, 1, 1))
    names = ["nose", "tail_base", *[f"k{i}" for i in range(n_kp - 2)]]
    ds = bh.from_numpy(pos, keypoint_names=names, fps=25)
    pre = Preprocessor(variance=1.0, outlier_factor=None)  # exact: no point imputed
    lat = pre.fit_transform(ds)
    assert lat.keys == [("session_0", "id_0"), ("session_0", "id_1")]
    back = pre.inverse_transform(lat, frame="arena")
    for j, arena in enumerate(back):
        np.testing.assert_allclose(arena, pos[..., j], rtol=1e-5, atol=1e-3)
    # explicit centroid and heading give the same arena poses
    again = pre.inverse_transform(lat.data, centroid=lat.centroid, heading=lat.heading)
    np.testing.assert_allclose(again[1], back[1])


def _rigidly_moved(ds, angle, dx, dy):
    """``ds`` with every position turned by ``angle`` about the origin, then shifted."""
    pos = ds.position.values.copy()
    x, y = pos[:, 0].copy(), pos[:, 1].copy()
    pos[:, 0] = np.cos(angle) * x - np.sin(angle) * y + dx
    pos[:, 1] = np.sin(angle) * x + np.cos(angle) * y + dy
    moved = ds.copy()
    moved["position"] = (ds.position.dims, pos)
    return moved


@settings(max_examples=20, deadline=None)
@given(
    angle=st.floats(-np.pi, np.pi),
    dx=st.floats(-1000, 1000),
    dy=st.floats(-1000, 1000),
)
def test_egocentric_latents_are_invariant_to_rigid_motion(short, angle, dx, dy):
    pre = Preprocessor().fit(short)
    base = pre.transform(short)
    lat = pre.transform(_rigidly_moved(short, angle, dx, dy))
    np.testing.assert_allclose(lat.data[0], base.data[0], atol=2e-4)
    np.testing.assert_array_equal(lat.mask[0], base.mask[0])
    # the heading turns by the angle; the centroid moves rigidly
    turn = np.angle(np.exp(1j * (lat.heading[0] - base.heading[0] - angle)))
    np.testing.assert_allclose(turn, 0, atol=1e-6)
    c0 = base.centroid[0] * short.attrs["px_per_cm"]
    expected_x = np.cos(angle) * c0[:, 0] - np.sin(angle) * c0[:, 1] + dx
    np.testing.assert_allclose(lat.centroid[0][:, 0] * short.attrs["px_per_cm"], expected_x)


@settings(max_examples=20, deadline=None)
@given(angle=st.floats(-np.pi, np.pi), dx=st.floats(-1000, 1000), dy=st.floats(-1000, 1000))
def test_kinematic_columns_are_invariant_to_rigid_motion(short, angle, dx, dy):
    pre = Preprocessor(kinematics=True).fit(short)
    base = pre.transform(short)
    moved = _rigidly_moved(short, angle, dx, dy)
    np.testing.assert_allclose(pre.transform(moved).data[0], base.data[0], atol=2e-3)


def test_kinematic_columns_follow_the_simulated_speed_and_turning(single):
    ds, truth = single
    pre = Preprocessor(variance=0.9, kinematics=True)
    lat = pre.fit_transform(ds)
    assert pre.feature_names_[-3:] == ["forward_speed", "lateral_speed", "turning_rate"]
    assert lat.n_dims == pre.n_components_ + 3
    forward, lateral, turning = lat.data[0][:, -3:].T
    latent = truth.latent.values  # speed (cm/s) and turning (rad/s) are its first two
    ok = lat.mask[0]
    assert np.corrcoef(forward[ok], latent[ok, 0])[0, 1] > 0.9
    # (walls turn the mouse beyond its latent turning, and the neck-tail axis bends:
    # 0.61 here, 0.66 on the noise-free positions)
    assert np.corrcoef(turning[ok], latent[ok, 1])[0, 1] > 0.5
    # a running mouse moves forwards: its lateral speed is small next to the forward one
    running = ok & (latent[:, 0] > 10)
    assert running.sum() > 100
    assert np.median(np.abs(lateral[running])) < 0.3 * np.median(forward[running])
    # the pose columns are those of the plain preprocessor; inverse_transform ignores the rest
    plain = Preprocessor(variance=0.9).fit(ds)
    np.testing.assert_allclose(lat.data[0][:, :-3], plain.transform(ds).data[0], atol=1e-4)
    np.testing.assert_allclose(
        pre.inverse_transform(lat.data[0]), plain.inverse_transform(lat.data[0][:, :-3]), atol=1e-9
    )
    with pytest.raises(PoseDataError, match="kinematics: expected True or False"):
        Preprocessor(kinematics="yes").fit(ds)


def test_body_kinematics_of_a_circle():
    from behavior.syllables.preprocess import body_kinematics

    t = np.arange(200) / 50.0
    omega, radius = 1.5, 4.0  # counter-clockwise, facing along the path
    centroid = radius * np.stack([np.cos(omega * t), np.sin(omega * t)], axis=1)
    heading = omega * t + np.pi / 2
    kin = body_kinematics(centroid, heading, t)[1:-1]
    np.testing.assert_allclose(kin[:, 0], omega * radius, rtol=1e-3)
    np.testing.assert_allclose(kin[:, 1], 0.0, atol=1e-2)
    np.testing.assert_allclose(kin[:, 2], omega, rtol=1e-6)


def test_mask_flags_frames_with_too_many_missing_keypoints(short):
    pos = short.position.values.copy()
    pos[10:13, :, :6] = np.nan  # 6 of 10 keypoints missing: unusable
    pos[20, :, :5] = np.nan  # 5 of 10: exactly max_missing, still usable
    pos[30, 0, 2] = np.nan  # one coordinate missing makes the keypoint missing
    pos[100:150, :, 9] = np.nan  # one keypoint lost for a while: usable, imputed
    ds = short.copy()
    ds["position"] = (short.position.dims, pos)
    pre = Preprocessor().fit(short)
    lat = pre.transform(ds)
    mask = lat.mask[0]
    assert not mask[10:13].any()
    assert mask[20] and mask[30] and mask[9] and mask[13] and mask[100:150].all()
    assert mask.sum() == len(mask) - 3
    assert np.isfinite(lat.data[0]).all()
    strict = Preprocessor(max_missing=0.3).fit(short).transform(ds)
    assert not strict.mask[0][20] and strict.mask[0][30]
    # imputed points lie on the straight line between their neighbours (in time)
    ego = Preprocessor(variance=1.0).fit(short)
    arena = ego.inverse_transform(ego.transform(ds), frame="arena")[0]
    clean = short.position.values[..., 0] / short.attrs["px_per_cm"]
    np.testing.assert_allclose(arena[11, :, 0], (clean[9, :, 0] + clean[13, :, 0]) / 2, atol=1e-3)


def test_min_confidence_treats_low_confidence_points_as_missing(short):
    conf = short.confidence.values.copy()
    conf[40:45, :8] = 0.1
    ds = short.copy()
    ds["confidence"] = (short.confidence.dims, conf)
    lat = Preprocessor(min_confidence=0.5).fit_transform(ds)
    assert not lat.mask[0][40:45].any() and lat.mask[0][39] and lat.mask[0][45]
    assert Preprocessor().fit_transform(ds).mask[0][40:45].all()


def test_sessions_and_individuals_keep_their_boundaries(short):
    social, _ = bh.simulate.session(kind="social", duration="20 s", seed=2)
    sessions = {"pair": social, "alone": short}
    pre = Preprocessor()
    lat = pre.fit_transform(sessions)
    assert lat.keys == [("pair", "mouse_0"), ("pair", "mouse_1"), ("alone", "mouse_0")]
    assert lat.lengths == [600, 600, 300]
    np.testing.assert_array_equal(lat.time[2], short.time.values)
    # each individual is aligned on its own: its latents equal those of it alone
    one = pre.transform(social.sel(individual=["mouse_1"]))
    np.testing.assert_allclose(one.data[0], lat.data[1])
    # a list of sessions is named after the order given
    assert [k[0] for k in pre.transform([short, short]).keys] == ["session_0", "session_1"]
    syl = Syllables([np.zeros(n, int) for n in lat.lengths], lat)
    labels = syl.labels
    assert list(labels) == ["pair", "alone"]
    assert labels["pair"].sizes == {"time": 600, "individual": 2}
    assert labels["pair"].individual.values.tolist() == ["mouse_0", "mouse_1"]
    np.testing.assert_array_equal(labels["alone"].time.values, short.time.values)
    # round trip of the reconstruction per session
    rec = pre.to_dataset(lat)
    assert rec["pair"].position.shape == (600, 2, 10, 2)


def test_preprocessor_errors_name_the_argument(short):
    with pytest.raises(PoseDataError, match="variance"):
        Preprocessor(variance=1.5).fit(short)
    with pytest.raises(PoseDataError, match="n_components"):
        Preprocessor(n_components=0).fit(short)
    with pytest.raises(PoseDataError, match="keypoints.*'paw'"):
        Preprocessor(keypoints=["nose", "paw"]).fit(short)
    with pytest.raises(PoseDataError, match="anterior"):
        Preprocessor(anterior="tail_tip", posterior="tail_tip").fit(short)
    with pytest.raises(PoseDataError, match="anterior/posterior"):
        Preprocessor(keypoints=["left_ear", "right_ear", "left_hip"]).fit(short)
    with pytest.raises(PoseDataError, match="sessions"):
        Preprocessor().fit("poses.h5")
    no_fps = bh.from_numpy(short.position.values, keypoint_names=short.keypoint.values)
    with pytest.raises(PoseDataError, match="fps"):
        Preprocessor().fit(no_fps)
    pre = Preprocessor().fit(short)
    with pytest.raises(PoseDataError, match="keypoints.*not found"):
        pre.transform(short.sel(keypoint=["nose", "neck", "tail_base"]))
    pixels = short.copy()
    pixels.attrs = {k: v for k, v in short.attrs.items() if k != "px_per_cm"}
    with pytest.raises(PoseDataError, match="'pixels'.*'cm'"):
        pre.transform(pixels)
    with pytest.raises(PoseDataError, match="not fitted"):
        Preprocessor().transform(short)
    with pytest.raises(PoseDataError, match=r"x\[0\]: expected latents of shape"):
        pre.inverse_transform([np.zeros((3, pre.n_components_ + 1))])
    with pytest.raises(PoseDataError, match="centroid/heading"):
        pre.inverse_transform(np.zeros((3, pre.n_components_)), frame="arena")


# --------------------------------------------------------------------------- GaussianHMM


def test_gaussian_hmm_recovers_simulated_motifs(single, hmm_syllables):
    _, truth = single
    labels = hmm_syllables.labels["session_0"].values[:, 0]
    assert (labels >= 0).all()
    ari = adjusted_rand_score(truth.labels.values[:, 0], labels)
    assert ari > 0.4, ari
    model = hmm_syllables.model
    assert isinstance(model, GaussianHMM)
    assert set(model.used_states_) == set(range(8))
    assert len(model.log_likelihood_) >= 2
    # EM never lowers the likelihood (beyond round-off)
    assert np.all(np.diff(model.log_likelihood_) > -1e-6 * abs(model.log_likelihood_[-1]))


def test_gaussian_hmm_masked_frames_get_minus_one_and_stay_out_of_the_fit():
    rng = np.random.default_rng(0)
    states = np.repeat([0, 1, 0, 1], 60)
    x = np.where(states[:, None] == 0, -2.0, 2.0) + rng.normal(0, 0.3, (240, 2))
    mask = np.ones(240, bool)
    mask[100:110] = False
    spoiled = x.copy()
    spoiled[100:110] = 1e3  # garbage in masked frames must not move the fit
    model = GaussianHMM(n_states=2, random_state=0, progress=False).fit([spoiled], mask=[mask])
    labels = model.predict(spoiled, mask=mask)[0]
    assert (labels[100:110] == -1).all() and (labels[mask] >= 0).all()
    assert adjusted_rand_score(states[mask], labels[mask]) == 1.0
    assert np.abs(model.model_.means_).max() < 3  # standardised units, no 1e3 outlier
    # NaN rows are masked the same way, and predict_proba is NaN there
    nan_x = x.copy()
    nan_x[5] = np.nan
    assert model.predict(nan_x)[0][5] == -1
    proba = model.predict_proba(nan_x)[0]
    assert np.isnan(proba[5]).all()
    np.testing.assert_allclose(proba[6:].sum(axis=1), 1)


def test_gaussian_hmm_sticky_prior_lengthens_syllables(single):
    ds, _ = single
    lat = Preprocessor().fit_transform(ds)
    from behavior.syllables._common import median_duration

    def _median_duration(labels):  # what GaussianHMM.fit_kappa calibrates
        return median_duration(labels, per="syllable")

    loose = GaussianHMM(n_states=8, kappa=0.0, n_iter=20, random_state=0, progress=False).fit(lat)
    sticky = GaussianHMM(n_states=8, kappa=0.5, n_iter=20, random_state=0, progress=False).fit(lat)
    assert _median_duration(sticky.predict(lat)) > _median_duration(loose.predict(lat))
    hmm = GaussianHMM(n_states=8, n_iter=10, random_state=0, progress=False)
    kappa = hmm.fit_kappa(lat, "0.3 s", max_fits=3)
    assert kappa == hmm.kappa and kappa > 0


def test_gaussian_hmm_input_errors():
    with pytest.raises(PoseDataError, match="n_states"):
        GaussianHMM(n_states=0).fit(np.zeros((10, 2)))
    with pytest.raises(PoseDataError, match="covariance_type"):
        GaussianHMM(covariance_type="round").fit(np.zeros((10, 2)))
    with pytest.raises(PoseDataError, match="usable frames"):
        GaussianHMM(n_states=5, progress=False).fit(np.zeros((3, 2)))
    with pytest.raises(PoseDataError, match="mask"):
        as_sequences([np.zeros((5, 2))], mask=[np.ones(4, bool)])
    with pytest.raises(PoseDataError, match=r"x\[1\]: expected 2 dimensions"):
        as_sequences([np.zeros((5, 2)), np.zeros((5, 3))])
    model = GaussianHMM(n_states=2, n_iter=3, random_state=0, progress=False)
    with pytest.raises(PoseDataError, match="not fitted"):
        model.predict(np.zeros((5, 2)))
    model.fit(np.random.default_rng(0).normal(size=(50, 2)))
    with pytest.raises(PoseDataError, match="expected 2 latent dimensions"):
        model.predict(np.zeros((5, 3)))


# --------------------------------------------------------------------------- results


def test_relabelling_by_frequency():
    lat = _latents([[7, 7, 7, 2, 2, 5, 7, 7], [2, 2, -1, 5, 5, 5]])
    syl = Syllables([np.array(v) for v in [[7, 7, 7, 2, 2, 5, 7, 7], [2, 2, -1, 5, 5, 5]]], lat)
    # frames: state 7 -> 5, state 2 -> 4, state 5 -> 4 (tie: lower state first)
    assert syl.codes[0].tolist() == [0, 0, 0, 1, 1, 2, 0, 0]
    assert syl.codes[1].tolist() == [1, 1, -1, 2, 2, 2]
    assert syl.mapping_[[7, 2, 5]].tolist() == [0, 1, 2]
    assert sorted(syl.mapping_.tolist()) == list(range(8))  # a permutation of all states
    assert syl.n_syllables == 3
    assert syl.labels["s0"].attrs["labels"] == ["syllable_0", "syllable_1", "syllable_2"]


def test_relabelled_fit_uses_syllable_zero_most(hmm_syllables):
    usage = hmm_syllables.usage()
    assert usage.index.tolist() == list(range(hmm_syllables.n_syllables))
    assert usage["frames"].is_monotonic_decreasing


def test_usage_sums_to_one(hmm_syllables):
    usage = hmm_syllables.usage()
    assert usage["usage"].sum() == pytest.approx(1.0)
    assert usage["bout_usage"].sum() == pytest.approx(1.0)
    lat = _latents([[0, 0, 1, -1], [1, 1, 1, 1]])
    per = Syllables([np.array([0, 0, 1, -1]), np.array([1, 1, 1, 1])], lat).usage("sequence")
    sums = per.groupby(["session", "individual"])["usage"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)
    assert per.loc[per["session"] == "s0", "usage"].tolist() == pytest.approx([1 / 3, 2 / 3])
    with pytest.raises(PoseDataError, match="by"):
        hmm_syllables.usage(by="day")


def test_durations_are_consistent_with_labels(hmm_syllables):
    bouts = hmm_syllables.durations()
    assert list(bouts.columns) == BOUT_COLUMNS
    codes = hmm_syllables.codes[0]
    rebuilt = np.full(len(codes), -1)
    for row in bouts.itertuples():
        rebuilt[row.start_frame : row.stop_frame] = row.syllable
    np.testing.assert_array_equal(rebuilt, codes)
    assert (bouts["frames"] == bouts["stop_frame"] - bouts["start_frame"]).all()
    np.testing.assert_allclose(bouts["duration"], bouts["frames"] / 30.0)
    # consecutive bouts differ in syllable
    assert (np.diff(bouts["syllable"].to_numpy()) != 0).all()
    # -1 frames end a bout and belong to none
    lat = _latents([[0, 0, -1, 0, 1]])
    table = Syllables([np.array([0, 0, -1, 0, 1])], lat).durations()
    assert table["frames"].tolist() == [2, 1, 1]
    assert table["start"].tolist() == pytest.approx([0.0, 0.3, 0.4])


def test_transition_matrix(hmm_syllables):
    mat = hmm_syllables.transition_matrix()
    assert mat.shape == (8, 8)
    rows = mat.to_numpy()
    np.testing.assert_allclose(rows.sum(axis=1), 1.0)
    assert (np.diag(rows) == 0).all()
    frames = hmm_syllables.transition_matrix(self_transitions=True, normalize=False)
    assert frames.to_numpy().sum() == len(hmm_syllables.codes[0]) - 1
    assert np.diag(frames.to_numpy()).sum() > 0
    top = hmm_syllables.transition_matrix(n_syllables=3).to_numpy()
    assert top.shape == (3, 3)
    left = np.isfinite(top).all(axis=1)  # a row is NaN when the syllable never goes to the top 3
    np.testing.assert_allclose(top[left].sum(axis=1), 1.0)
    np.testing.assert_array_equal(
        left, hmm_syllables.transition_matrix(n_syllables=3, normalize=False).sum(axis=1) > 0
    )
    # neither -1 gaps nor sequence ends make transitions (labels already ranked by use)
    labels = [np.array([0, 0, 0, 1, -1, 2]), np.array([1, 1, 0])]
    syl = Syllables(labels, _latents([lab.tolist() for lab in labels]))
    np.testing.assert_array_equal(syl.codes[0], labels[0])
    counts = syl.transition_matrix(normalize=False).to_numpy()
    np.testing.assert_array_equal(counts, [[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    assert np.isnan(syl.transition_matrix().to_numpy()[2]).all()  # syllable 2 is never left


def test_average_trajectories_are_aligned_at_onset(hmm_syllables):
    traj = hmm_syllables.average_trajectories(("-0.2 s", 0.5), syllables=3)
    assert traj.dims == ("syllable", "time", "space", "keypoint")
    assert traj.sizes["syllable"] == 3 and traj.sizes["time"] == 6 + 15 + 1
    assert traj.attrs["space_unit"] == "cm"
    assert all(n > 0 for n in traj.attrs["n_bouts"])
    at_onset = traj.sel(time=0.0)
    # at onset: centroid at the origin, body axis along +x
    np.testing.assert_allclose(at_onset.mean("keypoint"), 0, atol=1e-6)
    axis = at_onset.sel(keypoint="neck") - at_onset.sel(keypoint="tail_base")
    np.testing.assert_allclose(axis.sel(space="y"), 0, atol=1e-6)
    assert (axis.sel(space="x") > 0).all()
    ego = hmm_syllables.average_trajectories(syllables=[0], frame="egocentric", max_bouts=5)
    assert ego.attrs["n_bouts"] == [5]
    np.testing.assert_allclose(ego.mean("keypoint"), 0, atol=1e-4)
    no_pre = Syllables(hmm_syllables.codes, hmm_syllables.latents)
    with pytest.raises(PoseDataError, match="preprocessor"):
        no_pre.average_trajectories()


def test_to_ethogram(hmm_syllables):
    eth = hmm_syllables.to_ethogram()
    assert eth.exclusive and eth.behaviors == hmm_syllables.names()
    np.testing.assert_array_equal(eth.to_states().values[:, 0], hmm_syllables.codes[0])
    top = hmm_syllables.to_ethogram(n_syllables=2)
    assert top.behaviors == ["syllable_0", "syllable_1"]
    codes = hmm_syllables.codes[0]
    np.testing.assert_array_equal(top.to_states().values[:, 0], np.where(codes < 2, codes, -1))
    with pytest.raises(PoseDataError, match="session"):
        hmm_syllables.to_ethogram("day2")


def test_save_load_round_trip_and_apply(hmm_syllables, single, tmp_path):
    path = hmm_syllables.save(tmp_path / "syllables.nc")
    assert path.exists() and not list(tmp_path.glob(".*tmp*"))
    back = Syllables.load(path)
    assert back.keys == hmm_syllables.keys and back.fps == hmm_syllables.fps
    for a, b in zip(back.codes, hmm_syllables.codes):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.mapping_, hmm_syllables.mapping_)
    np.testing.assert_array_equal(back.latents.data[0], hmm_syllables.latents.data[0])
    np.testing.assert_array_equal(back.latents.mask[0], hmm_syllables.latents.mask[0])
    np.testing.assert_allclose(back.latents.centroid[0], hmm_syllables.latents.centroid[0])
    np.testing.assert_array_equal(
        back.preprocessor.components_, hmm_syllables.preprocessor.components_
    )
    assert back.preprocessor.keypoints_ == hmm_syllables.preprocessor.keypoints_
    pd.testing.assert_frame_equal(back.usage(), hmm_syllables.usage())
    # the loaded model labels new data like the original, with the same syllable ids
    ds, _ = single
    part = ds.isel(time=slice(0, 900))
    new = back.apply({"first_30s": part})
    old = hmm_syllables.apply({"first_30s": part})
    np.testing.assert_array_equal(new.codes[0], old.codes[0])
    assert new.labels["first_30s"].sizes["time"] == 900
    # without the model: labels load, apply refuses
    light = Syllables.load(hmm_syllables.save(tmp_path / "light.nc", model=False))
    with pytest.raises(PoseDataError, match="apply"):
        light.apply(part)
    other = tmp_path / "poses.nc"
    bh.save_poses(part, other)
    with pytest.raises(FileFormatError, match="syllables"):
        Syllables.load(other)


def test_fit_arguments(single):
    ds, _ = single
    with pytest.raises(PoseDataError, match="model"):
        bs.fit(ds, model="lstm")
    with pytest.raises(PoseDataError, match="preprocess"):
        bs.fit(ds, model="hmm", preprocess=0.9)
    part = ds.isel(time=slice(0, 600))
    pre = Preprocessor(n_components=3).fit(ds)
    hmm = GaussianHMM(n_states=3, n_iter=5, random_state=0, progress=False)
    syl = bs.fit(part, model=hmm, preprocess=pre)
    assert syl.preprocessor is pre and syl.latents.n_dims == 3  # a fitted preprocessor is reused
    assert syl.attrs["model"] == "GaussianHMM"
    calibrated = bs.fit(
        part, model="hmm", n_states=3, n_iter=5, target_duration="0.5 s", progress=False
    )
    assert calibrated.model.kappa != GaussianHMM().kappa  # fit_kappa ran before the fit
    assert calibrated.attrs["target_duration"] == "0.5 s"


def test_fit_with_the_arhmm():
    pytest.importorskip("behavior.syllables.arhmm")
    # the shapes of arhmm._warm_up (3 x 600 frames, 2 dims, 20 states, 1 lag): no recompilation
    sessions = {
        f"s{i}": bh.simulate.session(kind="single", duration="20 s", seed=i)[0] for i in range(3)
    }
    syl = bs.fit(
        sessions,
        model="arhmm",
        n_states=20,
        n_lags=1,
        n_iter=2,
        progress=False,
        preprocess={"n_components": 2},
    )
    assert syl.attrs["model"] == "ARHMM"
    assert syl.sessions == ["s0", "s1", "s2"]
    assert syl.usage()["usage"].sum() == pytest.approx(1.0)
    assert syl.usage()["frames"].is_monotonic_decreasing


def test_fit_with_no_model_is_the_keypoint_slds():
    # the default model is the SLDS (the accurate one on the family and on the real
    # freezing labels), with its own preprocessing: 99 % of the variance, Procrustes
    ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=3)
    syl = bs.fit(ds, n_states=8, n_iter=2, slds_iter=2, progress=False)
    assert syl.attrs["model"] == "KeypointSLDS"
    assert syl.model.n_iter == 2 and syl.model.arhmm_.n_states == 8
    assert syl.preprocessor.variance == 0.99 and syl.preprocessor.alignment == "procrustes"
    assert syl.labels["session_0"].sizes["time"] == ds.sizes["time"]


# --------------------------------------------------------------------------- real data


def test_real_open_field_file_through_preprocessor_and_hmm(shared_data):
    path = shared_data / (
        "bsoid_bottomup/raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.h5"
    )
    ds = bh.load_poses(path, fps=60)  # fps 60 from the DLC metadata (PROVENANCE.txt)
    with pytest.raises(PoseDataError, match="anterior/posterior"):
        Preprocessor().fit(ds)  # no tail base among the six bottom-up keypoints
    pre = Preprocessor(anterior="Snout", posterior="Butt/Proximal Tail", min_confidence=0.5)
    lat = pre.fit_transform({"clip1": ds})
    assert pre.space_unit_ == "pixels"
    assert np.isfinite(lat.data[0]).all() and np.isfinite(lat.centroid[0]).all()
    assert 0.8 < lat.mask[0].mean() <= 1.0
    syl = bs.fit({"clip1": ds}, model="hmm", n_states=6, n_iter=15, preprocess=pre, progress=False)
    labels = syl.labels["clip1"]
    assert labels.sizes == {"time": 7200, "individual": 1}
    assert labels.values.min() >= -1 and labels.values.max() < 6
    assert np.array_equal(labels.values[:, 0] == -1, ~lat.mask[0])
    assert not syl.durations().isna().any().any()
    assert np.isfinite(syl.average_trajectories(syllables=2).values).all()


def test_real_file_with_default_keypoint_roles(shared_data):
    ds = bh.load_poses(shared_data / "behaviordepot_freezing/demo/demo6/demo6_tracking.csv", fps=30)
    pre = Preprocessor(min_confidence=0.9).fit(ds.isel(time=slice(0, 3000)))
    assert pre.anterior_ == ("Nose",) and pre.posterior_ == ("Tailbase",)
    lat = pre.transform(ds.isel(time=slice(0, 3000)))
    assert np.isfinite(lat.data[0]).all()


# --------------------------------------------------------------------------- plots


def test_syllable_plots(hmm_syllables):
    _, ax = bh.plot.syllable_usage(hmm_syllables, n_syllables=5)
    assert len(ax.patches) == 5
    heights = [p.get_height() for p in ax.patches]
    assert heights == sorted(heights, reverse=True)
    _, ax = bh.plot.syllable_durations(hmm_syllables)
    assert ax.get_xscale() == "log" and "median" in ax.get_legend().get_texts()[0].get_text()
    _, ax = bh.plot.syllable_durations(hmm_syllables.durations(), syllables=[0, 1], log=False)
    assert len(ax.patches) == 2
    _, ax = bh.plot.syllable_transitions(hmm_syllables, n_syllables=4)
    assert ax.images[0].get_array().shape == (4, 4)
    _, axes = bh.plot.syllable_trajectories(hmm_syllables, syllables=3, n_cols=2)
    assert axes.shape == (2, 2) and not axes[1, 1].get_visible()
    assert "syllable 0" in axes[0, 0].get_title()
    with pytest.raises(PoseDataError, match="syl"):
        bh.plot.syllable_usage(xr.DataArray([1, 2]))
    plt.close("all")


# ---- issue 15: empty sessions, bad hyperparameters, files that name other classes ----------


def test_fit_on_zero_frames_is_a_named_error(short):
    with pytest.raises(PoseDataError, match="at least one frame"):
        bs.fit(short.isel(time=slice(0, 0)), model="hmm", progress=False)


@pytest.mark.parametrize(
    ("model", "kwargs", "match"),
    [
        (bs.ARHMM, {"n_iter": 0}, "n_iter: expected an integer >= 1"),
        (GaussianHMM, {"n_iter": 0}, "n_iter"),
        (Preprocessor, {"min_confidence": float("nan")}, "min_confidence"),
        (Preprocessor, {"keypoints": []}, "keypoints"),
        (Preprocessor, {"max_missing": "half"}, "max_missing"),
    ],
)
def test_hyperparameters_are_checked_when_fit_starts(short, model, kwargs, match):
    estimator = model(**kwargs)
    with pytest.raises(PoseDataError, match=match):
        if model is Preprocessor:
            estimator.fit(short)
        else:
            estimator.fit([np.random.default_rng(0).normal(size=(50, 2))])


def test_load_refuses_an_object_that_is_not_a_class_of_a_trusted_module(hmm_syllables, tmp_path):
    import json

    path = hmm_syllables.save(tmp_path / "syl.nc")
    with xr.open_dataset(path, engine="netcdf4") as opened:
        ds = opened.load()
    meta = json.loads(ds.attrs["syllables"])
    assert meta["model"]["__object__"].startswith("behavior.")
    # a class a trusted module imports from elsewhere (tempfile's closer deletes the file
    # it names when it is garbage-collected), and a function
    for target in ("sklearn.utils._testing:tempfile._TemporaryFileCloser",
                   "behavior.syllables.results:json.loads", "behavior.cli:main"):  # fmt: skip
        meta["model"]["__object__"] = target
        ds.attrs["syllables"] = json.dumps(meta)
        crafted = tmp_path / "crafted.nc"
        ds.to_netcdf(crafted, engine="netcdf4")
        with pytest.raises(FileFormatError, match="refusing to rebuild"):
            Syllables.load(crafted)
