"""Write speed of labelled clips (:func:`behavior.plot.video.labelled_clip`).

A 10 s clip (300 frames, 640 x 480, 30 fps) of the DeepLabCut open-field video in
``../shared/data/dlc2nwb_openfield`` with its DeepLabCut poses and a one-behavior
ethogram, from 0 s and from 40 s (frames are decoded from the start of the
video, so a later start costs the decoding before it). The baseline, timed in
the same run, copies the same frames through the same ffmpeg reader and H.264
writer settings without drawing anything: the ratio clip / baseline is what the
drawing, the frame stamp and the read-back check add.
The first clip of a video also counts its frames (ffmpeg reads the whole file:
about 1.5 s for these 2,330 frames on the shared machine); later calls reuse the
count, so best-of times leave it out.

Run: nice -n 5 python benchmarks/bench_video.py [--repeats 2] [--duration "10 s"]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr
from _timing import best_of

import behavior as bh
from behavior.plot.video import labelled_clip

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dlc2nwb_openfield"
POSES = DATA / "m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"


def copy_frames(video: Path, out: Path, first: int, n: int) -> None:
    """The baseline: the same frames read and written as labelled_clip does, undrawn."""
    import imageio_ffmpeg

    output = ["-frames:v", str(n)]
    if first:
        output = ["-vf", f"select=gte(n\\,{first})", *output]
    reader = imageio_ffmpeg.read_frames(str(video), output_params=output)
    meta = next(reader)
    writer = imageio_ffmpeg.write_frames(
        str(out),
        meta["size"],
        fps=meta["fps"],
        codec="libx264",
        pix_fmt_out="yuv420p",
        quality=6,
        macro_block_size=1,
        ffmpeg_log_level="error",
        output_params=["-preset", "veryfast", "-movflags", "+faststart", "-f", "mp4"],
    )
    writer.send(None)
    for chunk in reader:
        writer.send(chunk)
    writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--duration", default="10 s")
    args = parser.parse_args()
    if not POSES.is_file():
        raise SystemExit(f"{POSES} not found (../shared/data is absent)")
    video = bh.plot.video.find_video(POSES)
    ds = bh.load_poses(POSES)
    on = (np.arange(ds.sizes["time"]) // 15) % 2 == 0
    mask = xr.DataArray(
        on[:, None],
        dims=("time", "individual"),
        coords={"time": ds.time.values, "individual": ds.individual.values},
        attrs={"time_unit": "frames"},
    )
    eth = bh.Ethogram.from_masks({"grooming": mask})
    n = bh.units.to_frames(args.duration, 30.0, name="duration")
    print(f"{video.name}: {n} frames per clip, best of {args.repeats}")
    print(f"{'start':>6} {'clip s':>8} {'clip fps':>9} {'copy s':>8} {'copy fps':>9} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for start in (0, 40):
            clip = best_of(
                lambda start=start: labelled_clip(
                    ds,
                    video,
                    Path(tmp) / "clip.mp4",
                    ethogram=eth,
                    start=float(start),
                    duration=args.duration,
                    progress=False,
                ),
                args.repeats,
            )
            copy = best_of(
                lambda start=start: copy_frames(video, Path(tmp) / "copy.mp4", start * 30, n),
                args.repeats,
            )
            print(
                f"{start:>4} s {clip:>8.2f} {n / clip:>9.0f} {copy:>8.2f} {n / copy:>9.0f} "
                f"{clip / copy:>6.2f}"
            )


if __name__ == "__main__":
    main()
