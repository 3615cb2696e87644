"""A write killed at any moment never leaves a broken file (issue 15, kill test).

For every writable format a subprocess overwrites a good file with a larger
dataset and is killed with SIGKILL at random moments of the write (from before
the first byte to after the rename). Afterwards the file at the path is either
the old file, byte for byte, or the complete new one (loading equal to the new
data), never anything else; and the next write to the folder removes the hidden
temporary files the killed writes left.

The writers run in processes forked from one worker that has imported
everything once, so that a kill lands inside the write rather than inside
``import``. ``BEHAVIOR_STRESS=1`` kills each format many more times;
``BEHAVIOR_KILL_SEED`` changes the random moments.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from tests.test_writes import CASE_NAMES, run_child

STRESS = os.environ.get("BEHAVIOR_STRESS", "") not in ("", "0")
KILLS = 25 if STRESS else 3
SEED = int(os.environ.get("BEHAVIOR_KILL_SEED", "15"))

KILL_CHILD = r"""
import json, os, random, signal, sys, time
from pathlib import Path

folder, kills, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
SIZES = {"pose": 3000, "annotation": 6000}

def forked_save(save, obj, path):
    pid = os.fork()
    if pid == 0:
        try:
            save(obj, path)
        except BaseException:
            os._exit(3)
        os._exit(0)
    return pid

for name in sys.argv[4:]:
    rng = random.Random(f"{seed}-{name}")
    file_name, build, save, fingerprint = CASES[name]
    sub = folder / name
    ref = folder / (name + "-reference")
    sub.mkdir()
    ref.mkdir()
    path = sub / file_name
    n = SIZES["pose" if name in ("deeplabcut-h5", "deeplabcut-csv", "lightning-pose", "sleap",
                                 "nwb", "netcdf", "tidy-parquet", "tidy-csv") else "annotation"]
    save(build(n // 10, seed=1), path)
    old = path.read_bytes()
    old_print = fingerprint(path)
    new = build(n, seed=2)
    start = time.monotonic()
    save(new, ref / file_name)
    duration = time.monotonic() - start  # kills fall from before the write to after the rename
    new_print = fingerprint(ref / file_name)
    result = {"duration": duration, "outcomes": [], "problems": []}
    for k in range(kills):
        path.write_bytes(old)  # the good file the next write overwrites
        moment = rng.uniform(0.0, 1.2 * duration)
        pid = forked_save(save, new, path)
        time.sleep(moment)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        data = path.read_bytes()
        if data == old:
            outcome = "old"
            if not same(fingerprint(path), old_print):
                result["problems"].append(f"kill at {moment:.3f} s: old bytes do not load equal")
        else:
            try:
                ok = same(fingerprint(path), new_print)
            except BaseException as err:
                ok = False
                result["problems"].append(
                    f"kill at {moment:.3f} s: broken file ({type(err).__name__}: {err})")
            if not ok:
                result["problems"].append(
                    f"kill at {moment:.3f} s: neither the old nor the new file")
            outcome = "new"
        result["outcomes"].append([round(moment, 4), outcome])
    result["left_after_kills"] = leftovers(sub)
    save(build(n // 10, seed=1), path)  # the next write tidies the folder
    result["left_after_next_write"] = leftovers(sub)
    print("RESULT", name, json.dumps(result), flush=True)
"""


@pytest.fixture(scope="module")
def kill_results(tmp_path_factory):
    if not hasattr(os, "fork") or sys.platform == "win32":
        pytest.skip("the kill test forks and sends SIGKILL: POSIX only")
    folder = tmp_path_factory.mktemp("kill")
    proc = run_child(KILL_CHILD, str(folder), str(KILLS), str(SEED), *CASE_NAMES, timeout=900)
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            _, name, payload = line.split(" ", 2)
            results[name] = json.loads(payload)
    return proc, results


@pytest.mark.parametrize("case", CASE_NAMES)
def test_killed_overwrite_leaves_old_or_new_file(kill_results, case):
    proc, results = kill_results
    assert case in results, (
        f"the kill worker stopped (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    )
    result = results[case]
    assert result["problems"] == [], f"seed {SEED}: {result}"
    assert len(result["outcomes"]) == KILLS
    assert result["left_after_next_write"] == [], result
