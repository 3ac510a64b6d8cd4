#!/usr/bin/python3
"""Endurance of the project's Jupyter kernel (README, Endurance).

(a) executions: starts one kernel ("Java (Distillery)", the kernelspec ./lab setup writes) and executes every
    code cell of NOTEBOOK (default: train-steps.ipynb beside this script, 5 training steps of a fresh tiny GPT)
    --executions times in it; after each pass it samples the resident memory (VmRSS in /proc/PID/status) of the
    kernel process and its descendants. Reports the RSS after warm-up (the first --warmup passes), the final RSS
    and the largest drift after warm-up, relative to the warm-up RSS (target: within 10 %). Every pass must
    succeed and give the same output (the training is deterministic).
(b) starts: starts and shuts down a fresh kernel --starts times, each executing one trivial cell ("1 + 1"
    must answer 2), and counts the successes.

Usage: notebook_endurance.py [--executions 200] [--warmup 20] [--starts 100] [--startup-timeout 60]
                             [--notebook NB] [--json FILE]
Needs ./lab setup first and Debian's python3-jupyter-client (run with /usr/bin/python3). Prints one line per
pass or start, a summary, and (with --json) writes the numbers to FILE. Exit code 1 when a pass or a start failed
or the drift exceeds 10 %.
"""
import argparse
import json
import os
import pathlib
import platform
import queue
import subprocess
import sys
import tempfile
import time

import nbformat
from jupyter_client.manager import KernelManager

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
TARGET_DRIFT = 0.10


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--executions", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--starts", type=int, default=100)
    ap.add_argument("--startup-timeout", type=int, default=60)
    ap.add_argument("--notebook", default=str(HERE / "train-steps.ipynb"))
    ap.add_argument("--json")
    ap.add_argument("--jvm-memory", action="store_true",
                    help="after each pass also ask the kernel JVM for its heap and non-heap sizes (one more cell per "
                         "pass, whose snippets JShell keeps too)")
    ap.add_argument("--jvm-flags", default="",
                    help="extra flags for the kernel's JVM (a copy of the kernelspec is used), e.g. to compare collectors")
    a = ap.parse_args()
    if a.executions < 0 or a.starts < 0:
        ap.error("--executions and --starts must be >= 0")
    if a.executions and not 0 < a.warmup < a.executions:
        ap.error(f"--warmup {a.warmup} must be in [1, --executions - 1 = {a.executions - 1}]")
    return a


def kernel_env(jvm_flags):
    """Points Jupyter at the project's kernelspec (a copy with jvm_flags after the java binary, when given)."""
    spec = ROOT / "target" / "jupyter" / "kernels" / "distillery" / "kernel.json"
    if not spec.is_file():
        sys.exit(f"notebook_endurance: {spec} is missing: run ./lab setup first")
    path = ROOT / "target" / "jupyter"
    if jvm_flags.split():
        k = json.loads(spec.read_text())
        k["argv"][1:1] = jvm_flags.split()
        path = pathlib.Path(tempfile.mkdtemp(prefix="endurance-kernelspec-"))
        (path / "kernels" / "distillery").mkdir(parents=True)
        for f in spec.parent.iterdir():
            if f.name != "kernel.json":
                (path / "kernels" / "distillery" / f.name).write_bytes(f.read_bytes())
        (path / "kernels" / "distillery" / "kernel.json").write_text(json.dumps(k, indent=1))
    os.environ["JUPYTER_PATH"] = str(path)
    os.environ["DISTILLERY_HOME"] = str(ROOT)
    os.environ.setdefault("DISTILLERY_OUTPUT_DIR", tempfile.mkdtemp(prefix="endurance-out-"))


