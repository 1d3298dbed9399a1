"""``python -m sqgan_ros.codec_cli``: same as ``sqgan-codec``."""

from sqgan_ros.codec_cli import main

raise SystemExit(main())
