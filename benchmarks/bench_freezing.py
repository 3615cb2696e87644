"""Does the freezing preset generalise beyond the recording it was developed on?

BehaviorDEPOT's demo1 (fear conditioning, 50 fps, 32 px/cm, one mouse, human
per-frame freezing labels) is turned into recordings it never was: resampled to
30 and 25 fps (positions interpolated linearly, labels taken from the nearest
original frame), its coordinates scaled by 0.5 and 2.3 with and without a
``px_per_cm`` calibration, tracked at a lower resolution (scaled by 0.4 with one
pixel of tracking noise), and with a head-mounted implant (the nose and ears
jitter by 1.5 mm and jump by 1 cm in 2 % of the frames). For each variant the
frame agreement (accuracy) and the freezing frame F1 against the human labels are
printed for the preset with its defaults ("new") and with the settings it had
before it was made scale-free ("old", given the true calibration where the
variant has none, since the old preset refused uncalibrated pixels), and their
difference, measured in the same run. No parameter was fitted to any variant.

Run: python benchmarks/bench_freezing.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import behavior as bh
from behavior import events
from behavior.bouts import mask_from_bouts

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEMO1 = DATA / "behaviordepot_freezing" / "demo" / "demo1"
DEMO1_FPS = 50.0
DEMO1_PX_PER_CM = 32.0
HEAD = ("Nose", "Left Ear", "Right Ear")

# the preset's settings before it was made scale-free (its defaults until then)
OLD_SETTINGS = {
    "max_speed": "1 cm/s",
    "quantity_name": "speed",
    "max_angular_speed": "12 deg/s",
    "smoothing": "0.5 s",
    "min_duration": "1 s",
    "n_blocks": 4,
    "n_se": 2.0,
}


def load_demo1() -> tuple[xr.Dataset, np.ndarray]:
    """demo1's poses (pixels, uncalibrated, 50 fps) and the human freezing labels."""
    ds = bh.load_poses(DEMO1 / "demo1_tracking.csv", fps=DEMO1_FPS)
    human = pd.read_csv(DEMO1 / "demo1_human_freezing_perframe.csv")["freezing_human"]
    return ds, human.to_numpy().astype(bool)


def resample(ds: xr.Dataset, labels: np.ndarray, fps: float) -> tuple[xr.Dataset, np.ndarray]:
    """Poses at ``fps`` (linear interpolation in time) and the labels of the nearest frame."""
    fps0 = float(ds.attrs["fps"])
    n = ds.sizes["time"]
    t_new = np.arange(int(np.floor((n - 1) / fps0 * fps)) + 1) / fps
    t_old = np.arange(n) / fps0
    pos = ds.position.transpose("time", "space", "keypoint", "individual").values
    flat = pos.reshape(n, -1)
    out = np.stack([np.interp(t_new, t_old, flat[:, j]) for j in range(flat.shape[1])], axis=1)
    conf = ds.confidence.transpose("time", "keypoint", "individual").values
    near = np.minimum(np.rint(t_new * fps0).astype(int), n - 1)
    new = bh.from_numpy(
        out.reshape(len(t_new), *pos.shape[1:]), conf[near],
        individual_names=[str(v) for v in ds.individual.values],
        keypoint_names=[str(v) for v in ds.keypoint.values], fps=fps,
    )  # fmt: skip
    return new, labels[near]


def rescale(ds: xr.Dataset, factor: float, px_per_cm: float | None) -> xr.Dataset:
    """Coordinates times ``factor``; ``px_per_cm`` stored in the attrs, or none."""
    out = ds.copy(deep=True)
    out["position"] = out.position * factor
    out.attrs.pop("px_per_cm", None)
    if px_per_cm is not None:
        out.attrs["px_per_cm"] = float(px_per_cm)
    return out


def add_noise(ds: xr.Dataset, sigma_px: float, keypoints=None, jump_px: float = 0.0,
              jump_fraction: float = 0.0, seed: int = 0) -> xr.Dataset:  # fmt: skip
    """Tracking noise: Gaussian ``sigma_px`` and, in ``jump_fraction`` of the frames,
    jumps of ``jump_px`` in a random direction, on ``keypoints`` (default all)."""
    rng = np.random.default_rng(seed)
    out = ds.copy(deep=True)
    names = [str(k) for k in out.keypoint.values]
    chosen = [names.index(k) for k in (keypoints or names)]
    pos = out.position.transpose("time", "space", "keypoint", "individual").values.copy()
    n = pos.shape[0]
    noise = rng.normal(0.0, sigma_px, size=(n, 2, len(chosen), pos.shape[3]))
    jump = rng.random((n, 1, len(chosen), pos.shape[3])) < jump_fraction
    angle = rng.uniform(0, 2 * np.pi, size=jump.shape)
    noise += jump * jump_px * np.concatenate([np.cos(angle), np.sin(angle)], axis=1)
    pos[:, :, chosen, :] += noise
    out["position"] = out.position.copy(data=pos)
    return out


