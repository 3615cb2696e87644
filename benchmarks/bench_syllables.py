"""Syllables: behavior's AR-HMM against keypoint-moseq's AR-HMM stage and hmmlearn.

Ground truth: ``bh.simulate.session(kind="single", n_motifs=8, duration="10 min",
seed=s)`` for s = 0, 1, 2 (3 x 18,000 frames at 30 fps, 10 keypoints, 8 motifs of
a switching AR process, mean duration 0.4 s; ``truth.labels`` is the motif of each
frame). Every model sees the same data, in three representations ("tracks"):

* ``pose``: :class:`behavior.syllables.preprocess.Preprocessor` with its defaults
  (egocentric alignment, imputation, PCA to 90 % of the variance), the input of
  keypoint-moseq's AR-HMM stage;
* ``pose+kin``: ``Preprocessor(n_components=12, min_confidence=0.3,
  max_missing=0.2, kinematics=True)``: 12 egocentric PCs plus the body-frame
  forward and lateral speed and the turning rate (cm/s, rad/s);
* ``latent``: the simulator's own 7-d AR latent (model check: the true generative
  process of the labels).

The simulator's motifs differ mostly in how the mouse moves through the arena,
and its poses are a nonlinear function of the latent, so an AR-HMM of egocentric
poses is misspecified there. The benchmark therefore also draws data from the
model keypoint-moseq assumes (``arpose`` tracks, ``bh.simulate.keypoint_ar(n_states=8,
n_sessions=3, noise_px=..., seed=0)`` with its other defaults): 8 states of a
switching AR(1) process in a 6-d pose space (stable dynamics with their own fixed
points), mapped linearly to 10 keypoints of a mouse-sized skeleton, turned and
moved by a random-walk heading and a wandering centroid, then given the
simulator's tracking noise (confidence-dependent Gaussian errors, 1 % outliers
with low confidence) at ``noise_px`` 1.5 (its default) and 0.5; state durations
gamma with mean 0.4 s. Every model sees the default ``Preprocessor`` output (PCA
to 90 %) of these sessions. ``benchmarks/bench_syllables_family.py`` runs a whole
family of such draws.

Models, all in the same run:

* behavior ``ARHMM`` Gibbs, K = 100 (an upper bound: never told 8), ``kappa``
  calibrated once per track by ``ARHMM.fit_kappa(target_duration="0.4 s")``;
* behavior ``ARHMM`` EM, K = 100, same kappa; and two variants of the Gibbs fit:
  without the burn-in merges (``merge=False``) and with the default kappa (1e4);
* hmmlearn ``GaussianHMM`` (full covariance) on the standardised track plus its
  frame-to-frame difference, **told the true K = 8**, with a sticky Dirichlet prior
  on the transitions;
* keypoint-moseq's AR-HMM stage (``jax_moseq.models.arhmm.init_model`` /
  ``resample_model``, which ``keypoint_moseq.fit_model(..., ar_only=True)`` runs),
  K = 100, same kappa, its default priors (``S_0_scale`` 0.01, ``K_0_scale`` 10,
  ``gamma`` 1e3, ``alpha`` 5.7, 3 lags) on the whitened track, in a subprocess of
  the interpreter named by ``KPMS_PYTHON`` (keypoint-moseq switches JAX to 64 bits
  at import and its licence forbids reuse, so it never runs in this process);
  skipped with a message when ``KPMS_PYTHON`` is unset.

behavior's :class:`~behavior.syllables.slds.KeypointSLDS` (keypoint-moseq's full
model: the AR-HMM on latent poses inferred under a per-keypoint, confidence-scaled
Student-t noise model, heading and centroid latent) runs on the tracks made from
keypoints (``pose``, ``arpose``), from the keypoints themselves: the same AR-HMM
stage (``--iters`` sweeps, same kappa), then ``--slds-iters`` iterations of the full
model, with the preprocessor's PCA at 90 % (as everyone else) and at 95 % of the
variance (the noise model, not the PCA, now has to drop the tracking noise).
keypoint-moseq's own full model is not run here (it hung on this CPU in 4 of 4
runs with an earlier install, issue 7); with keypoint-moseq 0.8.1 / jax-moseq 0.3.7
it runs, through ``run_kpms_keypoints`` (its whole pipeline on the keypoints), in
``bench_syllables_family.py``.

Reported: adjusted Rand index and NMI against the true motifs (Viterbi path for
behavior and hmmlearn, last Gibbs sample for keypoint-moseq, most frequent state
over the second half of the iterations for the SLDS), changepoint F1 with
a tolerance of +/- 3 frames (one-to-one matching), states used, seconds per
iteration (median over iterations after the first three, which include
compilation) and total fit time (initialisation and compilation included). Ratios
compare keypoint-moseq with behavior's Gibbs sampler. Then a 1-hour session
(108,000 frames, ``pose`` track) is fit with the default settings and timed.

Targets (issue 7): ARI >= 0.95 and no lower than keypoint-moseq's; seconds per
Gibbs iteration >= 5x lower than keypoint-moseq's; 1 hour fit in < 2 minutes.

Run::

    KPMS_PYTHON=/work/kpms_venv/bin/python python benchmarks/bench_syllables.py
    python benchmarks/bench_syllables.py --tracks latent --iters 30 --no-hour   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np

import behavior as bh
from behavior.syllables.arhmm import ARHMM
from behavior.syllables.preprocess import Preprocessor
from behavior.syllables.slds import KeypointSLDS

N_SESSIONS = 3
TRUE_K = 8

KPMS_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    t0 = time.perf_counter()
    import keypoint_moseq  # noqa: F401  (switches JAX to 64 bits, as in its normal use)
    import jax
    from jax_moseq.models import arhmm
    t_import = time.perf_counter() - t0
    args = json.loads(sys.argv[1])
    f = np.load(args["npz"])
    n = int(f["n"])
    xs = [f[f"x{i}"] for i in range(n)]
    ms = [f[f"m{i}"] for i in range(n)]
    ok = np.concatenate([x[m] for x, m in zip(xs, ms)])
    mu = ok.mean(0)
    white = np.linalg.inv(np.linalg.cholesky(np.cov(ok.T))).T
    T, D = max(len(x) for x in xs), xs[0].shape[1]
    X, M = np.zeros((n, T, D)), np.zeros((n, T))
    for i, (x, m) in enumerate(zip(xs, ms)):
        X[i, : len(x)] = (x - mu) @ white
        M[i, : len(x)] = m
    data = {"x": jax.numpy.asarray(X), "mask": jax.numpy.asarray(M)}
    trans = dict(num_states=args["n_states"], gamma=1e3, alpha=5.7, kappa=args["kappa"])
    ar = dict(latent_dim=D, nlags=args["n_lags"], S_0_scale=0.01, K_0_scale=10.0)
    t0 = time.perf_counter()
    model = arhmm.init_model(data, seed=jax.random.PRNGKey(args["seed"]),
                             trans_hypparams=trans, ar_hypparams=ar)
    jax.block_until_ready(model["states"]["z"])
    t_init = time.perf_counter() - t0
    times = []
    for _ in range(args["n_iter"]):
        t = time.perf_counter()
        model = arhmm.resample_model(data, **model)
        jax.block_until_ready(model["states"]["z"])
        times.append(time.perf_counter() - t)
    z = np.asarray(model["states"]["z"])
    nl = args["n_lags"]
    labels = [np.concatenate([np.full(nl, z[i, 0]), z[i]])[: len(x)].tolist()
              for i, x in enumerate(xs)]
    print(json.dumps({"t_import": t_import, "t_init": t_init, "times": times,
                      "labels": labels, "x64": bool(jax.config.jax_enable_x64)}))
    """
)


