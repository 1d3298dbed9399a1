"""Wire format of sqgan_ros: header, entropy-coded positions and indices (numpy + constriction).

See ``docs/CONTRACTS.md``. This package never imports torch or rclpy.
"""

from sqgan_ros.bitstream.errors import BitstreamError
from sqgan_ros.bitstream.symbols import BRANCHES, MAX_GRID_CELLS, BranchSymbols, FrameSymbols

__all__ = ["BRANCHES", "MAX_GRID_CELLS", "BitstreamError", "BranchSymbols", "FrameSymbols"]
