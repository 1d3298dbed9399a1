"""DecoderSession without DDS: screening through the API, output size (one resize at most),
lost / late frame ids, references, stats (message_kbps included), on a tiny random model."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sqgan_ros.api import SemanticEncoder
from sqgan_ros.bitstream import BitstreamError, decode_frame, encode_frame, peek_header
from sqgan_ros.link_cost import sample_link_cost
from sqgan_ros.sessions import Decoded, DecoderSession, DecoderSettings, ModelSettings, Refused


def _decoder(model: Path, **settings) -> DecoderSession:
    now = [100.0]
    session = DecoderSession.open(ModelSettings(model_file=str(model), device="cpu", precision="float32",
                                                torch_threads=1), DecoderSettings(**settings),
                                  clock=lambda: now[0])
    return session


@pytest.fixture(scope="module")
def streams(tiny_model_file: Path) -> list[bytes]:
    enc = SemanticEncoder(tiny_model_file, device="cpu", precision="float32")
    rng = np.random.default_rng(0)
    return [enc.encode(rng.integers(0, 256, (40, 70, 3), dtype=np.uint8), keep_ratio=0.5, frame_id=i)
            for i in range(6)]


def _receive(session: DecoderSession, payload: bytes, frame_id: int, **kw):
    # the frame id is the payload's own (the lean message repeats nothing of its header)
    try:
        assert peek_header(payload).frame_id == frame_id
    except BitstreamError:
        pass  # a corrupt payload: the session must refuse it
    return session.receive(payload, message_bytes=kw.pop("message_bytes", len(payload) + 100),
                           stamp=kw.pop("stamp", 99.75), **kw)


def test_decodes_at_camera_size_with_stats(tiny_model_file: Path, streams: list[bytes]) -> None:
    session = _decoder(tiny_model_file)
    out = _receive(session, streams[0], 0)
    assert isinstance(out, Decoded) and out.size == (40, 70) and out.image.shape == (40, 70, 3)
    assert out.labels.shape == (40, 70) and out.ack.last_decoded_frame_id == 0
    s = out.stats
    assert s.payload_bits == 8 * len(streams[0]) and s.message_bits == 8 * (len(streams[0]) + 100)
    assert s.link_bits == 8 * sample_link_cost(len(streams[0]) + 100).forward_bytes
    assert s.frame_id == 0 and s.frame_type == 0 and 0 < s.image_kept <= s.image_total
    assert s.latency_ms == pytest.approx(250.0) and math.isnan(s.encode_ms)
    assert s.bpp == pytest.approx(8 * len(streams[0]) / (40 * 70))
    session.encoder_stats(1, 12.5)
    s = _receive(session, streams[1], 1).stats
    assert s.encode_ms == 12.5 and s.frames_total == 2
    # link_kbps is a number (the decoder took it from the received sample's size)
    assert math.isfinite(s.link_kbps) and s.link_kbps > s.payload_kbps > 0
    s = _receive(session, streams[2], 2).stats  # the encoder's summary of another frame: its mean
    assert s.encode_ms == 12.5


def test_model_output_size_is_not_resized_twice(tiny_model_file: Path, streams: list[bytes],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import cv2

    calls: list[tuple] = []
    real = cv2.resize
    monkeypatch.setattr(cv2, "resize", lambda a, size, **kw: calls.append(size) or real(a, size, **kw))
    session = _decoder(tiny_model_file, output_size="model")
    out = _receive(session, streams[0], 0)
    assert out.size == session.model_size and out.image.shape[:2] == session.model_size
    assert calls == []  # decoded at the model size: no resize at all
    session.update({"output_size": "camera"})
    out = _receive(session, streams[1], 1)
    assert out.size == (40, 70) and len(calls) == 2  # image and labels, once each


def test_lost_and_late_frames_are_counted(tiny_model_file: Path, streams: list[bytes]) -> None:
    session = _decoder(tiny_model_file)
    for i in (0, 1, 3, 4):
        assert isinstance(_receive(session, streams[i], i), Decoded)
    assert session.frame_counts["lost"] == 1
    late = _receive(session, streams[2], 2)
    assert isinstance(late, Decoded) and "late" in late.notice
    assert session.frame_counts["lost"] == 0 and session.frame_counts["reordered"] == 1
    assert late.stats.frames_lost == 0


def test_refusals_name_the_reason_and_cost_one_frame(tiny_model_file: Path, streams: list[bytes]) -> None:
    session = _decoder(tiny_model_file, max_output_pixels=1000)
    too_big = _receive(session, streams[0], 0)  # 40 x 70 = 2800 pixels
    assert isinstance(too_big, Refused) and too_big.kind == "rejected"
    assert "max_output_pixels=1000" in too_big.message and too_big.ack is None
    session.update({"max_output_pixels": 16_777_216})
    loaded = session.codec.loaded
    header, symbols = decode_frame(streams[0], loaded.priors)
    foreign = encode_frame(replace(header, model_id=bytes.fromhex("0123456789abcdef")), symbols, loaded.priors)
    other = _receive(session, foreign, 0)
    assert isinstance(other, Refused) and other.cause == "model_id" and "0123456789abcdef" in other.message
    corrupt = bytearray(streams[0])
    corrupt[len(corrupt) // 2] ^= 0xFF
    bad = _receive(session, bytes(corrupt), 0)
    assert isinstance(bad, Refused) and bad.cause == "bitstream" and "checksum" in bad.message
    assert session.frames_rejected == 3
    assert isinstance(_receive(session, streams[1], 1), Decoded)  # the stream goes on


def test_forged_header_is_screened_before_entropy_decoding(tiny_model_file: Path, streams: list[bytes],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    session = _decoder(tiny_model_file)
    loaded = session.codec.loaded
    header, symbols = decode_frame(streams[0], loaded.priors)
    forged = encode_frame(replace(header, model_size=(256, 512)), symbols, loaded.priors)

    import sqgan_ros.video.codec as video_codec

    def no_entropy_decoding(*_a, **_k):
        raise AssertionError("entropy decoding reached")

    monkeypatch.setattr(video_codec, "decode_frame", no_entropy_decoding)
    out = _receive(session, forged, 0)
    assert isinstance(out, Refused) and "model size (256, 512)" in out.message


def test_inter_frame_without_reference_waits_and_acks(tiny_model_file: Path) -> None:
    from sqgan_ros.video import VideoConfig, VideoEncoder

    enc = VideoEncoder(tiny_model_file, VideoConfig(intra_interval=100), device="cpu", precision="float32")
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)
    intra = enc.encode(image, keep_ratio=0.5)
    inter = enc.encode(image, keep_ratio=0.5)
    first, second = (decode_frame(f, enc.loaded.priors)[0] for f in (intra, inter))
    assert second.frame_type == 1 and second.reference_id == first.frame_id
    session = _decoder(tiny_model_file)
    waiting = _receive(session, inter, second.frame_id)  # joined late: the INTRA frame was not seen
    assert isinstance(waiting, Refused) and waiting.kind == "waiting" and waiting.ack is None
    assert session.frames_dropped == 1 and session.frames_rejected == 0
    assert isinstance(_receive(session, intra, first.frame_id), Decoded)
    again = _receive(session, inter, second.frame_id)
    assert isinstance(again, Decoded) and again.ack.last_decoded_frame_id == second.frame_id


def test_settings_are_checked(tiny_model_file: Path) -> None:
    session = _decoder(tiny_model_file)
    with pytest.raises(ValueError, match="output_size must be one of camera, model, got 'big'"):
        session.update({"output_size": "big"})
    with pytest.raises(ValueError, match="stats_window_s"):
        DecoderSettings(stats_window_s=0.0)


def test_acks_are_coalesced_to_one_per_period(tiny_model_file: Path, streams: list[bytes]) -> None:
    session = _decoder(tiny_model_file, ack_period_s=0.5)
    sent = []
    for i in range(6):  # 10 frames/s: one ack per 0.5 s, always the newest state
        out = _receive(session, streams[i], i)
        ack = session.ack_due(out.ack, now=10.0 + 0.1 * i)
        if ack is not None:
            sent.append((i, ack.last_decoded_frame_id))
    assert sent == [(0, 0), (5, 5)], sent
    assert session.ack_pending(now=11.0) is None  # nothing new
    session.ack_due(None, now=11.0)
    assert session.ack_pending(now=20.0) is None
