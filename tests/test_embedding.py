"""Tests for behavior/embedding.py: wavelets, density maps, BehaviorMap and its recipes."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

import behavior as bh
from behavior import embedding
from behavior.embedding import (
    BehaviorMap,
    density_map,
    morlet_amplitudes,
    morlet_frequencies,
    normalize_amplitudes,
    watershed_regions,
)
from behavior.errors import MissingDependencyError, PoseDataError

FAST = {"embedding": "pca", "progress": False, "random_state": 0}


def _blobs(n_per=150, centers=((0, 0, 0), (8, 0, 0), (0, 8, 0), (8, 8, 8)), seed=0):
    """Well separated Gaussian clusters in 3-D (rows in a random order) and their labels."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(c, 0.5, size=(n_per, 3)) for c in centers])
    y = np.repeat(np.arange(len(centers)), n_per)
    order = rng.permutation(len(x))
    return x[order], y[order]


@pytest.fixture(scope="module")
def single():
    ds, truth = bh.simulate.session(kind="single", duration="40 s", seed=1)
    return ds, truth


# ---- Morlet wavelets -----------------------------------------------------------------


def test_frequencies_motionmapper_defaults_and_nyquist_cap():
    f100 = morlet_frequencies(fps=200)  # Nyquist 100 Hz: MotionMapper's 1-50 Hz untouched
    assert len(f100) == 25 and f100[0] == pytest.approx(1.0) and f100[-1] == pytest.approx(50.0)
    assert np.allclose(np.diff(np.log(f100)), np.log(50) / 24)  # log (dyadic) spacing
    for fps in (30, 60, 100):
        f = morlet_frequencies(fps=fps)
        assert len(f) == 25 and f.max() < fps / 2 and np.all(np.diff(f) > 0)
    with pytest.raises(PoseDataError, match="min_frequency"):
        morlet_frequencies(fps=1.5)  # Nyquist below 1 Hz


@pytest.mark.parametrize("k", [0, 6, 13, 20, 24])
def test_morlet_transform_of_a_sinusoid_peaks_at_its_frequency(k):
    fps = 30.0
    f = morlet_frequencies(fps)
    t = np.arange(900) / fps
    amp = morlet_amplitudes(np.column_stack([np.sin(2 * np.pi * f[k] * t), np.zeros_like(t)]), fps)
    assert amp.shape == (900, 2, 25)
    profile = amp[300:600, 0].mean(axis=0)
    assert profile.argmax() == k
    assert np.allclose(amp[:, 1], 0.0)  # a flat channel has no amplitude
    # MotionMapper's amplitude scaling: the same peak height at every frequency
    assert profile.max() == pytest.approx(0.2, abs=0.02)


def test_morlet_rejects_nan_naming_the_argument():
    with pytest.raises(PoseDataError, match="^x: "):
        morlet_amplitudes(np.array([0.0, np.nan, 1.0]), fps=30)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(2, 40),
    st.integers(1, 4),
    st.integers(0, 2**32 - 1),
)
def test_per_frame_normalisation_sums_to_one(n_time, n_chan, seed):
    rng = np.random.default_rng(seed)
    amp = rng.exponential(size=(n_time, n_chan, 5))
    amp[0] = 0.0  # a silent frame becomes uniform
    p, total = normalize_amplitudes(amp)
    assert p.shape == amp.shape
    assert np.allclose(p.reshape(n_time, -1).sum(axis=1), 1.0)
    assert np.allclose(total, amp.reshape(n_time, -1).sum(axis=1))
    assert np.allclose(p[0], 1.0 / (n_chan * 5))


# ---- density and watershed -----------------------------------------------------------


def test_watershed_regions_cover_the_density_map():
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.normal(c, 0.3, size=(400, 2)) for c in ((0, 0), (4, 0), (2, 4))])
    dens = density_map(pts, grid_size=80, bandwidth=0.03)
    assert dens.dims == ("y", "x") and float(dens.sum()) == pytest.approx(1.0)
    regions = watershed_regions(dens)
    assert regions.shape == dens.shape and regions.min() >= 1  # every cell has a region
    assert sorted(np.unique(regions)) == [1, 2, 3]  # one basin per blob
    # each blob's centre lies in its own region
    x0, x1, y0, y1 = dens.attrs["extent"]
    cells = [
        (int((cy - y0) / (y1 - y0) * 80), int((cx - x0) / (x1 - x0) * 80))
        for cx, cy in ((0, 0), (4, 0), (2, 4))
    ]
    assert len({int(regions[c]) for c in cells}) == 3