# keypoint-moseq's own pipeline on keypoints (what its modeling tutorial runs): its
# format_data / fit_pca / init_model, latent_dim from its PCA (90 % of the variance,
# at most 10), sigmasq_loc from estimate_sigmasq_loc, a kappa scan of the AR-HMM
# stage towards a median syllable of `target_frames`, the AR-HMM stage, then the full
# keypoint SLDS (jax_moseq.models.keypoint_slds.resample_model, ar_only=False) with
# kappa lowered by `full_kappa_divisor`. Only its public API is called.
KPMS_KEYPOINT_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, tempfile, time
    import numpy as np
    t0 = time.perf_counter()
    import keypoint_moseq as kpms
    import jax
    from jax_moseq.models import keypoint_slds
    from jax_moseq.utils import device_put_as_scalar, unbatch
    from keypoint_moseq.io import load_hdf5, save_hdf5
    t_import = time.perf_counter() - t0
    args = json.loads(sys.argv[1])
    f = np.load(args["npz"])
    names = [f"session{i}" for i in range(int(f["n"]))]
    coords = {k: f[f"y{i}"] for i, k in enumerate(names)}
    confs = {k: f[f"c{i}"] for i, k in enumerate(names)}
    fps = float(args["fps"])

    def log(**kw):
        print(json.dumps(kw), file=sys.stderr, flush=True)

    def block(model):
        jax.block_until_ready(model["states"]["z"])
        return model

    def labels(model):
        z = np.asarray(model["states"]["z"])
        nlags = model["states"]["x"].shape[1] - z.shape[1]
        per = unbatch(np.pad(z, ((0, 0), (nlags, 0)), mode="edge"), *metadata)
        return [np.asarray(per[k]).astype(int).tolist() for k in names]

    def median_run(model):
        z = np.asarray(model["states"]["z"])
        mask = np.asarray(data["mask"])[:, -z.shape[1]:] > 0
        runs = []
        for row, m in zip(z, mask):
            row = row[m]
            cut = np.flatnonzero(np.diff(row) != 0) + 1
            runs.append(np.diff(np.concatenate([[0], cut, [row.size]])))
        return float(np.median(np.concatenate(runs)))

    with tempfile.TemporaryDirectory() as tmp:
        project = tmp + "/project"
        kpms.setup_project(project, bodyparts=args["bodyparts"],
                           use_bodyparts=args["bodyparts"], skeleton=[],
                           anterior_bodyparts=args["anterior"],
                           posterior_bodyparts=args["posterior"], fps=fps)
        config = kpms.load_config(project)
    data, metadata = kpms.format_data(coords, confs, **config)

    def arhmm_stage(pca, kappa, n_iter, model=None, times=None):
        t_init = 0.0
        if model is None:
            config["trans_hypparams"]["kappa"] = float(kappa)
            t = time.perf_counter()
            model = block(kpms.init_model(
                data, pca=pca, seed=jax.random.PRNGKey(args["seed"]), **config))
            t_init, times = time.perf_counter() - t, []
        while len(times) < n_iter:
            t = time.perf_counter()
            model = block(keypoint_slds.resample_model(data, **model, ar_only=True))
            times.append(time.perf_counter() - t)
        return model, t_init, times

    def fit_ar_stage():
        pca = kpms.fit_pca(**data, **config)
        cum = np.cumsum(pca.explained_variance_ratio_)
        latent_dim = int(min(np.searchsorted(cum, args["variance"]) + 1, args["max_latent_dim"]))
        config["ar_hypparams"]["latent_dim"] = latent_dim
        config["cen_hypparams"]["sigmasq_loc"] = kpms.estimate_sigmasq_loc(
            data["Y"], data["mask"], filter_size=int(fps))
        out = {"t_import": t_import, "latent_dim": latent_dim,
               "variance": float(cum[latent_dim - 1]),
               "x64": bool(jax.config.jax_enable_x64), "segments": list(data["mask"].shape)}
        # kappa: fixed, or scanned in decades from kpms's config default (1e6) until the
        # median syllable after `scan_iters` sweeps brackets the target, then bisected
        probes, t_scan = [], time.perf_counter()
        if args["kappa"] is not None:
            best = (float(args["kappa"]), None, 0.0, [])
        else:
            target, log_k, lo, hi = args["target_frames"], 6.0, None, None
            for _ in range(args["scan_probes"]):
                model, t_init, times = arhmm_stage(pca, 10.0 ** log_k, args["scan_iters"])
                dur = median_run(model)
                probes.append((10.0 ** log_k, dur, model, t_init, times))
                log(kappa=10.0 ** log_k, median_frames=dur)
                if dur < target:
                    lo = log_k
                else:
                    hi = log_k
                if lo is not None and hi is not None:
                    if abs(hi - lo) <= 0.5 + 1e-9:
                        break
                    log_k = 0.5 * (lo + hi)
                else:
                    log_k += 2.0 if hi is None else -2.0
            kappa, _, model, t_init, times = min(
                probes, key=lambda p: abs(np.log(p[1] / target)))
            best = (kappa, model, t_init, list(times))
        kappa, model, t_init, times = best
        scan_s = time.perf_counter() - t_scan - t_init - sum(times)
        model, t_init2, times = arhmm_stage(pca, kappa, args["ar_iters"], model, times)
        out["scan"] = [[p[0], p[1]] for p in probes]
        out["kappa_ar"] = kappa
        out["ar"] = {"t_init": t_init + t_init2, "times": times, "labels": labels(model),
                     "scan_s": scan_s, "median_frames": median_run(model)}
        log(stage="arhmm", seconds=sum(times))
        out["kappa_full"] = kappa / args["full_kappa_divisor"]
        model = kpms.update_hypparams(model, kappa=float(out["kappa_full"]))
        return out, [], model

    ckpt, state = args["checkpoint"], args["checkpoint"] + ".json"

    def checkpoint(model, out, times):  # kpms's own hdf5 format, then a JSON sidecar
        for path in (ckpt + ".tmp", state + ".tmp"):
            if os.path.exists(path):
                os.remove(path)
        save_hdf5(ckpt + ".tmp", jax.device_get(model))
        with open(state + ".tmp", "w") as fh:
            json.dump({**out, "full_times": times}, fh)
        os.replace(ckpt + ".tmp", ckpt)
        os.replace(state + ".tmp", state)

    if os.path.exists(state):  # a restart after XLA wedged: resume the full model
        with open(state) as fh:
            out = json.load(fh)
        times = out.pop("full_times")
        model = device_put_as_scalar(load_hdf5(ckpt))
        log(resumed_full_iter=len(times))
    else:
        out, times, model = fit_ar_stage()
    while len(times) < args["full_iters"]:
        if len(times) % args["checkpoint_every"] == 0:
            checkpoint(model, out, times)
        t = time.perf_counter()
        model = block(keypoint_slds.resample_model(
            data, **model, ar_only=False, jitter=1e-3, parallel_message_passing=False))
        times.append(time.perf_counter() - t)
        log(full_iter=len(times) - 1, seconds=times[-1])
    out["full"] = {"times": times, "labels": labels(model), "median_frames": median_run(model)}
    print(json.dumps(out))
    """
)


# --------------------------------------------------------------------------- data
def simulate(duration: str, seeds: list[int]):
    sessions, truths, latents = [], [], []
    for s in seeds:
        ds, truth = bh.simulate.session(kind="single", n_motifs=TRUE_K, duration=duration, seed=s)
        sessions.append(ds)
        truths.append(truth.labels.values[:, 0].astype(int))
        latents.append(truth.latent.values.astype(np.float32))
    return sessions, truths, latents


def tracks(sessions, latents, names):
    """{track: (list of (T, D) arrays, list of masks)}."""
    out = {}
    if "pose" in names:
        lat = Preprocessor(variance=0.9).fit_transform(sessions)
        out["pose"] = ([d.astype(np.float32) for d in lat.data], [m.copy() for m in lat.mask])
    if "pose+kin" in names:
        pre = Preprocessor(n_components=12, min_confidence=0.3, max_missing=0.2, kinematics=True)
        lat = pre.fit_transform(sessions)
        out["pose+kin"] = ([d.astype(np.float32) for d in lat.data], [m.copy() for m in lat.mask])
    if "latent" in names:
        out["latent"] = (latents, [np.ones(len(x), bool) for x in latents])
    return out


# --------------------------------------------------------------------------- scores
def changepoint_f1(truth: list[np.ndarray], pred: list[np.ndarray], tol: int = 3) -> float:
    tp = n_true = n_pred = 0
    for t, p in zip(truth, pred):
        ct = np.flatnonzero(np.diff(t) != 0) + 1
        cp = np.flatnonzero(np.diff(p) != 0) + 1
        n_true += ct.size
        n_pred += cp.size
        used = np.zeros(cp.size, bool)
        for c in ct:  # greedy one-to-one matching, nearest first
            if cp.size == 0:
                break
            d = np.abs(cp - c).astype(float)
            d[used] = np.inf
            j = int(np.argmin(d))
            if d[j] <= tol:
                used[j] = True
                tp += 1
    if n_true == 0 or n_pred == 0:
        return 0.0
    precision, recall = tp / n_pred, tp / n_true
    return 0.0 if tp == 0 else 2 * precision * recall / (precision + recall)


def scores(truth, pred) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    t, p = np.concatenate(truth), np.concatenate(pred)
    return {
        "ari": adjusted_rand_score(t, p),
        "nmi": normalized_mutual_info_score(t, p),
        "cp_f1": changepoint_f1(truth, pred),
        "states": int(np.unique(p).size),
    }


def per_iter(seconds) -> float:
    seconds = np.asarray(seconds, float)
    return float(np.median(seconds[3:] if seconds.size > 4 else seconds))


# --------------------------------------------------------------------------- models
def run_ours(method, xs, ms, truth, kappa, n_iter, **kw):
    model = ARHMM(
        n_states=100,
        kappa=kappa,
        method=method,
        n_iter=n_iter,
        random_state=0,
        progress=False,
        **kw,
    )
    t = time.perf_counter()
    model.fit(xs, mask=ms)
    total = time.perf_counter() - t
    pred = model.predict(xs, mask=ms)
    return {
        **scores(truth, pred),
        "s_iter": per_iter(model.iteration_seconds_),
        "total": total,
        "iters": model.n_iter_,
    }


def run_slds(sessions, truth, kappa, n_iter, slds_iter, variance):
    """behavior's keypoint SLDS: the AR-HMM stage (``n_iter`` sweeps), then the full model."""
    arhmm = ARHMM(n_states=100, kappa=kappa, n_iter=n_iter, random_state=0, progress=False)
    pre = Preprocessor(variance=variance)
    model = KeypointSLDS(arhmm, pre, n_iter=slds_iter, random_state=0, progress=False)
    t = time.perf_counter()
    model.fit(sessions)
    total = time.perf_counter() - t
    return {
        **scores(truth, model.labels_),
        "s_iter": per_iter(model.iteration_seconds_),
        "total": total,
        "iters": f"{n_iter}+{slds_iter}",
    }


