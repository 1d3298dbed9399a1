#!/usr/bin/env bash
# The long CPU training run, resumed from the committed state (docs/TRAINING.md, "The long run").
#   bash scripts/train_long.sh [--minutes M] [--stages "1 2"]
# Starts one single-threaded, nice 19 process per stage (default: stages 1 and 2 side by side,
# config/train/v2_cpu.yaml), each continuing from models/train_state/<branch> when it exists and
# rewriting it every 200 steps and when stopped (SIGINT/SIGTERM). Logs: runs/v2_s<stage>/train.log.
# Commit models/train_state/ before the machine goes away: only committed files carry a run on.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MINUTES=""
STAGES="1 2"
CONFIG="$REPO/config/train/v2_cpu.yaml"
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) MINUTES="--minutes $2"; shift 2 ;;
        --stages) STAGES="$2"; shift 2 ;;
        --config) CONFIG="$2"; shift 2 ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "train_long.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
bash "$REPO/scripts/setup.sh"
# the photographs of sqgan_ros/data/photo_library.py (Debian's background packages), as root
if [ "$(id -u)" = 0 ] && [ -z "${SQGAN_NO_APT:-}" ] && ! dpkg -s mate-backgrounds lomiri-wallpapers \
        plasma-workspace-wallpapers >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mate-backgrounds \
        lomiri-wallpapers plasma-workspace-wallpapers >/dev/null || echo "train_long.sh: photo packages not installed" >&2
fi
# shellcheck disable=SC1091
. "$REPO/scripts/env.sh"
cd "$REPO"
POOL="$(python -c "import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))['data'].get('synthetic_pool') or '')" "$CONFIG")"
if [ -n "$POOL" ] && [ ! -f "$POOL/index.json" ] && [ ! -d "$POOL" ]; then
    python -m sqgan_ros.data.pool "$POOL" --count 3000 --workers "$(nproc)"
fi
pids=()
for stage in $STAGES; do
    branch=$([ "$stage" = 1 ] && echo semantic || echo image)
    mkdir -p "runs/v2_s$stage"
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 19 python -m sqgan_ros.training.cli --config "$CONFIG" \
        --stage "$stage" --init models/default.safetensors --state "models/train_state/$branch" \
        --out "runs/v2_s$stage" --device cpu $MINUTES >"runs/v2_s$stage/train.log" 2>&1 &
    pids+=($!)
    echo "stage $stage ($branch): pid $! log runs/v2_s$stage/train.log"
done
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait' INT TERM
wait
