"""ContrastiveEncoder: fit time, held-out decoding against PCA, and the cebra package.

- Fit time per 1000 steps (default architecture: window 9, hidden 64, batch 512,
  output 8; measured over ``--timing-steps`` steps after a compiling fit) on 6,000
  frames x 40 features, 6,000 x 559 and one hour at 30 fps of 559 features
  (108,000 x 559): a step's cost grows with the features, not with the frames.
- Decoding: an angle (heading on a ring) drives 40 features nonlinearly under
  12 fast nuisance factors of larger variance; 10 time blocks, 2 held out.
  A ridge decoder of (cos, sin) of the angle is fit on the 8 training blocks and
  scored (R^2) on the held-out ones, from: the behavior-conditioned embedding
  (y = cos, sin), the same with y shuffled in time, the time-contrastive
  embedding, and PCA to the same 8 dimensions, all in this run. Ratios are
  behavior / PCA and behavior / shuffled.
- The ``cebra`` package (PyTorch) on the same split when it imports; it is an
  optional cross-check, never installed by this project: the script says when it
  was skipped and why.

Run::

    python benchmarks/bench_contrastive.py [--steps 2000] [--seeds 3] [--timing-steps 300]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score

from behavior.contrastive import ContrastiveEncoder


def ring_latent(n: int, seed: int, n_features: int = 40, n_nuisance: int = 12):
    """Features driven by an angle turning ~0.03 rad per frame, plus fast nuisance."""
    rng = np.random.default_rng(seed)
    speed = 0.03 + 0.03 * np.convolve(rng.normal(size=n), np.ones(30) / 5.5, "same")
    circle = np.column_stack([np.cos(np.cumsum(speed)), np.sin(np.cumsum(speed))])
    signal = np.tanh(1.5 * circle @ rng.normal(size=(2, n_features)))
    nuisance = rng.normal(size=(n, n_nuisance)) @ rng.normal(size=(n_nuisance, n_features))
    return (signal + 0.8 * nuisance + 0.3 * rng.normal(size=(n, n_features))).astype(
        np.float32
    ), circle


def fit_seconds(X: np.ndarray, steps: int) -> float:
    """Seconds per 1000 steps of a time-contrastive fit (after one compiling fit)."""
    ContrastiveEncoder(n_steps=2, random_state=0, progress=False).fit(X)
    enc = ContrastiveEncoder(n_steps=steps, random_state=0, progress=False).fit(X)
    return enc.fit_seconds_ * 1000 / steps


def decoding(seed: int, steps: int) -> dict[str, float]:
    X, circle = ring_latent(6000, seed)
    parts = np.array_split(np.arange(len(X)), 10)
    train = [b for i, b in enumerate(parts) if i not in (2, 7)]
    test = [b for i, b in enumerate(parts) if i in (2, 7)]
    X_train, X_test = [X[b] for b in train], [X[b] for b in test]
    c_train, c_test = [circle[b] for b in train], np.concatenate([circle[b] for b in test])

    def r2(emb_train, emb_test) -> float:
        model = Ridge(alpha=1e-3).fit(np.concatenate(emb_train), np.concatenate(c_train))
        return r2_score(c_test, model.predict(np.concatenate(emb_test)))

    rng = np.random.default_rng(seed + 100)
    out = {}
    common = {"n_steps": steps, "random_state": seed, "progress": False}
    for name, params, y in (
        ("behavior", {}, c_train),
        ("shuffled", {}, [rng.permutation(c) for c in c_train]),
        ("time", {"conditional": "time"}, None),
    ):
        enc = ContrastiveEncoder(**params, **common).fit(X_train, y)
        out[name] = r2(enc.transform(X_train), enc.transform(X_test))
    pca = PCA(n_components=8).fit(np.concatenate(X_train))
    out["pca"] = r2([pca.transform(x) for x in X_train], [pca.transform(x) for x in X_test])
    out["cebra"] = cebra_r2(X_train, X_test, c_train, r2, steps, seed)
    return out


def cebra_r2(X_train, X_test, c_train, r2, steps: int, seed: int) -> float:
    """The cebra package's behavior-conditioned embedding, or NaN when it does not import."""
    try:
        import cebra
    except ImportError:
        return float("nan")
    model = cebra.CEBRA(
        model_architecture="offset10-model",
        output_dimension=8,
        batch_size=512,
        temperature=1.0,
        learning_rate=3e-3,
        max_iterations=steps,
        conditional="time_delta",
        time_offsets=10,
        distance="cosine",
        verbose=False,
    )
    start = time.perf_counter()
    model.fit(np.concatenate(X_train), np.concatenate(c_train))
    seconds = time.perf_counter() - start
    print(f"  cebra fit: {seconds * 1000 / steps:.2f} s per 1000 steps (seed {seed})")
    return r2([model.transform(x) for x in X_train], [model.transform(x) for x in X_test])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--timing-steps", type=int, default=300)
    args = parser.parse_args()

    try:
        import cebra  # noqa: F401

        cebra_note = "cebra imported: compared below"
    except ImportError as err:
        cebra_note = (
            f"cebra comparison skipped: the package does not import here ({err}); it needs "
            "PyTorch, which this project does not depend on or install"
        )

    small, _ = ring_latent(6000, 0)
    hour = np.random.default_rng(0).standard_normal((108_000, 559), dtype=np.float32)
    print("fit time (time-contrastive, batch 512, window 9, hidden 64, output 8)")
    print(f"  6,000 x 40        {fit_seconds(small, args.timing_steps):6.2f} s per 1000 steps")
    wide = fit_seconds(hour[:6000], args.timing_steps)
    print(f"  6,000 x 559       {wide:6.2f} s per 1000 steps")
    long = fit_seconds(hour, args.timing_steps)
    print(f"  108,000 x 559     {long:6.2f} s per 1000 steps (x{long / wide:.2f} the 6,000 frames)")
    del hour

    print(f"\nheld-out R^2 of the ring angle ({args.steps} steps, 2 of 10 blocks held out)")
    rows = [decoding(seed, args.steps) for seed in range(args.seeds)]
    names = ["behavior", "shuffled", "time", "pca", "cebra"]
    print("  seed " + "".join(f"{n:>10}" for n in names))
    for seed, row in enumerate(rows):
        print(f"  {seed:4d} " + "".join(f"{row[n]:10.3f}" for n in names))
    mean = {n: float(np.mean([r[n] for r in rows])) for n in names}
    print("  mean " + "".join(f"{mean[n]:10.3f}" for n in names))
    print(f"  behavior / PCA       {mean['behavior'] / max(mean['pca'], 1e-3):8.1f}x")
    print(f"  behavior - shuffled  {mean['behavior'] - mean['shuffled']:8.3f}")
    print(f"\n{cebra_note}")


if __name__ == "__main__":
    main()
