#!/usr/bin/env bash
# One training round on a lent GPU machine, from the committed state, in a fixed time budget.
#   bash scripts/train_gpu.sh --minutes 9 --out "$OUT/round" [--device cuda] [--config ...]
# Needs only python3 with torch, numpy, OpenCV, safetensors and PyYAML, plus constriction (carry
# its wheel: pip install --no-index wheels/constriction-*.whl) and the LPIPS weights in
# .cache/lpips (made by scripts/setup.sh here; carry the folder). No ROS, no package index.
# Writes model.safetensors, train_state/, stage logs and summary.json into --out
# (sqgan_ros/training/budget_run.py explains the phases).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PY="${SQGAN_PYTHON:-python3}"
if ! "$PY" -c "import constriction" 2>/dev/null; then
    for whl in wheels/constriction-*.whl; do
        [ -f "$whl" ] && "$PY" -m pip install --no-index --quiet "$whl" 2>/dev/null && break
    done
fi
for mod in torch numpy cv2 safetensors yaml constriction; do
    "$PY" -c "import $mod" || { echo "train_gpu.sh: python module $mod missing" >&2; exit 2; }
done
[ -f .cache/lpips/lpips_alexnet.safetensors ] || { echo "train_gpu.sh: .cache/lpips missing (run scripts/setup.sh where there is a package index, carry .cache/lpips)" >&2; exit 2; }
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m sqgan_ros.training.budget_run "$@"
