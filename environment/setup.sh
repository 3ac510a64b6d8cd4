#!/usr/bin/env bash
# Idempotent installation of everything ./lab needs, on a fresh Debian machine or an existing one:
#   1. Debian packages (Java, Maven, Jupyter, nbclient, Chromium), when missing;
#   2. the build: Maven dependencies, classes, target/classpath.txt, the kernel jar (target/kernel/);
#   3. the project-local Jupyter kernelspec "Java (Distillery)" in target/jupyter/kernels/distillery.
# Each step is skipped when already done, so `./lab test|reproduce|notebook` can call this every time.
# Usage: environment/setup.sh [--quiet] [--force]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUIET=0
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --quiet) QUIET=1 ;;
    --force) FORCE=1 ;;
    -h|--help)
      cat <<'EOF'
Usage: ./lab setup [--force] [--quiet]

Installs what the other commands need, skipping what is already there:
  - Debian packages: a JDK (17+), Maven, Jupyter (notebook, nbconvert, nbclient), Chromium
    via apt-get;
  - the build (Maven dependencies, classes, runtime classpath, the rapaio Jupyter kernel jar);
  - the project-local kernelspec "Java (Distillery)" under target/jupyter.
Options:
  --force   rebuild and rewrite the kernelspec even when they look up to date
  --quiet   print only what is being installed
  -h, --help  show this help
EOF
      exit 0 ;;
    *) echo "lab setup: unknown argument '$arg'; accepted: --force, --quiet, --help" >&2; exit 2 ;;
  esac
done

say() { [ "$QUIET" = 1 ] || echo "setup: $*"; }
act() { echo "setup: $*"; }

# ---- 1. Debian packages ---------------------------------------------------------------------------
# PyTorch (python3-torch) is not installed here: only the benchmark commands need it.
PACKAGES=(maven jupyter-notebook jupyter-nbconvert jupyter-client python3-nbclient python3-ipykernel
          python3-nbformat chromium)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v javac >/dev/null 2>&1; then missing+=(openjdk-17-jdk-headless); fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  act "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi

# ---- 2. Build -------------------------------------------------------------------------------------
STAMP="$ROOT/target/.setup-stamp"
needs_build=$FORCE
if [ ! -f "$STAMP" ] || [ ! -f "$ROOT/target/classpath.txt" ] || [ ! -f "$ROOT/target/kernel/rapaio-jupyter-kernel.jar" ]; then
  needs_build=1
elif [ -n "$(find "$ROOT/pom.xml" "$ROOT/src/main" -newer "$STAMP" -print -quit 2>/dev/null)" ]; then
  needs_build=1
fi
if [ "$needs_build" = 1 ]; then
  act "building (mvn package -DskipTests)"
  # (the sed drops the bare ANSI reset codes Debian's Maven prints even in batch mode)
  (cd "$ROOT" && mvn -B -q -Dstyle.color=never package -DskipTests 2>&1 | sed -u 's/\x1b\[0m//g')
  touch "$STAMP"
else
  say "build up to date"
fi

# ---- 3. Kernelspec --------------------------------------------------------------------------------
JAVA_BIN=$(readlink -f "$(command -v java)")
[ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] && JAVA_BIN="$JAVA_HOME/bin/java"
KDIR="$ROOT/target/jupyter/kernels/distillery"
if [ "$FORCE" = 1 ] || [ ! -f "$KDIR/kernel.json" ] || [ "$STAMP" -nt "$KDIR/kernel.json" ] \
   || ! grep -q "\"$JAVA_BIN\"" "$KDIR/kernel.json" \
   || [ -n "$(find "$ROOT/environment/kernel-patch" "$ROOT/environment/make_kernelspec.py" -newer "$KDIR/kernel.json" -print -quit)" ]; then
  act "writing kernelspec $KDIR (java: $JAVA_BIN)"
  /usr/bin/python3 "$ROOT/environment/make_kernelspec.py" "$ROOT" "$JAVA_BIN"
else
  say "kernelspec up to date"
fi
