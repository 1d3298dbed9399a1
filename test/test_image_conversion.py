"""sqgan_ros.ros.image_conversion: every encoding, padded rows, byte order, conversions, errors."""

from __future__ import annotations

import array
import sys
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from sqgan_ros.ros.image_conversion import (
    ENCODINGS,
    ImageConversionError,
    RawImage,
    image_to_numpy,
    numpy_to_image,
)

RNG = np.random.default_rng(1234)
SHAPES = {1: (5, 7), 3: (5, 7, 3), 4: (5, 7, 4)}


def random_array(encoding: str) -> np.ndarray:
    enc = ENCODINGS[encoding]
    shape = SHAPES[enc.channels]
    if enc.dtype == np.float32:
        return RNG.normal(size=shape).astype(np.float32)
    return RNG.integers(0, np.iinfo(enc.dtype).max + 1, size=shape, dtype=enc.dtype)


def make_msg(arr: np.ndarray, encoding: str, *, pad: int = 0, big_endian: bool = False) -> SimpleNamespace:
    """An Image-like message built by hand (independently of numpy_to_image)."""
    height, width = arr.shape[:2]
    dtype = arr.dtype.newbyteorder(">" if big_endian else "<")
    rows = arr.astype(dtype).reshape(height, -1).view(np.uint8)
    padded = np.concatenate([rows, np.full((height, pad), 0xAB, np.uint8)], axis=1)
    return SimpleNamespace(height=height, width=width, encoding=encoding, is_bigendian=int(big_endian),
                           step=padded.shape[1], data=padded.tobytes())


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_round_trip_every_encoding(encoding: str) -> None:
    arr = random_array(encoding)
    msg = numpy_to_image(arr, encoding)
    enc = ENCODINGS[encoding]
    assert (msg.height, msg.width, msg.encoding) == (arr.shape[0], arr.shape[1], encoding)
    assert msg.step == arr.shape[1] * enc.channels * enc.dtype.itemsize  # tightly packed
    assert msg.is_bigendian == int(sys.byteorder == "big")
    back = image_to_numpy(msg)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("big_endian", [False, True])
def test_padded_rows_and_byte_order(encoding: str, big_endian: bool) -> None:
    arr = random_array(encoding)
    pad = 4 * ENCODINGS[encoding].dtype.itemsize
    back = image_to_numpy(make_msg(arr, encoding, pad=pad, big_endian=big_endian))
    np.testing.assert_array_equal(back, arr)
    assert back.dtype.isnative and back.flags.writeable and back.flags.c_contiguous


def test_big_endian_16_bit_is_decoded_by_value() -> None:
    msg = SimpleNamespace(height=1, width=2, encoding="mono16", is_bigendian=1, step=4,
                          data=bytes([0x01, 0x02, 0xFF, 0x00]))
    np.testing.assert_array_equal(image_to_numpy(msg), [[0x0102, 0xFF00]])
    msg.is_bigendian = 0
    np.testing.assert_array_equal(image_to_numpy(msg), [[0x0201, 0x00FF]])


def test_data_types_accepted() -> None:
    arr = random_array("rgb8")
    raw = make_msg(arr, "rgb8").data
    for data in (raw, bytearray(raw), array.array("B", raw), list(raw), np.frombuffer(raw, np.uint8)):
        msg = SimpleNamespace(height=5, width=7, encoding="rgb8", is_bigendian=0, step=21, data=data)
        np.testing.assert_array_equal(image_to_numpy(msg), arr)


def test_result_does_not_alias_message_data() -> None:
    arr = random_array("mono8")
    buffer = bytearray(arr.tobytes())
    msg = SimpleNamespace(height=5, width=7, encoding="mono8", is_bigendian=0, step=7, data=buffer)
    out = image_to_numpy(msg)
    buffer[0] ^= 0xFF
    assert out[0, 0] == arr[0, 0]


@pytest.mark.parametrize(("source", "target", "code"), [
    ("rgb8", "bgr8", cv2.COLOR_RGB2BGR),
    ("bgr8", "rgb8", cv2.COLOR_BGR2RGB),
    ("rgb8", "rgba8", cv2.COLOR_RGB2RGBA),
    ("bgra8", "rgb8", cv2.COLOR_BGRA2RGB),
    ("rgba8", "bgra8", cv2.COLOR_RGBA2BGRA),
    ("rgb8", "mono8", cv2.COLOR_RGB2GRAY),
    ("bgr8", "mono8", cv2.COLOR_BGR2GRAY),
    ("mono8", "rgb8", cv2.COLOR_GRAY2RGB),
    ("8UC3", "rgb8", cv2.COLOR_BGR2RGB),
    ("8UC3", "8UC1", cv2.COLOR_BGR2GRAY),
])
def test_colour_conversions_match_opencv(source: str, target: str, code: int) -> None:
    arr = random_array(source)
    out = image_to_numpy(numpy_to_image(arr, source), target)
    np.testing.assert_array_equal(out, cv2.cvtColor(arr, code))
    assert out.dtype == ENCODINGS[target].dtype


def test_rgb_bgr_swap_is_channel_reversal() -> None:
    arr = random_array("rgb8")
    np.testing.assert_array_equal(image_to_numpy(numpy_to_image(arr, "rgb8"), "bgr8"), arr[:, :, ::-1])


