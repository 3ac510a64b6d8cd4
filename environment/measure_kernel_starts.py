#!/usr/bin/python3
"""Measures kernel start reliability: executes a small notebook N times in a row, one fresh kernel each,
with ONE start attempt and a short startup timeout, and counts the runs whose kernel never answered.

Usage: measure_kernel_starts.py [--runs 50] [--unpatched] [--startup-timeout 30] [--notebook NB]
  --unpatched  use rapaio-jupyter-kernel 3.0.1 as shipped (without environment/kernel-patch), to show
               the startup race the patch removes.
Needs ./lab setup first. Prints one line per run and a summary line; exit 1 if any run failed.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

root = pathlib.Path(__file__).resolve().parent.parent
ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=50)
ap.add_argument("--unpatched", action="store_true")
ap.add_argument("--startup-timeout", type=int, default=30)
ap.add_argument("--notebook", default=str(root / "environment" / "kernel-check.ipynb"))
a = ap.parse_args()

spec = json.loads((root / "target/jupyter/kernels/distillery/kernel.json").read_text())
work = pathlib.Path(tempfile.mkdtemp(prefix="kernel-starts-"))
kdir = work / "jupyter" / "kernels" / "distillery"
kdir.mkdir(parents=True)
if a.unpatched:
    cp = spec["argv"].index("-cp")
    spec["argv"][cp + 1] = spec["argv"][cp + 1].split(":")[-1]   # the kernel jar alone
    spec["argv"][cp + 2] = "org.rapaio.jupyter.kernel.MainApp"    # its own main class, not the project's launcher
(kdir / "kernel.json").write_text(json.dumps(spec))
env = dict(__import__("os").environ, JUPYTER_PATH=str(work / "jupyter"), DISTILLERY_HOME=str(root),
           DISTILLERY_OUTPUT_DIR=str(work / "out"))
failed, times = 0, []
for i in range(1, a.runs + 1):
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/python3", str(root / "environment/run_notebook.py"), a.notebook,
                        str(work / "out"), "--startup-attempts", "1",
                        "--startup-timeout", str(a.startup_timeout)],
                       capture_output=True, text=True, env=env)
    last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else "{}"
    r = json.loads(last) if last.startswith("{") else {"status": "no result"}
    ok = r.get("status") == "ok"
    failed += 0 if ok else 1
    times.append(time.monotonic() - t0)
    note = ""
    if not ok:   # keep the runner's and the kernel's output for a look at what hung
        log = work / f"run-{i}.log"
        log.write_text(p.stdout + "\n--- stderr ---\n" + p.stderr)
        note = f" (log: {log})"
    print(f"run {i}: {r.get('status')} in {times[-1]:.1f} s{note}", flush=True)
kind = "unpatched rapaio-jupyter-kernel 3.0.1" if a.unpatched else "kernel with the project's LoopThread patch"
print(f"{kind}: {a.runs - failed} of {a.runs} notebook executions ok, {failed} failed "
      f"(startup timeout {a.startup_timeout} s, one attempt each; median {sorted(times)[len(times)//2]:.1f} s)")
sys.exit(1 if failed else 0)
