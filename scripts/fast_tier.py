"""Time the fast test tier (``pytest -m "not slow"``) and list its slowest tests.

The target is <= 90 s on the project's 2-core machine when it is quiet; the load average is
printed beside the time, since a figure measured under load says little.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 90.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slowest", type=int, default=15, help="How many of the slowest fast-tier tests to list.")
    args = ap.parse_args()
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider",
                        f"--durations={args.slowest}"], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    load_after = os.getloadavg()
    durations = r.stdout.split("slowest", 1)[-1].splitlines()[1:args.slowest + 1] if "slowest" in r.stdout else []
    summary = next((line for line in reversed(r.stdout.splitlines()) if re.search(r"\d+ (passed|failed)", line)), "")
    print(f"fast tier: {seconds:.1f} s wall ({summary.strip('= ')}); target <= {TARGET_S:.0f} s "
          f"{'met' if seconds <= TARGET_S else 'NOT met'}")
    print(f"load average (1 min) before {load_before[0]:.1f}, after {load_after[0]:.1f} on {os.cpu_count()} cores"
          + ("  -- under load: re-measure on a quiet machine" if max(load_before[0], load_after[0]) > 1.5 else ""))
    print("slowest fast-tier tests:")
    for line in durations:
        print("  " + line.strip())
    sys.exit(r.returncode)


if __name__ == "__main__":
    main()
