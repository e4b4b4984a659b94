"""How long the documentation takes to build, and how long its gallery examples run.

    python scripts/docs_time.py            # a clean build into a temporary folder, then each example alone

Prints the wall time of ``python -m sphinx -W --keep-going -E -b html docs <tmp>`` (the
gallery included), the gallery's total and per-example wall times as sphinx-gallery
recorded them, then runs each ``docs/examples/plot_*.py`` alone in a fresh process and
prints its wall and CPU time, and the load average before and after. The issue's target:
the gallery runs in under 2 minutes. On a busy shared machine the wall times are
inflated by the load; the CPU times are the steadier figure.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def _gallery_times(rst: Path) -> list[tuple[str, float]]:
    """(example, seconds) from sphinx-gallery's sg_execution_times.rst."""
    text = rst.read_text(encoding="utf-8")
    rows = re.findall(r"``examples/(plot_\w+\.py)``\)\s*\n\s*- (\d+):(\d+\.\d+)", text)
    return [(name, int(m) * 60 + float(s)) for name, m, s in rows]


def build(keep: bool) -> None:
    out = Path(tempfile.mkdtemp(prefix="mlpnet-docs-"))
    print(f"load average before: {_load()}")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
                           "-d", str(out / ".doctrees"), "docs", str(out / "html")], cwd=REPO,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"the build failed:\n{proc.stderr[-4000:]}")
    print(f"build with -W, gallery included: {seconds:.1f} s wall (output in {out / 'html'})")
    times = _gallery_times(REPO / "docs" / "sg_execution_times.rst")
    print(f"gallery, as sphinx-gallery timed it: {sum(t for _, t in times):.1f} s wall "
          f"(target: under 120 s)")
    for name, t in times:
        print(f"  {name:45s} {t:6.1f} s")
    print(f"load average after: {_load()}")


def examples() -> None:
    print("each example alone, in a fresh process (MPLBACKEND=Agg, one BLAS thread):")
    env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    total_wall = total_cpu = 0.0
    for script in sorted((REPO / "docs" / "examples").glob("plot_*.py")):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], cwd=tempfile.mkdtemp(), env=env,
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            sys.exit(f"{script.name} failed:\n{proc.stderr[-4000:]}")
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        print(f"  {script.name:45s} {wall:6.1f} s wall {cpu:6.1f} s CPU")
    print(f"  {'all examples':45s} {total_wall:6.1f} s wall {total_cpu:6.1f} s CPU (load average now {_load()})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-build", action="store_true", help="only run the examples one by one")
    ap.add_argument("--no-examples", action="store_true", help="only build the site")
    args = ap.parse_args()
    if not args.no_build:
        build(keep=True)
    if not args.no_examples:
        examples()


if __name__ == "__main__":
    main()
