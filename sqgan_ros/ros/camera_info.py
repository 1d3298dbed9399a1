"""Camera info for a resized image (the decoder's output at camera or model size)."""

from __future__ import annotations

from typing import Any

__all__ = ["scale_camera_info", "camera_info_for"]


def scale_camera_info(info: Any, height: int, width: int) -> Any:
    """Return a copy of a ``sensor_msgs/CameraInfo`` with intrinsics scaled to ``height x width``.

    K and P rows 0 and 1 scale with the image; the ROI is reset; binning is cleared.
    """
    import copy

    out = copy.deepcopy(info)
    if info.width and info.height:
        sx = width / float(info.width)
        sy = height / float(info.height)
        k = list(info.k)
        k[0] *= sx
        k[2] *= sx
        k[4] *= sy
        k[5] *= sy
        out.k = k
        p = list(info.p)
        p[0] *= sx
        p[2] *= sx
        p[3] *= sx
        p[5] *= sy
        p[6] *= sy
        out.p = p
    out.width = int(width)
    out.height = int(height)
    out.binning_x = 0
    out.binning_y = 0
    out.roi.x_offset = 0
    out.roi.y_offset = 0
    out.roi.width = 0
    out.roi.height = 0
    out.roi.do_rectify = False
    return out


def camera_info_for(known: Any, header: Any, size: tuple[int, int]) -> Any:
    """CameraInfo for an output of ``size`` with ``header``: ``known`` scaled, or sizes only."""
    if known is not None:
        info = scale_camera_info(known, size[0], size[1])
    else:  # no calibration known: say at least the size
        from sensor_msgs.msg import CameraInfo

        info = CameraInfo()
        info.height, info.width = int(size[0]), int(size[1])
    info.header = header
    return info
