#!/usr/bin/python3
"""Executes one notebook headless with nbclient and exports it to HTML.

Usage: run_notebook.py NOTEBOOK OUT_DIR [--kernel NAME] [--startup-timeout S] [--startup-attempts N]
                       [--cell-timeout S]
Writes OUT_DIR/<name>.ipynb (executed, also when a cell failed, so the error can be read) and, when every
cell ran, OUT_DIR/<name>.html. The last line of stdout is one JSON object:
  {"status": "ok"|"failed"|"kernel-failed", "seconds": float, "attempts": int, "error": str|null,
   "cells": int}
Exit code 0 when status is ok, 1 otherwise. The notebook's kernel sees this process' environment
(DISTILLERY_PROFILE, DISTILLERY_OUTPUT_DIR, JUPYTER_PATH), which the Java launcher sets.

A kernel start that does not answer within --startup-timeout seconds is abandoned and retried (the
rapaio-jupyter-kernel 3.0.1 startup race, which the project's kernel patch fixes; kept as a safety net).
Cells run on the kernel's main thread; no cell interrupts are used (the kernel never answers them).
"""
import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook")
    ap.add_argument("out_dir")
    ap.add_argument("--kernel", default="distillery")
    ap.add_argument("--startup-timeout", type=int, default=30)
    ap.add_argument("--startup-attempts", type=int, default=3)
    ap.add_argument("--cell-timeout", type=int, default=3600)
    return ap.parse_args()


def write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def one_line(text):
    lines = [l.strip() for l in str(text).strip().splitlines() if l.strip()]
    return lines[-1] if lines else str(text)


def main():
    a = parse_args()
    src = pathlib.Path(a.notebook)
    out = pathlib.Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    status, error, attempts = "kernel-failed", None, 0
    nb = None
    for attempt in range(1, a.startup_attempts + 1):
        attempts = attempt
        nb = nbformat.read(src, as_version=4)
        client = NotebookClient(nb, kernel_name=a.kernel, timeout=a.cell_timeout,
                                startup_timeout=a.startup_timeout, interrupt_on_timeout=False,
                                resources={"metadata": {"path": str(src.parent.resolve())}})
        started = False
        try:
            with client.setup_kernel():
                started = True
                print(f"{src.name}: kernel ready in {time.monotonic() - t0:.1f} s", flush=True)
                for i, cell in enumerate(nb.cells):
                    c0 = time.monotonic()
                    client.execute_cell(cell, i)
                    if cell.cell_type == "code":
                        print(f"{src.name}: cell {i} done in {time.monotonic() - c0:.1f} s", flush=True)
            status = "ok"
        except CellExecutionError as e:
            status, error = "failed", f"cell {i}: {one_line(e)}"
        except CellTimeoutError:
            status, error = "failed", f"cell {i} timed out after {a.cell_timeout:.0f} s"
        except DeadKernelError as e:
            status, error = "failed", f"the kernel died: {one_line(e)}"
        except Exception as e:  # the kernel did not start or did not answer kernel_info
            if started:
                status, error = "failed", f"{type(e).__name__}: {one_line(e)}"
            else:
                status = "kernel-failed"
                error = (f"the kernel '{a.kernel}' did not start within {a.startup_timeout:.0f} s "
                         f"({type(e).__name__}: {one_line(e)})")
                print(f"{src.name}: attempt {attempt}: {error}", flush=True)
        if started:
            break
    if nb is not None and status != "kernel-failed":
        write_atomic(out / src.name, nbformat.writes(nb))
        if status == "ok":
            from nbconvert import HTMLExporter
            html, _ = HTMLExporter().from_notebook_node(nb)
            write_atomic(out / (src.stem + ".html"), html)
    code_cells = sum(1 for c in (nb.cells if nb else []) if c.cell_type == "code")
    print(json.dumps({"status": status, "seconds": round(time.monotonic() - t0, 3),
                      "attempts": attempts, "error": error, "cells": code_cells}), flush=True)
    return 0 if status == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
