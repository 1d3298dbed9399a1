#!/usr/bin/env bash
# Soak test of the teleop nodes: 30 fps camera input at 256x512 through sqgan_encoder and
# sqgan_decoder (separate processes) for a long time; memory and latency must not creep.
#
#     bash scripts/soak.sh [--minutes 30] [--fps 30] [--size 256x512] [--model FILE]
#                          [--segmenter bundled] [--torch-threads N] [--output soak_out]
#
# Default: 30 minutes, models/default.safetensors (a random-initialised small model when it does
# not exist yet). Samples each node's RSS once a second and the decoder's end-to-end latency;
# prints memory and latency at start and end (first vs last minute after a warm-up), frames
# sent/encoded/decoded, dropped and lost counts; writes <output>/summary.json and the node logs.
# Exit status 1 when a node's RSS grew by more than max(64 MB, 10 %), the latency grew (last
# minute median > 1.5 x first + 50 ms), a node died or nothing was decoded.
# Runs on its own DDS domain (ROS_DOMAIN_ID, random unless set) limited to this host.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

case "${1:-}" in
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
esac

# shellcheck disable=SC1091
source "$REPO/scripts/env.sh"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$(( (RANDOM % 200) + 20 ))}"
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"

exec python -m sqgan_ros.ros.tools.soak "$@"
