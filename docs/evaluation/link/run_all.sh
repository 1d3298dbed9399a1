#!/usr/bin/env bash
# The runs behind docs/evaluation/link/README.md (root; ~16 min on the 2-core machine).
set -uo pipefail  # a failed run is reported in its summary.json; the others still run
cd "$(dirname "$0")/../../.."
OUT="${OUT:-docs/evaluation/link}"
for k in 16 24 32 64; do
    bash scripts/link_test.sh --kbps "$k" --profile thin --duration 90 --out "$OUT/thin_${k}k" --quiet
done
bash scripts/link_test.sh --kbps 16 --loss 0.2 --video --profile thin --duration 90 --out "$OUT/thin_16k_video_loss20" --quiet
bash scripts/link_test.sh --kbps 16 --loss 0.2 --profile thin --duration 90 --out "$OUT/thin_16k_intra_loss20" --quiet
bash scripts/link_test.sh --kbps 32 --profile default --duration 90 --out "$OUT/default_32k" --quiet
bash scripts/link_test.sh --kbps 64 --profile default --duration 60 --out "$OUT/default_64k" --quiet
bash scripts/link_test.sh --kbps 0 --target-kbps 32 --profile default --duration 60 --out "$OUT/default_unlimited" --quiet
bash scripts/link_test.sh --kbps 0 --target-kbps 32 --profile thin --duration 60 --out "$OUT/thin_unlimited" --quiet
