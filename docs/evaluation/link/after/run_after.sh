#!/usr/bin/env bash
# The "after" runs of docs/evaluation/link/README.md (issue 15 items 2-4: lean SemanticFrame,
# stats summary, coalesced best-effort acks, camera info on change, link-budget rate control).
# Root; ~6 min on the 2-core machine. DURATION=60 by default.
set -uo pipefail  # a failed run is reported in its summary.json; the others still run
cd "$(dirname "$0")/../../../.."
OUT="${OUT:-docs/evaluation/link/after}"
D="${DURATION:-60}"
for k in 16 24 32 64; do
    bash scripts/link_test.sh --kbps "$k" --profile thin --duration "$D" --out "$OUT/thin_${k}k" --quiet
done
bash scripts/link_test.sh --kbps 16 --loss 0.2 --video --profile thin --duration "$D" --out "$OUT/thin_16k_video_loss20" --quiet
