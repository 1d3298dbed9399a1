"""sensor_msgs/Image <-> numpy with cv_bridge semantics, without needing cv_bridge or rclpy.

Supported encodings (sensor_msgs/image_encodings.hpp names):

    colour/mono    rgb8 bgr8 rgba8 bgra8 mono8 mono16
    generic        8UC1 (= mono8 bytes), 8UC3 (= bgr8 bytes, OpenCV order), 16UC1 (= mono16),
                   32FC1 (float, e.g. depth; convertible only to itself)

Reading honours ``step`` (rows may be padded: step > width * channels * bytes) and
``is_bigendian`` (16-bit and float data are returned in native byte order). Writing produces
tightly packed rows in native byte order. Colour and depth conversions follow cv_bridge:
``cv2.cvtColor`` for channel changes (so mono = 0.299 R + 0.587 G + 0.114 B, rounded) and a
``max_dst / max_src`` scale for 8 <-> 16 bit.

::

    Image(height, width, step, encoding, is_bigendian, data)
        --image_to_numpy(msg, "rgb8")-->  uint8 (H, W, 3)
    uint8 (H, W, 3) --numpy_to_image(array, "rgb8", header)--> Image (tightly packed)

Messages are duck-typed: any object with the Image fields works (tests need no ROS).
``numpy_to_image`` builds a ``sensor_msgs.msg.Image`` when sensor_msgs is importable, else a
:class:`RawImage` with the same fields. Where the real cv_bridge is importable it can be used
instead (``backend="cv_bridge"``); the default, ``"numpy"``, is this module's own code, which
is what the tests check and which does not depend on cv_bridge's NumPy ABI.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

__all__ = [
    "ENCODINGS",
    "ImageConversionError",
    "RawImage",
    "image_to_numpy",
    "numpy_to_image",
]


class ImageConversionError(ValueError):
    """A sensor_msgs/Image could not be converted (bad encoding, sizes, step or data).

    Args:
        message: what is wrong, naming the encoding.
        cause: a short category for throttled logging and statistics: ``"encoding"``
            (unsupported), ``"size"`` (zero or too large), ``"step"``, ``"data"`` (shorter than
            declared), ``"conversion"`` (no conversion between the encodings) or ``"invalid"``.
    """

    def __init__(self, message: str, cause: str = "invalid") -> None:
        super().__init__(message)
        self.cause = cause


@dataclass(frozen=True)
class _Encoding:
    dtype: np.dtype
    channels: int
    layout: str | None  # cv2 colour name (RGB, BGR, RGBA, BGRA, GRAY) or None (generic)


_U8, _U16, _F32 = np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32)

ENCODINGS: dict[str, _Encoding] = {
    "rgb8": _Encoding(_U8, 3, "RGB"),
    "bgr8": _Encoding(_U8, 3, "BGR"),
    "rgba8": _Encoding(_U8, 4, "RGBA"),
    "bgra8": _Encoding(_U8, 4, "BGRA"),
    "mono8": _Encoding(_U8, 1, "GRAY"),
    "mono16": _Encoding(_U16, 1, "GRAY"),
    "8UC1": _Encoding(_U8, 1, None),
    "8UC3": _Encoding(_U8, 3, None),
    "16UC1": _Encoding(_U16, 1, None),
    "32FC1": _Encoding(_F32, 1, None),
}

#: Generic encodings that have the byte layout of a colour/mono one (OpenCV channel order).
_GENERIC_AS: dict[str, str] = {"8UC1": "mono8", "8UC3": "bgr8", "16UC1": "mono16"}

_NATIVE_BIG_ENDIAN: bool = sys.byteorder == "big"


@dataclass
class RawImage:
    """The fields of sensor_msgs/Image, for use where sensor_msgs is not installed."""

    header: Any = None
    height: int = 0
    width: int = 0
    encoding: str = ""
    is_bigendian: int = 0
    step: int = 0
    data: bytes = field(default=b"", repr=False)


def _lookup(encoding: str, what: str) -> _Encoding:
    if not isinstance(encoding, str):
        raise TypeError(f"{what} must be a str, got {type(encoding).__name__}")
    try:
        return ENCODINGS[encoding]
    except KeyError:
        raise ImageConversionError(
            f"unsupported {what} {encoding!r}; supported: {', '.join(ENCODINGS)}", cause="encoding"
        ) from None


def _as_bytes_view(data: Any) -> np.ndarray:
    """The message's ``data`` as a flat uint8 array (zero-copy for buffer objects)."""
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    try:
        return np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    except TypeError:
        pass
    try:
        return np.asarray(data, dtype=np.uint8).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Image.data must be bytes-like or a sequence of uint8, got {type(data).__name__}") from exc