def implant_skeleton(ds: xr.Dataset, seed: int = 3) -> xr.Dataset:
    """demo1 as a rig tracking five points, one on a head implant with a cable: the
    nose, ears and tail base of demo1 and an ``Implant`` point 1 cm behind the ears'
    midpoint that sways with the cable (a slow 3 mm wander) and jumps by 1 cm in
    5 % of the frames (as BehaviorDEPOT's demo4 skeleton: Nose, LeftEar, RightEar,
    Tailbase, Implant)."""
    rng = np.random.default_rng(seed)
    pos = ds.position.sel(keypoint=["Nose", "Left Ear", "Right Ear", "Tailbase"])
    ears = pos.sel(keypoint=["Left Ear", "Right Ear"]).mean("keypoint")
    axis = ears - pos.sel(keypoint="Nose")
    axis = axis / np.hypot(axis.sel(space="x"), axis.sel(space="y"))
    implant = ears + axis * DEMO1_PX_PER_CM
    n = ds.sizes["time"]
    sway = np.cumsum(rng.normal(0, 1, size=(n, 2)), axis=0)
    sway = sway - pd.DataFrame(sway).rolling(250, center=True, min_periods=1).mean().to_numpy()
    sway *= 0.3 * DEMO1_PX_PER_CM / sway.std()
    jump = (rng.random(n) < 0.05)[:, None] * rng.normal(0, DEMO1_PX_PER_CM, size=(n, 2))
    wander = xr.DataArray((sway + jump)[:, :, None], dims=("time", "space", "individual"))
    implant = implant + wander
    implant = implant.expand_dims(keypoint=["Implant"]).transpose(*pos.dims)
    values = xr.concat([pos, implant], dim="keypoint").values
    return bh.from_numpy(values, keypoint_names=[*map(str, pos.keypoint.values), "Implant"],
                         fps=float(ds.attrs["fps"]))  # fmt: skip


def variants() -> list[tuple[str, xr.Dataset, np.ndarray, float]]:
    """(name, pose dataset, human labels, true px_per_cm) of each recording."""
    ds, human = load_demo1()
    c = DEMO1_PX_PER_CM
    fps30, h30 = resample(ds, human, 30.0)
    fps25, h25 = resample(ds, human, 25.0)
    implant = add_noise(ds, 0.15 * c, HEAD, jump_px=1.0 * c, jump_fraction=0.02, seed=1)
    held, h_held = resample(add_noise(rescale(ds, 0.4, None), 1.0), human, 30.0)
    held = add_noise(held, 0.15 * c * 0.4, HEAD, jump_px=0.4 * c, jump_fraction=0.02, seed=2)
    five, h_five = resample(rescale(implant_skeleton(ds), 14 / c, None), human, 30.0)
    return [
        ("original 50 fps, 32 px/cm", rescale(ds, 1.0, c), human, c),
        ("original, no calibration", ds, human, c),
        ("30 fps", rescale(fps30, 1.0, c), h30, c),
        ("25 fps", rescale(fps25, 1.0, c), h25, c),
        ("x0.5 px, calibrated", rescale(ds, 0.5, 0.5 * c), human, 0.5 * c),
        ("x0.5 px, no calibration", rescale(ds, 0.5, None), human, 0.5 * c),
        ("x2.3 px, calibrated", rescale(ds, 2.3, 2.3 * c), human, 2.3 * c),
        ("x2.3 px, no calibration", rescale(ds, 2.3, None), human, 2.3 * c),
        ("x0.4 px + 1 px noise", add_noise(rescale(ds, 0.4, 0.4 * c), 1.0), human, 0.4 * c),
        ("head implant", rescale(implant, 1.0, c), human, c),
        ("30 fps, x0.4 + noise, implant, no cal.", held, h_held, 0.4 * c),
        ("5-point implant rig, 30 fps, 14 px", five, h_five, 14.0),
    ]


def frames_of(found: pd.DataFrame, ds: xr.Dataset) -> np.ndarray:
    """Per-frame freezing mask of the first individual from a bout table."""
    like = xr.DataArray(np.zeros((ds.sizes["time"], ds.sizes["individual"])),
                        dims=("time", "individual"),
                        coords={"individual": ds.individual.values})  # fmt: skip
    return mask_from_bouts(found, like).values[:, 0]


def scores(got: np.ndarray, human: np.ndarray) -> tuple[float, float]:
    """Frame agreement (accuracy) and freezing frame F1."""
    tp = float((got & human).sum())
    return float((got == human).mean()), 2 * tp / max(1.0, float(got.sum() + human.sum()))


def old_preset(ds: xr.Dataset, px_per_cm: float) -> pd.DataFrame:
    if ds.attrs.get("px_per_cm"):
        return events.freezing(ds, **OLD_SETTINGS)
    return events.freezing(ds, px_per_cm=px_per_cm, **OLD_SETTINGS)


def table() -> pd.DataFrame:
    rows = []
    for name, ds, human, px_per_cm in variants():
        t0 = time.perf_counter()
        new = scores(frames_of(events.freezing(ds), ds), human)
        seconds = time.perf_counter() - t0
        old = scores(frames_of(old_preset(ds, px_per_cm), ds), human)
        rows.append({"variant": name, "frames": len(human), "old_agree": old[0],
                     "new_agree": new[0], "diff_agree": new[0] - old[0], "old_f1": old[1],
                     "new_f1": new[1], "diff_f1": new[1] - old[1], "new_s": seconds})  # fmt: skip
    return pd.DataFrame(rows)


def main() -> None:
    print("== freezing preset on BehaviorDEPOT demo1 and recordings made from it")
    if not DEMO1.is_dir():
        print("   skipped: ../shared/data/behaviordepot_freezing not found")
        return
    out = table()
    print(out.round(3).to_string(index=False))
    print(f"\n   mean agreement: old {out.old_agree.mean():.3f}, new {out.new_agree.mean():.3f}; "
          f"worst: old {out.old_agree.min():.3f}, new {out.new_agree.min():.3f}")  # fmt: skip
    print("   BehaviorDEPOT's own rule on the original: 95.4 %")


if __name__ == "__main__":
    main()
