"""Classical baselines: still-image codecs, target-bpp search, x264/x265 video and frame loss."""

from __future__ import annotations

import numpy as np
import pytest

from sqgan_ros.data.synthetic import StreetSequence, render_scene
from sqgan_ros.evaluation import baselines as b
from sqgan_ros.evaluation import baselines_video as bv
from sqgan_ros.evaluation.metrics import psnr

CODEC_NAMES = list(b.IMAGE_CODECS)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return render_scene(5, (64, 128))[0]


def _codec(name: str) -> b.ImageCodec:
    reason = b.IMAGE_CODECS[name].unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    return b.get_codec(name)


@pytest.mark.parametrize("name", CODEC_NAMES)
def test_round_trip_counts_the_stream_that_decodes(name, image):
    codec = _codec(name)
    low, high = codec.quality_range
    sizes = []
    for quality in (low, (low + high) // 2, high):
        data = codec.encode(image, quality)
        assert isinstance(data, bytes)
        decoded = codec.decode(data)
        assert decoded.shape == image.shape and decoded.dtype == np.uint8
        assert b.bits_per_pixel(data, image.shape) == 8 * len(data) / (64 * 128)
        sizes.append(len(data))
    assert sizes[0] < sizes[1] < sizes[2], sizes  # bits increase with quality
    best = psnr(image, codec.decode(codec.encode(image, high)))
    factor = getattr(b.IMAGE_CODECS[name], "scale_factor", 1)
    if factor == 1:
        assert best > 30.0
    else:  # a downscaling codec at its best quality is as good as the resize round trip itself
        import cv2

        h, w = image.shape[:2]
        resized = cv2.resize(cv2.resize(image, (w // factor, h // factor), interpolation=cv2.INTER_AREA), (w, h),
                             interpolation=cv2.INTER_LANCZOS4)
        assert best > psnr(image, resized) - 1.0


@pytest.mark.parametrize("name", CODEC_NAMES)
def test_truncated_or_garbage_stream_raises(name, image):
    codec = _codec(name)
    with pytest.raises(b.CodecError):
        codec.decode(b"")
    with pytest.raises(b.CodecError):
        codec.decode(b"\x00\x01garbage" * 10)


def test_quality_and_image_validation(image):
    codec = _codec("jpeg")
    with pytest.raises(ValueError):
        codec.encode(image, 0)
    with pytest.raises(TypeError):
        codec.encode(image, 50.0)
    with pytest.raises(TypeError):
        codec.encode(image, True)
    with pytest.raises(TypeError):
        codec.encode(image.astype(np.float32), 50)
    with pytest.raises(ValueError):
        codec.encode(image[..., 0], 50)
    with pytest.raises(ValueError):
        b.get_codec("bpg")


def test_ffmpeg_codecs_need_even_sides(image):
    codec = _codec("av1_intra")
    with pytest.raises(ValueError, match="even"):
        codec.encode(image[:63], 30)


def test_registry_reports_availability():
    status = b.available_codecs()
    assert set(status) == set(CODEC_NAMES)
    assert all(reason is None or isinstance(reason, str) for reason in status.values())


@pytest.mark.parametrize("name", ["jpeg", "webp", "jpeg2000"])
def test_target_bpp_search_lands_within_one_step(name, image):
    codec = _codec(name)
    low, high = codec.quality_range
    bpp_low = b.bits_per_pixel(codec.encode(image, low), image.shape)
    bpp_high = b.bits_per_pixel(codec.encode(image, high), image.shape)
    target = bpp_low + 0.3 * (bpp_high - bpp_low)
    result = b.find_quality_for_bpp(codec, image, target)
    assert result.reached and result.codec == name
    assert result.bpp <= target
    assert result.bpp == b.bits_per_pixel(result.data, image.shape)
    assert b.bits_per_pixel(codec.encode(image, result.quality + 1), image.shape) > target
    np.testing.assert_array_equal(codec.decode(result.data), codec.decode(codec.encode(image, result.quality)))


def test_target_bpp_search_says_cannot_reach(image):
    codec = _codec("jpeg")
    result = b.find_quality_for_bpp(codec, image, 0.001)  # JPEG headers alone exceed this
    assert not result.reached
    assert result.quality == codec.quality_range[0] and result.bpp > 0.001
    generous = b.find_quality_for_bpp(codec, image, 1000.0)
    assert generous.reached and generous.quality == codec.quality_range[1]
    with pytest.raises(ValueError):
        b.find_quality_for_bpp(codec, image, 0.0)


def test_jpeg2000_quality_is_a_rate(image):
    codec = _codec("jpeg2000")
    for milli_bpp in (300, 1000):
        bpp = b.bits_per_pixel(codec.encode(image, milli_bpp), image.shape)
        assert bpp == pytest.approx(milli_bpp / 1000, rel=0.1)


# ------------------------------------------------------------------------------------------ video

def _video_available(codec: str) -> None:
    encoder, _ = bv.VIDEO_CODECS[codec]
    if b.ffmpeg_path() is None or encoder not in b.ffmpeg_encoders():
        pytest.skip(f"ffmpeg with {encoder} not installed")


@pytest.fixture(scope="module")
def sequence() -> list[np.ndarray]:
    seq = StreetSequence(1, (128, 256), speed=8.0)
    return [seq.render(i)[0] for i in range(30)]


@pytest.mark.parametrize("codec", ["x264", "x265"])
def test_video_hits_two_bitrates(codec, sequence):
    _video_available(codec)
    rates = []
    for kbps in (40.0, 120.0):
        video = bv.encode_video(sequence, bv.VideoSettings(codec=codec, kbps=kbps, fps=10.0, gop=20))
        assert len(video.access_units) == len(sequence)
        assert video.total_bytes == len(video.data) == sum(video.frame_bytes)
        assert video.kbps == pytest.approx(kbps, rel=0.25)
        rates.append(video.kbps)
        if kbps == 40.0:
            decoded = bv.decode_video(video)
            assert all(f is not None and f.shape == sequence[0].shape for f in decoded.frames)
            assert decoded.bytes_received == video.total_bytes
            assert np.mean(psnr(np.stack(sequence), np.stack(decoded.frames))) > 20.0
    assert rates[0] < rates[1]


def test_access_units_split_at_pictures(sequence):
    _video_available("x264")
    video = bv.encode_video(sequence[:12], bv.VideoSettings(codec="x264", kbps=80.0, gop=5))
    sizes = video.frame_bytes
    assert len(sizes) == 12
    assert all(sizes[k] > max(sizes[k - 1:k] + sizes[k + 1:k + 2]) for k in (0, 5, 10))  # keyframes are large
    assert bv.split_access_units(video.data, "x264") == list(video.access_units)
    with pytest.raises(ValueError):
        bv.split_access_units(b"no start code", "x264")
    with pytest.raises(ValueError):
        bv.split_access_units(video.data, "vp9")


def test_frame_loss_drops_whole_frames_and_aligns_output(sequence):
    _video_available("x264")
    video = bv.encode_video(sequence, bv.VideoSettings(codec="x264", kbps=60.0))
    received = np.ones(len(sequence), dtype=bool)
    received[[3, 4, 11]] = False
    decoded = bv.decode_video(video, received)
    assert decoded.bytes_received == video.total_bytes - sum(video.frame_bytes[i] for i in (3, 4, 11))
    assert all(decoded.frames[i] is None for i in (3, 4, 11))
    got = [i for i, f in enumerate(decoded.frames) if f is not None]
    assert got[:3] == [0, 1, 2] and len(got) >= len(sequence) - 3 - 4  # concealment may skip a few
    shown = bv.hold_last_frame(decoded)
    assert len(shown) == len(sequence)
    np.testing.assert_array_equal(shown[3], decoded.frames[2])
    np.testing.assert_array_equal(shown[4], decoded.frames[2])

    pattern = bv.drop_frames(len(sequence), 0.3, seed=4, protect_first=True)
    assert pattern[0] and 0 < (~pattern).sum() < len(sequence)
    np.testing.assert_array_equal(pattern, bv.drop_frames(len(sequence), 0.3, seed=4, protect_first=True))
    lossy = bv.simulate_frame_loss(video, 0.3, seed=4, protect_first=True)
    np.testing.assert_array_equal(lossy.received, pattern)
    assert all(f is None for f, r in zip(lossy.frames, pattern) if not r)


def test_video_input_validation(sequence):
    with pytest.raises(ValueError):
        bv.VideoSettings(codec="vp8")
    with pytest.raises(ValueError):
        bv.VideoSettings(kbps=0)
    with pytest.raises(ValueError):
        bv.VideoSettings(gop=0)
    with pytest.raises(ValueError):
        bv.encode_video([], bv.VideoSettings())
    with pytest.raises(ValueError):
        bv.encode_video([sequence[0], sequence[1][:64]], bv.VideoSettings())
    with pytest.raises(ValueError):
        bv.drop_frames(5, 1.0)


@pytest.mark.parametrize("codec", ["x264_x2", "x265_x4"])
def test_downscaled_video_baseline_shows_full_size_frames_at_lower_rates(codec, sequence):
    _video_available(codec)
    assert bv.video_scale(codec) == int(codec[-1]) and bv.video_scale("x265") == 1
    settings = bv.VideoSettings(codec=codec, kbps=10.0, fps=10.0, gop=20)
    run = bv.run_video_baseline(sequence[:10], settings)
    assert all(f.shape == sequence[0].shape for f in run.shown) and all(run.decoded)
    # 10 frames at 10 fps is one second: the stream stays near its (tiny) rate target
    assert sum(run.frame_bytes) * 8 / 1000 < 10.0 * 2.0
    assert np.mean(psnr(np.stack(sequence[:10]), np.stack(run.shown))) > 15.0
    with pytest.raises(ValueError):
        bv.video_scale("x266")
