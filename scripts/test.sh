#!/usr/bin/env bash
# Set up (idempotent, see scripts/setup.sh) and run the default test selection (not slow).
# Extra arguments go to pytest, e.g.:  bash scripts/test.sh -k image_conversion -x
#                                      bash scripts/test.sh -m slow
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$REPO/scripts/setup.sh"
# shellcheck disable=SC1091
. "$REPO/scripts/env.sh"

cd "$REPO"
# The ROS tests must run here, not skip: a missing message build is a failure.
export SQGAN_REQUIRE_ROS=1
exec python -m pytest "$@"
