#!/usr/bin/env bash
# The main command: stream the bundled synthetic street sequence through SQ-GAN and back.
#
#     bash scripts/teleop.sh [--duration 60] [--source synthetic|pattern|/path/video.avi|/dev/video0]
#                            [--target-kbps 20] [--model models/default.safetensors] [any run_graph option]
#
# Runs scripts/setup.sh (idempotent; fast when nothing changed), sources scripts/env.sh, then
# python -m sqgan_ros.ros.tools.run_graph: camera source -> encoder -> decoder as separate ROS 2
# processes, plus a monitor printing fps, kbit/s and latency and saving side-by-side PNGs
# (camera | reconstruction | semantic map) under teleop_out/. Ctrl-C stops everything.
# On a machine with launch_ros use: ros2 launch sqgan_ros teleop.launch.py
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

duration=60
model=""
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration="$2"; shift 2 ;;
        --duration=*) duration="${1#*=}"; shift ;;
        --model) model="$2"; shift 2 ;;
        --model=*) model="${1#*=}"; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) args+=("$1"); shift ;;
    esac
done

bash "$REPO/scripts/setup.sh"
# shellcheck disable=SC1091
source "$REPO/scripts/env.sh"

if [ -z "$model" ]; then
    model="$REPO/models/default.safetensors"
fi
if [ ! -f "$model" ]; then
    echo "teleop.sh: error: no model at $model. Train the default model (see README.md) or pass --model FILE." >&2
    exit 1
fi

exec python -m sqgan_ros.ros.tools.run_graph --config "$REPO/config/teleop.yaml" --model "$model" \
    --duration "$duration" "${args[@]}"