def run_hmmlearn(xs, ms, truth, n_iter):
    from hmmlearn.hmm import GaussianHMM

    feats = [np.hstack([x, np.gradient(x, axis=0)]) for x in xs]
    allf = np.concatenate(feats)
    ok = np.concatenate(ms)
    mu, sd = allf[ok].mean(0), allf[ok].std(0)
    X = (allf - mu) / np.where(sd > 0, sd, 1)
    lengths = [len(x) for x in xs]
    prior = np.ones((TRUE_K, TRUE_K)) + np.eye(TRUE_K) * 1000.0
    hmm = GaussianHMM(
        n_components=TRUE_K,
        covariance_type="full",
        n_iter=n_iter,
        random_state=0,
        transmat_prior=prior,
        tol=1e-3,
    )
    t = time.perf_counter()
    hmm.fit(X, lengths)
    total = time.perf_counter() - t
    pred = hmm.predict(X, lengths)
    split = np.split(pred, np.cumsum(lengths)[:-1])
    iters = max(1, hmm.monitor_.iter)
    return {**scores(truth, split), "s_iter": total / iters, "total": total, "iters": iters}


def kpms_environment() -> dict:
    """The environment of keypoint-moseq's subprocess: no async dispatch, one Eigen thread.

    Its full model wedged XLA's CPU runtime on this 2-core machine, as in issue 7:
    every thread parked on a futex, no CPU used, the main thread waiting in
    ``tsl::BlockUntilReady`` for a buffer no thread computes (gdb), after 11-20
    iterations with the defaults and after ~95 with single-threaded Eigen alone
    (``--xla_cpu_multi_thread_eigen=false``). Computations are therefore also run
    inline (``JAX_CPU_ENABLE_ASYNC_DISPATCH=false``). Both keypoint-moseq runs use it,
    so their timings compare.
    """
    env = dict(os.environ)
    flag = "--xla_cpu_multi_thread_eigen=false"
    if flag not in env.get("XLA_FLAGS", ""):
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {flag}".strip()
    env["JAX_CPU_ENABLE_ASYNC_DISPATCH"] = "false"
    return env