def descendants(pid):
    """pid and every process below it (from /proc/*/stat's parent ids)."""
    children = {}
    for d in pathlib.Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_kb(pid):
    """VmRSS in kB of pid and its descendants."""
    total = 0
    for p in descendants(pid):
        try:
            for line in pathlib.Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def execute(client, code, timeout):
    """Runs code; returns (ok, text of the result/stream outputs, error line)."""
    msg_id = client.execute(code, store_history=False)
    texts, error = [], None
    deadline = time.monotonic() + timeout
    while True:
        try:
            msg = client.get_iopub_msg(timeout=max(1, deadline - time.monotonic()))
        except queue.Empty:
            return False, "".join(texts), f"no answer within {timeout} s"
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        t, c = msg["msg_type"], msg["content"]
        if t == "stream":
            texts.append(c["text"])
        elif t in ("execute_result", "display_data"):
            texts.append(c["data"].get("text/plain", ""))
        elif t == "error":
            error = f"{c.get('ename')}: {c.get('evalue')}"
        elif t == "status" and c["execution_state"] == "idle":
            break
    while True:                     # the execute_reply (other replies, e.g. to kernel_info, are skipped)
        reply = client.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    ok = reply["content"].get("status") == "ok" and error is None
    return ok, "".join(texts), error


KERNEL_LOG = None


def start_kernel(timeout):
    """A started kernel and its connected client; the kernel's own output is appended to KERNEL_LOG."""
    km = KernelManager(kernel_name="distillery")
    km.start_kernel(stdout=KERNEL_LOG, stderr=subprocess.STDOUT)
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=timeout)
    except Exception:
        client.stop_channels()
        km.shutdown_kernel(now=True)
        raise
    return km, client


def kernel_pid(km):
    p = km.provisioner
    return getattr(p, "pid", None) or p.process.pid


# With --jvm-memory, after each pass: the kernel JVM's own view of its memory (MB): Java heap committed and used, non-heap (metaspace,
# code cache) committed. RSS minus these is native memory: ND4J's off-heap tensors, malloc, thread stacks.
JVM_MEMORY = ("var memoryBeans = java.lang.management.ManagementFactory.getMemoryMXBean();\n"
              "String.format(java.util.Locale.ROOT, \"%.1f %.1f %.1f\", memoryBeans.getHeapMemoryUsage().getCommitted() / 1048576.0, "
              "memoryBeans.getHeapMemoryUsage().getUsed() / 1048576.0, "
              "memoryBeans.getNonHeapMemoryUsage().getCommitted() / 1048576.0)")


def executions(a):
    cells = [c.source for c in nbformat.read(a.notebook, as_version=4).cells if c.cell_type == "code"]
    t0 = time.monotonic()
    km, client = start_kernel(a.startup_timeout)
    pid = kernel_pid(km)
    samples, outputs, failures, jvm = [], [], [], []
    try:
        for i in range(1, a.executions + 1):
            p0 = time.monotonic()
            text = []
            for j, code in enumerate(cells):
                ok, out, err = execute(client, code, 600)
                text.append(out.strip())
                if not ok:
                    failures.append(f"pass {i}, cell {j}: {err}")
                    break
            samples.append(rss_kb(pid))
            outputs.append("\n".join(text))
            note = ""
            if a.jvm_memory:
                ok, out, err = execute(client, JVM_MEMORY, 60)
                jvm.append([float(x) for x in out.strip().strip('"').split()] if ok else None)
                note = f" (heap committed/used, non-heap: {jvm[-1]} MB)"
            print(f"pass {i}: {time.monotonic() - p0:.2f} s, RSS {samples[-1] / 1024:.1f} MB{note}: {text[-1]}", flush=True)
            if failures:
                break
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=False)
    seconds = time.monotonic() - t0
    r = {"notebook": str(pathlib.Path(a.notebook).relative_to(ROOT)) if a.notebook.startswith(str(ROOT)) else a.notebook,
         "executions": len(samples), "failures": failures, "seconds": round(seconds, 1),
         "jvm_flags": a.jvm_flags, "rss_mb": [round(s / 1024, 1) for s in samples],
         "identical_outputs": len(set(outputs)) == 1, "output": outputs[0] if outputs else None}
    if jvm:
        r.update({"heap_committed_mb": [j and j[0] for j in jvm], "heap_used_mb": [j and j[1] for j in jvm],
                  "nonheap_committed_mb": [j and j[2] for j in jvm]})
    if len(samples) > a.warmup:
        base = samples[a.warmup - 1]
        after = samples[a.warmup:]
        r.update({"warmup": a.warmup, "warmup_rss_mb": round(base / 1024, 1), "final_rss_mb": round(samples[-1] / 1024, 1),
                  "max_rss_after_warmup_mb": round(max(after) / 1024, 1),
                  "max_drift": round(max(abs(s - base) for s in after) / base, 4),
                  "final_drift": round((samples[-1] - base) / base, 4)})
    return r


