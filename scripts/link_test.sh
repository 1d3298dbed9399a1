#!/usr/bin/env bash
# Two-host link test: robot and operator network namespaces joined by a rate-limited veth pair,
# the teleop graph across it over UDP (no shared memory), every byte on the link counted.
#
#     sudo bash scripts/link_test.sh --kbps 32 [--loss 0.1] [--duration 60] [--video]
#                                    [--target-kbps K] [--profile thin|default] [--out DIR]
#
# Prints link kbit/s each way (IP level, from the veth counters), the split into frames /
# stats / acks / discovery (RTPS capture on the veth), decoded fps, latency p50/p95 at the start
# and the end, frames lost; writes DIR/summary.json (default link_out/). Needs root (namespaces,
# tc, iptables for --loss). Everything it creates is removed at the end, also on Ctrl-C.
# Details: python -m sqgan_ros.ros.tools.link_harness --help; docs/evaluation/link/README.md.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
case "${1:-}" in -h|--help) sed -n '2,12p' "$0"; exit 0 ;; esac
# shellcheck disable=SC1091
. scripts/env.sh
exec python -m sqgan_ros.ros.tools.link_harness "$@"