def run_kpms(xs, ms, truth, kappa, n_iter, python):
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "track.npz"
        np.savez(
            npz,
            n=len(xs),
            **{f"x{i}": x for i, x in enumerate(xs)},
            **{f"m{i}": m for i, m in enumerate(ms)},
        )
        script = Path(tmp) / "kpms_arhmm.py"
        script.write_text(KPMS_SCRIPT)
        args = {
            "npz": str(npz),
            "n_states": 100,
            "kappa": kappa,
            "n_lags": 3,
            "n_iter": n_iter,
            "seed": 0,
        }
        t = time.perf_counter()
        proc = subprocess.run(
            [python, str(script), json.dumps(args)],
            capture_output=True,
            text=True,
            timeout=3600,
            env=kpms_environment(),
        )
        wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"keypoint-moseq failed:\n{proc.stderr[-2000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    pred = [np.asarray(lab) for lab in res["labels"]]
    total = res["t_init"] + sum(res["times"])
    return {
        **scores(truth, pred),
        "s_iter": per_iter(res["times"]),
        "total": total,
        "iters": len(res["times"]),
        "init": res["t_init"],
        "wall": wall,
        "x64": res["x64"],
        "labels": pred,
    }


def _run_watched(command: list[str], result: Path, stall_seconds: float) -> tuple[int, list]:
    """Run keypoint-moseq's script, its progress lines shown, killed when they stop."""
    last = [time.monotonic()]
    with result.open("w") as stdout:  # a file, so that a long result cannot block
        proc = subprocess.Popen(
            command, stdout=stdout, stderr=subprocess.PIPE, text=True, env=kpms_environment()
        )

        def watchdog() -> None:  # XLA's CPU runtime can wedge: do not wait forever
            while proc.poll() is None:
                if time.monotonic() - last[0] > stall_seconds:
                    proc.kill()
                time.sleep(5)

        threading.Thread(target=watchdog, daemon=True).start()
        progress = []
        for line in proc.stderr:
            last[0] = time.monotonic()
            if line.startswith("{"):
                print(f"    kpms {line.strip()}", flush=True)
            progress.append(line)
        proc.wait()
    return proc.returncode, progress