# ---- clustering options on well-separated clusters -----------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"clustering": "hdbscan", "min_cluster_size": (0.05, 0.1)},
        {"clustering": "gmm", "n_clusters": 4},
        {"clustering": "kmeans", "n_clusters": 4},
        {"clustering": "watershed", "bandwidth": 0.03},
    ],
    ids=lambda o: o["clustering"],
)
def test_each_clustering_recovers_separated_clusters(options):
    x, y = _blobs()
    bmap = BehaviorMap(**FAST, n_components=None, **options).fit(x)
    states = bmap.predict_states(x)
    assert states.dims == ("time", "individual") and states.shape == (len(x), 1)
    labels = states.values[:, 0]
    assert adjusted_rand_score(y, labels) > 0.97
    assert bmap.n_clusters_ == 4
    counts = np.bincount(bmap.labels_[bmap.labels_ >= 0])
    assert np.all(np.diff(counts) <= 0)  # cluster 0 is the most frequent
    if options["clustering"] == "hdbscan":
        assert set(bmap.sweep_.columns) >= {"min_cluster_size", "n_clusters", "noise_fraction"}
        assert bmap.sweep_["kept"].sum() == 1


def test_tsne_map_recovers_clusters_and_is_reproducible():
    x, y = _blobs(n_per=60)
    kw = {"embedding": "tsne", "clustering": "kmeans", "n_clusters": 4, "progress": False}
    a = BehaviorMap(**kw, random_state=3).fit(x)
    b = BehaviorMap(**kw, random_state=3).fit(x)
    assert np.array_equal(a.embedding_, b.embedding_)
    assert np.array_equal(a.predict_states(x).values, b.predict_states(x).values)
    assert adjusted_rand_score(y, a.predict_states(x).values[:, 0]) > 0.97


def test_random_state_makes_subsample_and_labels_deterministic():
    x, _ = _blobs(n_per=300)
    kw = {**FAST, "clustering": "gmm", "n_clusters": 4, "max_samples": 200, "random_state": 7}
    a, b = BehaviorMap(**kw).fit(x), BehaviorMap(**kw).fit(x)
    assert a.sample_index_.equals(b.sample_index_)
    assert np.array_equal(a.labels_, b.labels_) and np.array_equal(a.embedding_, b.embedding_)
    c = BehaviorMap(**{**kw, "random_state": 8}).fit(x)
    assert not c.sample_index_["frame"].equals(a.sample_index_["frame"])


# ---- out-of-sample: transform, predict, frameshift -----------------------------------


@pytest.mark.parametrize("embedding_method", ["pca", "tsne"])
def test_transform_and_predict_agree_with_the_fitted_sample(embedding_method):
    x, _ = _blobs(n_per=80)
    bmap = BehaviorMap(
        embedding=embedding_method,
        clustering="kmeans",
        n_clusters=4,
        predictor="embedding",
        max_samples=200,
        random_state=0,
        progress=False,
    ).fit(x)
    frames = bmap.sample_index_["frame"].to_numpy()
    coords = bmap.transform(x)
    assert coords.dims == ("time", "component", "individual") and coords.shape == (len(x), 2, 1)
    assert np.allclose(coords.values[frames, :, 0], bmap.embedding_, atol=1e-6)
    labels = bmap.predict_states(x).values[:, 0]
    assert np.array_equal(labels[frames], bmap.labels_)
    # a new session from the same clusters lands in the same clusters
    x_new, y_new = _blobs(n_per=30, seed=5)
    assert adjusted_rand_score(y_new, bmap.predict_states(x_new).values[:, 0]) > 0.95