def _message_array(msg: Any) -> tuple[np.ndarray, str]:
    """Decode ``msg`` into a native-endian array in its own encoding, shape (H, W[, C])."""
    for name in ("height", "width", "step", "encoding", "data"):
        if not hasattr(msg, name):
            raise TypeError(f"expected a sensor_msgs/Image-like object; {type(msg).__name__} has no {name!r}")
    encoding = msg.encoding
    enc = _lookup(encoding, "image encoding")
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise ImageConversionError(f"image has zero or negative size {height}x{width} ({encoding})",
                                   cause="size")
    row_bytes = width * enc.channels * enc.dtype.itemsize
    if step < row_bytes:
        raise ImageConversionError(
            f"step {step} is smaller than width * channels * bytes = {row_bytes} for {encoding}",
            cause="step")
    if step % enc.dtype.itemsize:
        raise ImageConversionError(
            f"step {step} is not a multiple of the {enc.dtype.itemsize}-byte sample size of {encoding}",
            cause="step")
    raw = _as_bytes_view(msg.data)
    if raw.size < height * step:
        raise ImageConversionError(
            f"data has {raw.size} bytes, fewer than height * step = {height * step} ({encoding})",
            cause="data")
    rows = raw[: height * step].reshape(height, step)[:, :row_bytes]
    big = bool(getattr(msg, "is_bigendian", 0))
    dtype = enc.dtype.newbyteorder(">" if big else "<") if enc.dtype.itemsize > 1 else enc.dtype
    array = np.ascontiguousarray(rows).view(dtype).astype(enc.dtype, copy=False)
    array = array.reshape(height, width, enc.channels)
    if enc.channels == 1:
        array = array[:, :, 0]
    return np.array(array, copy=True), encoding


def _convert(array: np.ndarray, source: str, target: str) -> np.ndarray:
    """Convert an array between encodings (cv_bridge semantics)."""
    if source == target:
        return array
    src_name, dst_name = _GENERIC_AS.get(source, source), _GENERIC_AS.get(target, target)
    src, dst = ENCODINGS[src_name], ENCODINGS[dst_name]
    if src.layout is None or dst.layout is None:
        raise ImageConversionError(f"cannot convert {source} to {target}", cause="conversion")
    out = array
    if src.layout != dst.layout:
        code = getattr(cv2, f"COLOR_{src.layout}2{dst.layout}", None)
        if code is None:  # pragma: no cover - every pair of the table exists in OpenCV
            raise ImageConversionError(f"no colour conversion from {source} to {target}")
        out = cv2.cvtColor(np.ascontiguousarray(out), code)
    if src.dtype != dst.dtype:
        scale = float(np.iinfo(dst.dtype).max) / float(np.iinfo(src.dtype).max)
        out = np.clip(np.rint(out.astype(np.float64) * scale), 0, np.iinfo(dst.dtype).max)
        out = out.astype(dst.dtype)
    return out


def _cv_bridge() -> Any:
    try:
        from cv_bridge import CvBridge  # noqa: PLC0415 - optional ROS dependency
    except ImportError as exc:
        raise ImageConversionError("backend='cv_bridge' requested but cv_bridge is not importable") from exc
    return CvBridge()


def _check_backend(backend: str) -> None:
    if backend not in ("numpy", "cv_bridge"):
        raise ValueError(f"backend must be 'numpy' or 'cv_bridge', got {backend!r}")