def run_kpms_keypoints(
    sessions,
    python: str,
    *,
    anterior: list[str],
    posterior: list[str],
    kappa: float | None = None,
    target_frames: float = 12.0,
    scan_probes: int = 4,
    scan_iters: int = 20,
    ar_iters: int = 50,
    full_iters: int = 100,
    full_kappa_divisor: float = 10.0,
    variance: float = 0.9,
    max_latent_dim: int = 10,
    stall_seconds: float = 300.0,
    max_restarts: int = 3,
    checkpoint_every: int = 5,
    seed: int = 0,
) -> dict:
    """keypoint-moseq's AR-HMM stage then its full keypoint SLDS on pose datasets.

    Runs ``KPMS_KEYPOINT_SCRIPT`` in a subprocess of ``python`` (keypoint-moseq's own
    environment); the keypoints (time x keypoint x 2) and confidences of the first
    individual of each session travel as an .npz, the settings as JSON. ``kappa=None``
    scans kappa for a median syllable of ``target_frames`` (its docs' 0.4 s at 30 fps).
    The subprocess runs with ``kpms_environment()`` and is killed after
    ``stall_seconds`` without a progress line; the full model keeps a checkpoint
    (kpms's own hdf5 format) every ``checkpoint_every`` iterations, from which a
    killed run restarts (at most ``max_restarts`` times; ``"restarts"`` in the result).
    ``seed`` seeds its ``init_model`` (its default is 0).
    Returns the kappas, latent_dim and, per stage (``"ar"``, ``"full"``), the labels
    of the last Gibbs sample per session and the seconds of each iteration.
    """
    fps = float(sessions[0].attrs.get("fps", 30.0))
    arrays = {}
    for i, ds in enumerate(sessions):
        pos = ds["position"].isel(individual=0).transpose("time", "keypoint", "space")
        conf = ds["confidence"].isel(individual=0).transpose("time", "keypoint")
        arrays[f"y{i}"] = pos.values.astype(float)
        arrays[f"c{i}"] = conf.values.astype(float)
    args = {
        "fps": fps,
        "bodyparts": [str(k) for k in sessions[0]["keypoint"].values],
        "anterior": anterior,
        "posterior": posterior,
        "kappa": kappa,
        "target_frames": target_frames,
        "scan_probes": scan_probes,
        "scan_iters": scan_iters,
        "ar_iters": ar_iters,
        "full_iters": full_iters,
        "full_kappa_divisor": full_kappa_divisor,
        "variance": variance,
        "max_latent_dim": max_latent_dim,
        "checkpoint_every": checkpoint_every,
        "seed": int(seed),
    }
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "keypoints.npz"
        np.savez(npz, n=len(sessions), **arrays)
        script = Path(tmp) / "kpms_keypoint_slds.py"
        script.write_text(KPMS_KEYPOINT_SCRIPT)
        args["npz"] = str(npz)
        args["checkpoint"] = str(Path(tmp) / "model.h5")
        result = Path(tmp) / "result.json"
        t = time.perf_counter()
        for attempt in range(max_restarts + 1):
            returncode, progress = _run_watched(
                [python, str(script), json.dumps(args)], result, stall_seconds
            )
            resumable = Path(args["checkpoint"] + ".json").exists()
            if returncode == 0 or not resumable or attempt == max_restarts:
                break
            print(
                f"    kpms: no progress for {stall_seconds:.0f} s (XLA's CPU runtime wedged); "
                "restarting from its last checkpoint",
                flush=True,
            )
        wall = time.perf_counter() - t
        stdout = result.read_text()
    if returncode != 0:
        raise RuntimeError(
            f"keypoint-moseq failed (exit {returncode}; killed after {stall_seconds:.0f} s "
            f"without progress if negative):\n{''.join(progress)[-3000:]}"
        )
    res = json.loads(stdout.strip().splitlines()[-1])
    res["restarts"] = attempt
    res["wall"] = wall
    for stage in ("ar", "full"):
        res[stage]["labels"] = [np.asarray(lab) for lab in res[stage]["labels"]]
    return res