def test_frameshift_bins_interleave_into_one_centred_bin_per_frame():
    rows = np.arange(11.0)[:, None]
    parts = embedding._frameshift(rows, np.ones(11, bool), 3)
    assert [len(p[0]) for p in parts] == [4, 4, 3]
    out = embedding._interleave([p[0] for p in parts], 11, 3)
    expected = np.convolve(np.pad(rows[:, 0], 1, mode="edge"), np.ones(3) / 3, mode="valid")
    assert np.allclose(out[:, 0], expected)  # frame t <- mean of frames t-1, t, t+1


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_frameshift_equals_a_centred_moving_average_for_any_length(n, size, seed):
    rows = np.random.default_rng(seed).normal(size=(n, 2))
    parts = embedding._frameshift(rows, np.ones(n, bool), size)
    out = embedding._interleave([p[0] for p in parts], n, size)
    h = (size - 1) // 2
    padded = np.pad(rows, ((h, size - 1 - h), (0, 0)), mode="edge")
    expected = np.stack([padded[t : t + size].mean(axis=0) for t in range(n)])
    assert out.shape == (n, 2) and np.allclose(out, expected)


@pytest.mark.parametrize("n_frames", [301, 302, 303])
def test_frameshift_prediction_has_one_label_per_frame(n_frames):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), -(-n_frames // 3))[:n_frames]
    x = rng.normal(size=(n_frames, 2)) * 0.3 + y[:, None] * 5.0
    bmap = BehaviorMap(
        **FAST, clustering="kmeans", n_clusters=3, bin_size=5, predictor="forest"
    ).fit(x)
    assert bmap.bin_frames_ == 5 and len(bmap.labels_) == n_frames // 5
    labels = bmap.predict_states(x).values[:, 0]
    assert labels.shape == (n_frames,) and labels.min() >= 0
    assert adjusted_rand_score(y, labels) > 0.9
    eth = bmap.predict(x)
    assert eth.n_frames == n_frames and eth.exclusive


def test_unusable_frames_get_no_cluster_and_nan_coordinates():
    x, _ = _blobs(n_per=50)
    x[10:15] = np.nan
    x[20, 0] = np.nan  # one missing channel of three: still usable, interpolated
    bmap = BehaviorMap(**FAST, clustering="kmeans", n_clusters=4).fit(x)
    labels = bmap.predict_states(x).values[:, 0]
    assert np.all(labels[10:15] == -1) and labels[20] >= 0
    coords = bmap.transform(x).values[:, :, 0]
    assert np.isnan(coords[10:15]).all() and np.isfinite(np.delete(coords, range(10, 15), 0)).all()
    assert not set(bmap.sample_index_["frame"]) & set(range(10, 15))


# ---- inputs: poses, features, latents, containers ------------------------------------


def test_pose_sessions_in_ethograms_and_tables_out(single):
    ds, _ = single
    bmap = BehaviorMap(**FAST, clustering="gmm", n_clusters=6, bin_size="0.1 s")
    eths = bmap.fit([ds, ds.isel(time=slice(0, 500))]).predict(
        {"a": ds, "b": ds.isel(time=slice(0, 500))}
    )
    assert list(eths) == ["a", "b"]
    assert eths["a"].n_frames == ds.sizes["time"] and eths["b"].n_frames == 500
    assert eths["a"].behaviors == [f"cluster_{i}" for i in range(6)]
    table = bmap.cluster_table(eths)
    assert list(table["cluster"]) == bmap.cluster_names_
    assert table["n_frames"].sum() == ds.sizes["time"] + 500
    assert table["fraction"].sum() == pytest.approx(1.0)
    bouts = pd.concat([e.to_bouts() for e in eths.values()])
    first = bouts[bouts["behavior"] == "cluster_0"]["duration"].mean()
    assert table.loc[0, "mean_bout_s"] == pytest.approx(first)
    assert all(len(ex) <= 3 and ex[0][2] < ex[0][3] for ex in table["examples"] if ex)
    poses = bmap.cluster_poses(ds)
    assert poses.dims == ("cluster", "space", "keypoint") and poses.shape == (6, 2, 10)
    assert int(poses["n_frames"].sum()) == ds.sizes["time"]
    # the body frame: the nose is ahead of the tail base in every cluster
    assert (
        poses.sel(space="x", keypoint="nose") > poses.sel(space="x", keypoint="tail_base")
    ).all()


def test_feature_arrays_and_latents_are_accepted(single):
    from behavior import features
    from behavior.syllables.preprocess import Preprocessor

    ds, _ = single
    feats = features.extract(ds, sets=["pose", "kinematics"], windows=None, progress=False)
    bmap = BehaviorMap(**FAST, clustering="kmeans", n_clusters=5).fit(feats)
    assert bmap.channels_ == [str(f) for f in feats.feature.values]
    # features of the same session in another order give the same clusters
    shuffled = feats.isel(feature=np.random.default_rng(0).permutation(feats.sizes["feature"]))
    assert bmap.predict_states(shuffled).equals(bmap.predict_states(feats))
    with pytest.raises(PoseDataError, match="missing"):
        bmap.predict(feats.isel(feature=slice(0, 10)))
    latents = Preprocessor().fit_transform({"s1": ds})
    lmap = BehaviorMap(**FAST, clustering="kmeans", n_clusters=5, wavelets=True).fit(latents)
    assert lmap.channels_[-3:] == ["forward_speed", "sideways_speed", "turning"]
    assert lmap.frequencies_.max() < 15
    states = lmap.predict_states(latents)
    assert states.shape == (ds.sizes["time"], 1)


def test_recipes_are_presets_of_the_same_estimator():
    b = BehaviorMap.bsoid(random_state=1)
    assert (b.bin_size, b.clustering, b.predictor, b.random_state) == (
        "0.1 s",
        "hdbscan",
        "forest",
        1,
    )
    m = BehaviorMap.motionmapper(perplexity=20)
    assert (m.wavelets, m.embedding, m.clustering, m.perplexity) == (True, "tsne", "watershed", 20)
    assert clone(m).get_params() == m.get_params()


def test_fitted_map_pickles(tmp_path):
    x, _ = _blobs(n_per=40)
    bmap = BehaviorMap(**FAST, clustering="kmeans", n_clusters=4).fit(x)
    again = pickle.loads(pickle.dumps(bmap))
    assert again.predict_states(x).equals(bmap.predict_states(x))


# ---- real data -------------------------------------------------------------------------


@pytest.mark.realdata
def test_bsoid_recipe_on_a_real_open_field_file(shared_data):
    path = shared_data / (
        "bsoid_bottomup/raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.h5"
    )
    ds = bh.load_poses(path, fps=60)
    bmap = BehaviorMap.bsoid(embedding="tsne", max_samples=800, random_state=0, progress=False)
    eth = bmap.fit(ds).predict(ds)
    assert bmap.bin_frames_ == 6  # 100 ms at 60 fps
    assert eth.n_frames == 7200 and bmap.n_clusters_ >= 2
    states = eth.to_states().values
    assert (states >= 0).mean() > 0.95  # the forest assigns every usable frame
    coords = bmap.transform(ds)
    usable = np.isfinite(coords.values).all(axis=1)
    assert usable.mean() > 0.95 and not np.isnan(bmap.embedding_).any()
    assert bmap.density_ is not None and not np.isnan(bmap.density_.values).any()
    table = bmap.cluster_table(eth)
    assert table["n_frames"].sum() == (states >= 0).sum()
    assert 0 <= bmap.noise_fraction_ < 1
    # no nose/tail-base names in this file: the body axis is named
    poses = bmap.cluster_poses(ds, anterior="Snout", posterior="Butt/Proximal Tail")
    seen = poses.where(poses["n_frames"] > 0, drop=True)
    assert not np.isnan(seen.values).any()
    assert (seen.sel(space="x", keypoint="Snout") > 0).all()


# ---- errors and optional dependencies -----------------------------------------------


def test_bad_input_raises_pose_data_error_naming_the_argument(single):
    ds, _ = single
    with pytest.raises(PoseDataError, match="^clustering: expected one of"):
        BehaviorMap(clustering="dbscan").fit(np.zeros((50, 2)))
    with pytest.raises(PoseDataError, match="^n_components"):
        BehaviorMap(n_components=1.5).fit(np.zeros((50, 2)))
    with pytest.raises(PoseDataError, match="^X: expected"):
        BehaviorMap(**FAST).fit(42)
    with pytest.raises(PoseDataError, match=r"X\[1\]: missing dimension"):
        BehaviorMap(**FAST).fit(
            [np.zeros((5, 2)), xr.DataArray(np.zeros((5, 2)), dims=("time", "x"))]
        )
    with pytest.raises(PoseDataError, match="^fps"):
        BehaviorMap(**FAST, bin_size="0.1 s").fit(np.zeros((50, 2)))
    with pytest.raises(PoseDataError, match="not fitted"):
        BehaviorMap().predict(ds)
    with pytest.raises(PoseDataError, match="watershed"):
        BehaviorMap(clustering="watershed", n_dims=3).fit(np.zeros((50, 2)))
    fitted = BehaviorMap(**FAST, clustering="kmeans", n_clusters=2).fit(
        np.random.default_rng(0).normal(size=(60, 3))
    )
    with pytest.raises(PoseDataError, match="channels"):
        fitted.predict(np.zeros((10, 4)))
    with pytest.raises(PoseDataError, match="fit on arrays"):
        fitted.predict(ds)


def test_missing_umap_gives_a_clear_error_and_auto_falls_back(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)
    x, _ = _blobs(n_per=40)
    with pytest.raises(MissingDependencyError, match=r"umap.*behavior\[maps\]"):
        BehaviorMap(embedding="umap", progress=False).fit(x)
    bmap = BehaviorMap(
        embedding="auto", clustering="kmeans", n_clusters=4, progress=False, random_state=0
    ).fit(x)
    assert bmap.embedding_method_.startswith("tsne")


def test_tsne_uses_opentsne_when_installed_and_sklearn_otherwise(monkeypatch):
    x, y = _blobs(n_per=40)
    kw = {
        "embedding": "tsne",
        "clustering": "kmeans",
        "n_clusters": 4,
        "progress": False,
        "random_state": 0,
    }
    if embedding.BehaviorMap._has("openTSNE"):
        bmap = BehaviorMap(**kw, out_of_sample="native").fit(x)
        assert bmap.embedding_method_ == "tsne-openTSNE"
        assert adjusted_rand_score(y, bmap.predict_states(x).values[:, 0]) > 0.95
    monkeypatch.setitem(sys.modules, "openTSNE", None)
    bmap = BehaviorMap(**kw).fit(x)
    assert bmap.embedding_method_ == "tsne-sklearn"
    assert adjusted_rand_score(y, bmap.predict_states(x).values[:, 0]) > 0.95


def test_umap_map_when_installed():
    pytest.importorskip("umap")
    x, y = _blobs(n_per=50)
    bmap = BehaviorMap(
        embedding="umap",
        n_neighbors=15,
        clustering="hdbscan",
        min_cluster_size=0.1,
        progress=False,
        random_state=0,
    ).fit(x)
    assert bmap.embedding_method_ == "umap" and bmap.embedding_.shape == (200, 2)
    assert adjusted_rand_score(y, bmap.predict_states(x).values[:, 0]) > 0.95


# ---- plots ---------------------------------------------------------------------------


def test_map_and_pose_plots(single):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, _ = _blobs(n_per=50)
    bmap = BehaviorMap(**FAST, clustering="kmeans", n_clusters=4).fit(x)
    fig, ax = bh.plot.behavior_map(bmap, points=True)
    assert len(ax.images) == 2  # density and region borders
    assert sorted(t.get_text() for t in ax.texts) == ["0", "1", "2", "3"]
    assert len(ax.collections) == 1  # the sampled points
    plt.close(fig)
    flat = BehaviorMap(**FAST, clustering="kmeans", n_clusters=2, n_dims=3).fit(x)
    with pytest.raises(PoseDataError, match="n_dims=2"):
        bh.plot.behavior_map(flat)
    ds, _ = single
    pmap = BehaviorMap(**FAST, clustering="kmeans", n_clusters=5).fit(ds)
    poses = pmap.cluster_poses(ds)
    fig, axes = bh.plot.cluster_pose_panels(poses, clusters=3, n_cols=2)
    assert axes.shape == (2, 2) and [a.get_visible() for a in axes.flat] == [1, 1, 1, 0]
    assert axes.flat[0].get_title().startswith("cluster_0")
    assert len(axes.flat[0].lines) >= 5  # midline, tail and ears joined by name
    plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_neighbors": 0}, "n_neighbors"),
        ({"perplexity": -1.0}, "perplexity"),
        ({"n_frequencies": 0}, "n_frequencies"),
        ({"min_frequency": -1.0}, "min_frequency"),
        ({"min_frequency": 10.0, "max_frequency": 5.0}, "min <= max"),
        ({"omega0": float("nan")}, "omega0"),
        ({"min_dist": "far"}, "min_dist"),
    ],
)
def test_hyperparameters_are_refused_by_name_when_fit_starts(kwargs, match):
    ds, _ = bh.simulate.session(duration="5 s", seed=0)
    with pytest.raises(PoseDataError, match=match):
        BehaviorMap(progress=False, random_state=0, **kwargs).fit(ds)
