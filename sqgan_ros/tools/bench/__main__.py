"""``python -m sqgan_ros.tools.bench``: same as ``sqgan-bench``."""

import sys

from sqgan_ros.tools.bench.cli import main

sys.exit(main())