def test_bit_depth_scaling() -> None:
    mono16 = np.array([[0, 257, 65535, 128]], dtype=np.uint16)
    np.testing.assert_array_equal(image_to_numpy(numpy_to_image(mono16, "mono16"), "mono8"), [[0, 1, 255, 0]])
    mono8 = np.array([[0, 1, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(image_to_numpy(numpy_to_image(mono8, "mono8"), "mono16"), [[0, 257, 65535]])
    rgb = image_to_numpy(numpy_to_image(mono16, "mono16"), "rgb8")
    assert rgb.shape == (1, 4, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[..., 0], [[0, 1, 255, 0]])


def test_one_channel_array_with_trailing_axis() -> None:
    arr = random_array("mono8")
    np.testing.assert_array_equal(image_to_numpy(numpy_to_image(arr[:, :, None], "mono8")), arr)


def test_header_is_copied() -> None:
    header = SimpleNamespace(frame_id="cam", stamp=(1, 2))
    assert numpy_to_image(random_array("rgb8"), "rgb8", header).header is header


def test_builds_real_sensor_msgs_image_when_available() -> None:
    image_cls = pytest.importorskip("sensor_msgs.msg").Image
    msg = numpy_to_image(random_array("bgra8"), "bgra8")
    assert isinstance(msg, image_cls)
    assert isinstance(image_to_numpy(msg), np.ndarray)


def test_raw_image_fallback_has_image_fields() -> None:
    msg = RawImage(height=1, width=1, encoding="mono8", step=1, data=b"\x07")
    assert image_to_numpy(msg).tolist() == [[7]]


# --- error paths ----------------------------------------------------------------------------

def good_msg(**changes) -> SimpleNamespace:
    msg = make_msg(random_array("rgb8"), "rgb8")
    for key, value in changes.items():
        setattr(msg, key, value)
    return msg


@pytest.mark.parametrize(("changes", "match"), [
    ({"encoding": "yuv422"}, "unsupported image encoding 'yuv422'"),
    ({"encoding": "bayer_rggb8"}, "unsupported image encoding 'bayer_rggb8'"),
    ({"height": 0}, "zero"),
    ({"width": 0}, "zero"),
    ({"step": 20}, r"step 20 is smaller than .* 21 for rgb8"),
    ({"data": b"\x00" * 104}, r"data has 104 bytes, fewer than height \* step = 105"),
])
def test_bad_messages_raise(changes: dict, match: str) -> None:
    with pytest.raises(ImageConversionError, match=match):
        image_to_numpy(good_msg(**changes))


def test_step_not_multiple_of_sample_size() -> None:
    msg = SimpleNamespace(height=1, width=1, encoding="mono16", is_bigendian=0, step=3, data=b"\x00" * 3)
    with pytest.raises(ImageConversionError, match="multiple"):
        image_to_numpy(msg)


def test_unsupported_desired_encoding() -> None:
    with pytest.raises(ImageConversionError, match="unsupported desired encoding 'hsv8'"):
        image_to_numpy(good_msg(), "hsv8")


@pytest.mark.parametrize(("source", "target"), [("32FC1", "mono8"), ("rgb8", "32FC1"), ("32FC1", "16UC1")])
def test_impossible_conversions(source: str, target: str) -> None:
    msg = numpy_to_image(random_array(source), source)
    with pytest.raises(ImageConversionError, match=f"cannot convert {source} to {target}"):
        image_to_numpy(msg, target)


def test_not_an_image_message() -> None:
    with pytest.raises(TypeError, match="no 'step'"):
        image_to_numpy(SimpleNamespace(height=1, width=1, encoding="mono8", data=b"\x00"))
    with pytest.raises(TypeError, match="bytes-like"):
        image_to_numpy(good_msg(data=object()))


@pytest.mark.parametrize(("arr", "encoding", "match"), [
    (np.zeros((4, 4, 3), np.uint16), "rgb8", "needs dtype uint8"),
    (np.zeros((4, 4), np.uint8), "rgb8", r"shape \(H, W, 3\)"),
    (np.zeros((4, 4, 4), np.uint8), "rgb8", r"shape \(H, W, 3\)"),
    (np.zeros((4, 4, 3), np.uint8), "mono8", r"shape \(H, W\)"),
    (np.zeros((4, 4), np.float64), "32FC1", "needs dtype float32"),
    (np.zeros((0, 4, 3), np.uint8), "rgb8", "zero size"),
    (np.zeros((4, 4, 3), np.uint8), "rgb16", "unsupported image encoding 'rgb16'"),
])
def test_bad_arrays_raise(arr: np.ndarray, encoding: str, match: str) -> None:
    with pytest.raises(ImageConversionError, match=match):
        numpy_to_image(arr, encoding)


def test_type_errors() -> None:
    with pytest.raises(TypeError, match="numpy.ndarray"):
        numpy_to_image([[1, 2]], "mono8")
    with pytest.raises(TypeError, match="must be a str"):
        numpy_to_image(np.zeros((2, 2), np.uint8), None)
    with pytest.raises(ValueError, match="backend"):
        image_to_numpy(good_msg(), backend="opencv")


def test_error_is_a_value_error() -> None:
    assert issubclass(ImageConversionError, ValueError)


def test_cv_bridge_backend_reports_when_missing() -> None:
    try:
        import cv_bridge  # noqa: F401
    except ImportError:
        with pytest.raises(ImageConversionError, match="cv_bridge is not importable"):
            image_to_numpy(good_msg(), backend="cv_bridge")
    else:  # a real ROS install: both backends must agree
        arr = random_array("rgb8")
        msg = numpy_to_image(arr, "rgb8")
        np.testing.assert_array_equal(image_to_numpy(msg, "bgr8", backend="cv_bridge"),
                                      image_to_numpy(msg, "bgr8"))