# --------------------------------------------------------------------------- main
def show(name, r):
    extra = f"  (init+compile {r['init']:.1f} s)" if "init" in r else ""
    print(
        f"  {name:<30} ARI {r['ari']:.3f}  NMI {r['nmi']:.3f}  cpF1 {r['cp_f1']:.3f}  "
        f"states {r['states']:>3}  {r['s_iter']:.3f} s/iter  total {r['total']:.1f} s "
        f"({r['iters']} it){extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracks", default="pose,pose+kin,latent,arpose,arpose-0.5px")
    parser.add_argument("--iters", type=int, default=50, help="Gibbs / EM iterations")
    parser.add_argument("--no-hour", action="store_true", help="skip the 1-hour session")
    parser.add_argument("--no-kappa-fit", action="store_true", help="use kappa=1e4")
    parser.add_argument(
        "--slds-iters", type=int, default=100, help="keypoint SLDS iterations (0: skip)"
    )
    args = parser.parse_args()
    names = args.tracks.split(",")
    kpms_python = os.environ.get("KPMS_PYTHON")
    load = os.getloadavg()
    print(
        f"bench_syllables: {os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} "
        f"{load[2]:.1f} at start (timings are taken on a shared machine)"
    )
    t = time.perf_counter()
    sessions, truth, latents = simulate("10 min", list(range(N_SESSIONS)))
    data = {k: (*v, truth) for k, v in tracks(sessions, latents, names).items()}
    keypoints = {"pose": sessions}  # tracks the keypoint SLDS runs on (from the keypoints)
    for name in names:
        if name.startswith("arpose"):
            noise = float(name.split("-")[1].removesuffix("px")) if "-" in name else 1.5
            generated, ar_truth = bh.simulate.keypoint_ar(
                n_states=TRUE_K, n_sessions=N_SESSIONS, noise_px=noise, seed=0
            )
            states = ar_truth.labels
            lat = Preprocessor(variance=0.9).fit_transform(generated)
            data[name] = (list(lat.data), [m.copy() for m in lat.mask], states)
            keypoints[name] = generated
    print(f"simulated and preprocessed 3 x 18,000 frames in {time.perf_counter() - t:.1f} s")
    if not kpms_python:
        print("keypoint-moseq: skipped (set KPMS_PYTHON to an interpreter with keypoint-moseq)")
    ratios = []
    for name in names:
        xs, ms, truth = data[name]
        print(f"\n[{name}] {xs[0].shape[1]} dims, {np.mean(np.concatenate(ms)):.1%} frames usable")
        kappa = 1e4
        if not args.no_kappa_fit:
            t = time.perf_counter()
            kappa = ARHMM(n_states=100, kappa=1e4, random_state=0, progress=False).fit_kappa(
                xs, "0.4 s", fps=30, mask=ms
            )
            print(f"  fit_kappa(0.4 s) -> kappa {kappa:.3g} in {time.perf_counter() - t:.1f} s")
        ours = run_ours("gibbs", xs, ms, truth, kappa, args.iters)
        show("behavior ARHMM gibbs K<=100", ours)
        show("behavior ARHMM em    K<=100", run_ours("em", xs, ms, truth, kappa, args.iters))
        show(
            "  gibbs, merge=False", run_ours("gibbs", xs, ms, truth, kappa, args.iters, merge=False)
        )
        if kappa != 1e4:
            show("  gibbs, default kappa 1e4", run_ours("gibbs", xs, ms, truth, 1e4, args.iters))
        slds = None
        if name in keypoints and args.slds_iters > 0:
            for variance in (0.9, 0.95):
                slds = run_slds(
                    keypoints[name], truth, kappa, args.iters, args.slds_iters, variance
                )
                show(f"behavior keypoint SLDS, {variance:.0%} PCA", slds)
        show("hmmlearn GaussianHMM K=8 (told)", run_hmmlearn(xs, ms, truth, args.iters))
        if kpms_python:
            kp = run_kpms(xs, ms, truth, kappa, args.iters, kpms_python)
            show(f"keypoint-moseq AR-HMM K<=100{' (x64)' if kp['x64'] else ''}", kp)
            ratios.append((name, ours, kp))
            print(
                f"  ratios: ARI behavior/kpms {ours['ari'] / max(kp['ari'], 1e-9):.2f}"
                + (f" (SLDS {slds['ari'] / max(kp['ari'], 1e-9):.2f})" if slds else "")
                + f", s/iter kpms/behavior {kp['s_iter'] / ours['s_iter']:.1f}x"
                + (f" (SLDS {kp['s_iter'] / slds['s_iter']:.1f}x)" if slds else "")
                + f", total kpms/behavior {kp['total'] / ours['total']:.1f}x"
            )
    if not args.no_hour:
        t = time.perf_counter()
        hour, hour_truth, _ = simulate("60 min", [10])
        lat = Preprocessor(variance=0.9).fit_transform(hour)
        prep = time.perf_counter() - t
        model = ARHMM(n_states=100, random_state=0, progress=False)
        t = time.perf_counter()
        model.fit(lat)
        fit = time.perf_counter() - t
        res = scores(hour_truth, model.predict(lat))
        print(
            f"\n[1 hour, pose track] {lat.data[0].shape[0]} frames: simulate+preprocess "
            f"{prep:.1f} s, fit {fit:.1f} s ({model.n_iter_} Gibbs sweeps, "
            f"{per_iter(model.iteration_seconds_):.3f} s/iter, default settings), "
            f"ARI {res['ari']:.3f}; target < 120 s: {'met' if fit < 120 else 'NOT met'}"
        )
    load = os.getloadavg()
    print(f"\nload average at end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