def starts(a):
    ok_count, times, failures = 0, [], []
    t0 = time.monotonic()
    for i in range(1, a.starts + 1):
        s0 = time.monotonic()
        try:
            km, client = start_kernel(a.startup_timeout)
            try:
                ok, out, err = execute(client, "1 + 1", 120)
                ok = ok and out.strip() == "2"
                if not ok:
                    failures.append(f"start {i}: answered {out.strip()!r} {err or ''}")
            finally:
                client.stop_channels()
                km.shutdown_kernel(now=False)
        except Exception as e:    # a kernel that did not start or answer: counted, the next one is tried
            ok = False
            failures.append(f"start {i}: {type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}")
        ok_count += ok
        times.append(time.monotonic() - s0)
        print(f"start {i}: {'ok' if ok else 'FAILED'} in {times[-1]:.1f} s", flush=True)
    srt = sorted(times)
    return {"starts": a.starts, "succeeded": ok_count, "failures": failures, "seconds": round(time.monotonic() - t0, 1),
            "median_start_s": round(srt[len(srt) // 2], 2) if srt else None,
            "max_start_s": round(srt[-1], 2) if srt else None}


def main():
    global KERNEL_LOG
    a = parse_args()
    kernel_env(a.jvm_flags)
    log_path = pathlib.Path(tempfile.mkdtemp(prefix="endurance-")) / "kernels.log"
    KERNEL_LOG = open(log_path, "ab")
    print(f"kernel output: {log_path}", flush=True)
    load = os.getloadavg()
    result = {"machine": {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in load],
                          "python": platform.python_version(),
                          "java": json.loads((ROOT / "target/jupyter/kernels/distillery/kernel.json").read_text())["argv"][0]},
              "git_commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                                           text=True).stdout.strip(),
              "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    bad = False
    if a.executions:
        e = executions(a)
        result["executions"] = e
        print(f"executions: {e['executions']} passes in one kernel ({e['seconds']} s), failures {len(e['failures'])}; "
              f"RSS after {a.warmup} warm-up passes {e.get('warmup_rss_mb')} MB, final {e.get('final_rss_mb')} MB, "
              f"max after warm-up {e.get('max_rss_after_warmup_mb')} MB, max drift {100 * e.get('max_drift', 0):.1f} % "
              f"(target <= {100 * TARGET_DRIFT:.0f} %); outputs identical: {e['identical_outputs']}", flush=True)
        bad |= bool(e["failures"]) or e.get("max_drift", 1) > TARGET_DRIFT or not e["identical_outputs"]
    if a.starts:
        s = starts(a)
        result["starts"] = s
        print(f"starts: {s['succeeded']} of {s['starts']} kernel starts ok ({s['seconds']} s, median "
              f"{s['median_start_s']} s, max {s['max_start_s']} s)", flush=True)
        bad |= s["succeeded"] != s["starts"]
    if a.json:
        out = pathlib.Path(a.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name("." + out.name + ".tmp")
        tmp.write_text(json.dumps(result, indent=1) + "\n")
        os.replace(tmp, out)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