def image_to_numpy(msg: Any, desired_encoding: str = "passthrough", *, backend: str = "numpy") -> np.ndarray:
    """Convert a sensor_msgs/Image (or any object with its fields) to a numpy array.

    Args:
        msg: the image message: ``height``, ``width``, ``encoding``, ``is_bigendian``, ``step``,
            ``data`` (bytes, bytearray, array.array('B'), uint8 sequence or numpy array).
        desired_encoding: ``"passthrough"`` (keep the message's encoding) or one of
            :data:`ENCODINGS`; colour/mono/depth conversions follow cv_bridge.
        backend: ``"numpy"`` (this module) or ``"cv_bridge"`` (ROS cv_bridge, if installed).

    Returns:
        A new, writable, native-endian array: ``(H, W)`` for one channel, else ``(H, W, C)``;
        dtype uint8, uint16 (mono16/16UC1) or float32 (32FC1).

    Raises:
        ImageConversionError: unsupported encoding, zero size, step too small, data too short,
            or no conversion between the two encodings.
        TypeError: ``msg`` lacks Image fields or ``data`` is not bytes-like.
    """
    _check_backend(backend)
    array, encoding = _message_array(msg)  # validates the message in both backends
    if desired_encoding != "passthrough":
        _lookup(desired_encoding, "desired encoding")
    if backend == "cv_bridge":
        try:
            return np.array(_cv_bridge().imgmsg_to_cv2(msg, desired_encoding=desired_encoding), copy=True)
        except ImageConversionError:
            raise
        except Exception as exc:  # CvBridgeError and friends: report in our terms
            raise ImageConversionError(f"cv_bridge could not convert {encoding} to {desired_encoding}: {exc}") from exc
    if desired_encoding == "passthrough":
        return array
    return _convert(array, encoding, desired_encoding)


def numpy_to_image(array: np.ndarray, encoding: str, header: Any = None, *, backend: str = "numpy") -> Any:
    """Build a tightly packed sensor_msgs/Image from a numpy array.

    Args:
        array: ``(H, W)`` (or ``(H, W, 1)``) for one-channel encodings, ``(H, W, C)`` otherwise;
            dtype must match the encoding (uint8, uint16 for mono16/16UC1, float32 for 32FC1).
        encoding: one of :data:`ENCODINGS`; the array is taken to be in this encoding already.
        header: std_msgs/Header to copy into the message (``None``: leave the default).
        backend: ``"numpy"`` (this module) or ``"cv_bridge"`` (ROS cv_bridge, if installed).

    Returns:
        ``sensor_msgs.msg.Image`` when sensor_msgs is importable, else :class:`RawImage`;
        ``step = width * channels * bytes``, native byte order.

    Raises:
        ImageConversionError: unsupported encoding, zero size, or a shape/dtype that does not
            match the encoding.
        TypeError: ``array`` is not a numpy array.
    """
    _check_backend(backend)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"array must be a numpy.ndarray, got {type(array).__name__}")
    enc = _lookup(encoding, "image encoding")
    if array.ndim == 3 and enc.channels == 1 and array.shape[2] == 1:
        array = array[:, :, 0]
    expected_ndim = 2 if enc.channels == 1 else 3
    if array.ndim != expected_ndim or (expected_ndim == 3 and array.shape[2] != enc.channels):
        want = "(H, W)" if enc.channels == 1 else f"(H, W, {enc.channels})"
        raise ImageConversionError(f"{encoding} needs an array of shape {want}, got {array.shape}")
    if array.dtype != enc.dtype:
        raise ImageConversionError(f"{encoding} needs dtype {enc.dtype}, got {array.dtype}")
    height, width = array.shape[:2]
    if height == 0 or width == 0:
        raise ImageConversionError(f"image has zero size {height}x{width} ({encoding})")
    if height > 0xFFFFFFFF or width > 0xFFFFFFFF:
        raise ImageConversionError(f"image size {height}x{width} does not fit sensor_msgs/Image")
    if backend == "cv_bridge":
        msg = _cv_bridge().cv2_to_imgmsg(np.ascontiguousarray(array), encoding=encoding)
    else:
        msg = _new_image()
        msg.height, msg.width, msg.encoding = int(height), int(width), encoding
        msg.is_bigendian = int(_NATIVE_BIG_ENDIAN)
        msg.step = int(width * enc.channels * enc.dtype.itemsize)
        msg.data = np.ascontiguousarray(array).tobytes()
    if header is not None:
        msg.header = header
    return msg


def _new_image() -> Any:
    try:
        from sensor_msgs.msg import Image  # noqa: PLC0415 - optional: keeps the library ROS-free
    except ImportError:
        return RawImage()
    return Image()
