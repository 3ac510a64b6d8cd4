#!/usr/bin/python3
"""Writes the project-local Jupyter kernelspec "Java (Distillery)" (rapaio-jupyter-kernel 3.0.1).

Usage: make_kernelspec.py PROJECT_ROOT JAVA_BINARY
Output: PROJECT_ROOT/target/jupyter/kernels/distillery/{kernel.json,init.jshell}, the compiled
kernel patch in PROJECT_ROOT/target/kernel/patch and the kernel's main class (org.distillery.kernel.KernelLauncher,
copied from target/classes) in PROJECT_ROOT/target/kernel/launcher. Select it with JUPYTER_PATH=PROJECT_ROOT/target/jupyter.
Needs target/classpath.txt and target/kernel/rapaio-jupyter-kernel.jar (made by `mvn package`).
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

root = pathlib.Path(sys.argv[1]).resolve()
java = sys.argv[2]
target = root / "target"
kernel_jar = target / "kernel" / "rapaio-jupyter-kernel.jar"
patch_src = root / "environment" / "kernel-patch"
patch_out = target / "kernel" / "patch"
spec_dir = target / "jupyter" / "kernels" / "distillery"
spec_dir.mkdir(parents=True, exist_ok=True)

javac = str(pathlib.Path(java).parent / "javac")
version_text = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
feature = int(version_text.split('"')[1].split(".")[0])

# The kernel patch (see environment/kernel-patch/...LoopThread.java): compiled for Java 17.
sources = [str(p) for p in patch_src.rglob("*.java")]
subprocess.run([javac, "-nowarn", "--release", "17", "-d", str(patch_out), *sources], check=True)

# The kernel's main class, org.distillery.kernel.KernelLauncher: rapaio's MainApp plus a JShell listener that drops
# JShell's temporary variables (README, Endurance). It runs on the kernel JVM's class path, which must not hold the
# rest of target/classes (the notebook's classes are loaded by JShell's own loader, with their dependencies), so its
# package is copied on its own. Written beside the old copy and swapped in.
launcher_src = target / "classes" / "org" / "distillery" / "kernel"
launcher_out = target / "kernel" / "launcher"
if not (launcher_src / "KernelLauncher.class").is_file():
    sys.exit(f"make_kernelspec: {launcher_src / 'KernelLauncher.class'} is missing: build first (mvn package)")
launcher_tmp = pathlib.Path(tempfile.mkdtemp(dir=target / "kernel", prefix=".launcher-"))
shutil.copytree(launcher_src, launcher_tmp / "org" / "distillery" / "kernel")
shutil.rmtree(launcher_out, ignore_errors=True)
os.replace(launcher_tmp, launcher_out)

# JShell's classpath: the project's classes, then its runtime dependencies (';'-separated for rapaio).
classpath = ";".join([str(target / "classes")] +
                     (target / "classpath.txt").read_text().strip().split(os.pathsep))

# Evaluated once when the kernel starts. rapaio evaluates this file as ONE snippet: imports only.
init = "\n".join([
    "import java.nio.file.*;",
    "import java.util.stream.*;",
    "import org.distillery.notebook.*;",
    "import org.distillery.util.*;",
    "import tech.tablesaw.api.*;",
    "import org.knowm.xchart.*;",
    "import org.knowm.xchart.style.*;",
    "import org.knowm.xchart.style.markers.*;",
]) + "\n"
for pkg in ["org.distillery.formats", "org.distillery.data", "org.distillery.tokenize", "org.distillery.model",
            "org.distillery.train", "org.distillery.eval"]:   # imported once they exist
    if (target / "classes" / pkg.replace(".", "/")).is_dir():
        init += f"import {pkg}.*;\n"

# Memory over a long session (README, Endurance): ND4J frees a tensor's off-heap memory only when the GC collects
# the Java object that owns it. With the default G1 the kernel's committed heap kept growing (JShell's compiler
# allocates a lot) and the resident size with it: 562 -> 1,386 MB over 200 executions of a training notebook.
# The serial collector with a 256 MB young generation and large survivor spaces lets a cell's models and
# optimizer state die young, so their tensors are freed at the next minor collection; a fixed glibc mmap
# threshold returns freed tensors (> 128 KB) to the system instead of keeping them in malloc's arenas.
jvm = ["-Djava.awt.headless=true", "--add-modules", "jdk.incubator.vector",
       "-XX:+UseSerialGC", "-Xmn256m", "-XX:SurvivorRatio=2"]
# The vector kernels need C2's per-method trap limit raised: the kernel JVM runs many of them, and from the default
# limit (100) on, C2 compiled the next one into code that allocates every vector (org.distillery.util.JitSettings,
# README "Session 16"; notebook 20's W8A8 row ran at 0.65x the float model).
jvm += ["-XX:PerMethodTrapLimit=100000"]
# Native memory freed by ND4J and by the JIT compiler's arenas stays in glibc's arenas (fragmented, not given back by
# the mmap threshold above): a periodic malloc_trim returns it. The flag exists from JDK 17.0.10/21.0.1 on; an older
# JDK runs without it.
flags_text = subprocess.run([java, "-XX:+PrintFlagsFinal", "-version"], capture_output=True, text=True).stdout
if " TrimNativeHeapInterval " in flags_text:
    jvm += ["-XX:TrimNativeHeapInterval=2000"]
else:
    print(f"make_kernelspec: {java} has no -XX:TrimNativeHeapInterval: the kernel runs without native heap trimming")
if feature >= 24:  # JavaCPP (ND4J's native loader) uses JNI and sun.misc.Unsafe
    jvm += ["--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"]
spec = {
    "argv": [java, *jvm, "-cp", f"{patch_out}:{launcher_out}:{kernel_jar}",
             "org.distillery.kernel.KernelLauncher",
             "{connection_file}"],
    "display_name": "Java (Distillery)",
    "language": "java",
    "interrupt_mode": "message",
    "env": {
        "DISTILLERY_HOME": str(root),
        "RJK_CLASSPATH": classpath,
        "RJK_COMPILER_OPTIONS": "--add-modules jdk.incubator.vector",
        "RJK_INIT_SCRIPT": str(spec_dir / "init.jshell"),
        "RJK_TIMEOUT_MILLIS": "-1",
        "RJK_MIMA_CACHE": str(target / "jupyter" / "mima_cache"),
        "MALLOC_MMAP_THRESHOLD_": "131072",
        "MALLOC_ARENA_MAX": "2",   # fewer glibc arenas: less freed memory held apart per thread (README, Endurance)
    },
    "metadata": {"java_feature_version": feature},
}


def write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


write_atomic(spec_dir / "init.jshell", init)
write_atomic(spec_dir / "kernel.json", json.dumps(spec, indent=2) + "\n")
print(f"kernelspec written: {spec_dir} (Java {feature})")
