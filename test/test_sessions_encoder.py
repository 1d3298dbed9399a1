"""EncoderSession without DDS: stamp matching, pause/resume, the INTRA policy, rate control,
screening and stats, on a tiny random model."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from sqgan_ros.bitstream import FrameType, peek_header
from sqgan_ros.link_cost import sample_link_cost
from sqgan_ros.sessions import CameraFrame, EncoderSession, EncoderSettings, ModelSettings
from sqgan_ros.sessions.encoder import INTRA_FRAMES_FOR_NEW_SUBSCRIBERS
from sqgan_ros.sessions.stamps import stamp_key


def _session(model: Path, **settings) -> tuple[EncoderSession, list[str]]:
    lines: list[str] = []
    s = EncoderSettings(segmenter=settings.pop("segmenter", "none"), **settings)
    session = EncoderSession.open(ModelSettings(model_file=str(model), device="cpu",
                                                precision="float32", torch_threads=1), s,
                                  log=lines.append)
    return session, lines


def _frame(i: int, size: tuple[int, int] = (32, 48), labels: np.ndarray | None = None,
           stamp: float | None = None) -> CameraFrame:
    rng = np.random.default_rng(i)
    rgb = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    return CameraFrame(header=f"h{i}", stamp=0.1 * i if stamp is None else stamp, rgb=rgb,
                       labels=labels, received=time.perf_counter())


def _encode_next(session: EncoderSession):
    frame = session.next_frame(timeout=0.01)
    assert frame is not None
    return session.encode(frame)


def test_intra_only_frames_numbered_and_stats(tiny_model_file: Path) -> None:
    session, _ = _session(tiny_model_file)
    for i in range(3):
        session.add_image(_frame(i), stamp_key(i, 0))
        out = _encode_next(session)
        assert out.frame_id == i and out.frame_type == int(FrameType.INTRA) and out.header == f"h{i}"
        assert peek_header(out.payload).image_size == (32, 48)
        stats = session.sent(out, len(out.payload) + 100)
        assert stats.frames_total == i + 1
        assert stats.message_bits == 8 * (len(out.payload) + 100) and stats.payload_bits == 8 * len(out.payload)
        # the link carries the sample with its RTPS/UDP/IP headers (link_cost)
        assert stats.link_bits == 8 * sample_link_cost(len(out.payload) + 100).forward_bytes
    assert stats.semantic_total == out.num_latents and stats.image_kept <= out.num_latents
    assert stats.fps > 0 and stats.link_kbps > stats.payload_kbps > 0


def test_newest_frame_wins_and_drops_are_counted(tiny_model_file: Path) -> None:
    session, _ = _session(tiny_model_file)
    for i in range(4):  # the worker is busy: three are replaced before it takes one
        session.add_image(_frame(i), stamp_key(i, 0))
    assert session.next_frame(0.01).header == "h3"
    assert session.frames_dropped == 3 and session.next_frame(0.01) is None


def test_labels_from_topic_are_matched_by_stamp(tiny_model_file: Path) -> None:
    session, _ = _session(tiny_model_file, segmenter="topic")
    assert session.labels_from_topic and session.segmenter is None
    labels = np.full((32, 48), 11, np.uint8)
    session.add_image(_frame(1), stamp_key(1, 0))
    assert session.next_frame(0.01) is None  # waits for its labels
    session.add_labels(np.zeros((32, 48), np.uint8), stamp_key(2, 0))  # another frame's
    assert session.next_frame(0.01) is None
    session.add_labels(labels, stamp_key(1, 0))
    frame = session.next_frame(0.01)
    assert frame.header == "h1" and frame.labels is labels
    session.encode(frame)
    session.add_image(_frame(2), stamp_key(2, 0))  # its labels came first
    assert session.next_frame(0.01).header == "h2"


def test_pause_and_resume_when_nobody_listens(tiny_model_file: Path) -> None:
    session, lines = _session(tiny_model_file, encode_only_when_subscribed=True, video=True)
    assert session.admit(1)
    assert not session.admit(0) and not session.admit(0)
    assert session.frames_idle == 2 and len(lines) == 1 and "skipped" in lines[0]
    assert session.admit(1) and "resumed (2 camera frames skipped" in lines[-1]
    session.add_image(_frame(0), stamp_key(0, 0))
    for k in range(INTRA_FRAMES_FOR_NEW_SUBSCRIBERS):  # the resumed stream starts INTRA
        first = _encode_next(session)
        assert first.frame_type == int(FrameType.INTRA)
        session.acknowledge(first.frame_id)
        session.add_image(_frame(0, stamp=0.05 * (k + 1)), stamp_key(0, 10 + k))
    # a steady stream with acknowledgements codes INTER frames ...
    second = _encode_next(session)
    assert second.frame_type == int(FrameType.INTER)
    # ... and one resuming after a pause restarts with INTRA frames (its references are stale)
    assert not session.admit(0)
    assert session.admit(2) and "resumed (1 camera frames skipped" in lines[-1]
    types = []
    for k in range(INTRA_FRAMES_FOR_NEW_SUBSCRIBERS + 1):
        session.add_image(_frame(0, stamp=0.2 + 0.1 * k), stamp_key(1, k))
        types.append(_encode_next(session).frame_type)
    assert types[:INTRA_FRAMES_FOR_NEW_SUBSCRIBERS] == [int(FrameType.INTRA)] * INTRA_FRAMES_FOR_NEW_SUBSCRIBERS


def test_without_encode_only_when_subscribed_every_frame_is_admitted(tiny_model_file: Path) -> None:
    session, lines = _session(tiny_model_file)
    assert session.admit(0) and session.frames_idle == 0 and lines == []


@pytest.mark.parametrize("enabled", [True, False])
def test_new_subscriber_gets_intra_frames_in_video_mode(tiny_model_file: Path, enabled: bool) -> None:
    session, _ = _session(tiny_model_file, video=True, intra_on_new_subscriber=enabled,
                          intra_interval=1000)
    session.add_image(_frame(0), stamp_key(0, 0))
    first = _encode_next(session)
    session.acknowledge(first.frame_id)
    session.subscriber_matched()
    types = []
    for k in range(1, 4):
        session.add_image(_frame(0, stamp=0.1 * k), stamp_key(0, k))
        encoded = _encode_next(session)
        session.acknowledge(encoded.frame_id)
        types.append(encoded.frame_type)
    intra, inter = int(FrameType.INTRA), int(FrameType.INTER)
    assert types == ([intra, intra, inter] if enabled else [inter, inter, inter])


def test_ack_timeout_resyncs_with_an_intra_frame(tiny_model_file: Path) -> None:
    session, _ = _session(tiny_model_file, video=True, ack_timeout_frames=2, intra_interval=1000)
    types = []
    for k in range(6):
        session.add_image(_frame(0, stamp=0.1 * k), stamp_key(0, k))
        encoded = _encode_next(session)
        if k == 0:
            session.acknowledge(encoded.frame_id)  # then the decoder falls silent
        types.append(encoded.frame_type)
    assert types[:3] == [0, 1, 1] and 0 in types[3:], types


def test_rate_control_follows_target_and_parameter_changes(tiny_model_file: Path) -> None:
    # the tiny model's frames take 25 (keep 0.02) to 55 bytes (keep 1.0); on the link (message
    # fields + RTPS/UDP/IP) ~213 to ~243 B: 17 to 19.5 kbit/s at 10 fps. target_kbps is a link budget.
    session, _ = _session(tiny_model_file, target_kbps=18.2, min_image_keep_ratio=0.02)
    kbps = []
    for i in range(40):
        session.add_image(_frame(i, size=(64, 128), stamp=0.1 * i), stamp_key(i, 0))
        encoded = _encode_next(session)
        stats = session.sent(encoded, len(encoded.payload) + 28)
        link = sample_link_cost(len(encoded.payload) + 28).forward_bytes
        kbps.append((encoded.image_keep_ratio, 8 * link / 0.1 / 1000))
    late = [k for _, k in kbps[20:]]
    assert abs(np.mean(late) - 18.2) < 0.5, kbps
    assert 0.02 < np.mean([r for r, _ in kbps[20:]]) < 1.0, kbps  # neither bound: controlled
    assert stats.frames_total == 40
    session.update({"target_kbps": 0.0, "image_keep_ratio": 0.3})
    session.add_image(_frame(99, size=(64, 128), stamp=5.0), stamp_key(99, 0))
    assert _encode_next(session).image_keep_ratio == pytest.approx(0.3)  # fixed again
    assert "fixed keep ratios" in session.mode()


def test_updates_are_validated_and_all_or_nothing(tiny_model_file: Path) -> None:
    session, _ = _session(tiny_model_file)
    with pytest.raises(ValueError, match="image_keep_ratio must be a number in \\(0, 1\\]"):
        session.update({"class_weights.person": 3.0, "image_keep_ratio": 0.0})
    assert session.settings.class_weights["person"] == 1.0
    session.update({"class_weights.person": 3.0})
    assert session.settings.class_weights["person"] == 3.0 and session.settings.class_weights["car"] == 1.0


def test_screening_counts_refusals_by_cause(tiny_model_file: Path) -> None:
    session, _ = _session(tiny_model_file, max_input_pixels=1000)
    assert session.screen_image(20, 50) is None
    assert session.screen_image(0, 5)[0] == "size"
    cause, reason = session.screen_image(40, 50)
    assert cause == "too_large" and "max_input_pixels = 1000" in reason
    session.reject("camera:too_large:rgb8", reason)
    session.reject("camera:too_large:rgb8", reason)
    assert session.rejected_by_cause == {"camera:too_large:rgb8": 2} and session.frames_rejected == 2
    for i in range(100):  # made-up causes: bounded memory
        session.reject(f"camera:x:{i}", "bad")
    assert len(session.rejected_by_cause) <= 65 and session.rejected_by_cause["other"] > 0


def test_the_api_checks_what_it_checks(tiny_model_file: Path) -> None:
    """A side the bitstream cannot carry is not screened again: the API refuses it on encode."""
    session, _ = _session(tiny_model_file)
    frame = CameraFrame("h", 0.0, np.zeros((1, 16385, 3), np.uint8), None, time.perf_counter())
    with pytest.raises(ValueError, match="image sides"):
        session.encode(frame)


def test_mode_line_names_video_and_rate_control(tiny_model_file: Path) -> None:
    session, _ = _session(tiny_model_file, video=True, target_kbps=12.0)
    mode = session.mode()
    assert "video on" in mode and "rate control to 12 kbit/s" in mode
    session.close()
    assert session.closed and session.next_frame(5.0) is None


def test_region_of_interest_is_sent_first_times_out_and_clears(tiny_model_file: Path) -> None:
    from sqgan_ros.bitstream import decode_frame
    from sqgan_ros.codec.samm import cells_in_region

    session, lines = _session(tiny_model_file, roi_timeout_s=10.0, semantic_keep_ratio=0.25,
                              image_keep_ratio=0.25)
    priors = session.codec.loaded.priors
    h, w = session.model_size
    t0 = time.monotonic()
    assert session.set_roi((24, 16, 24, 16), now=t0)  # the bottom-right quarter of a 32x48 frame
    assert session.roi(now=t0 + 5.0) == (24.0, 16.0, 24.0, 16.0) and "region of interest (24, 16, 24, 16)" in lines
    session.add_image(_frame(1), stamp_key(1, 0))
    symbols = decode_frame(_encode_next(session).payload, priors)[1]
    for name in ("semantic", "image"):
        branch = symbols.branch(name)
        cells = cells_in_region(branch.grid, (h, w), (w / 2, h / 2, w / 2, h / 2)).numpy()  # in model pixels
        assert set(np.flatnonzero(cells)) <= set(branch.positions.tolist()), name
    assert session.roi(now=t0 + 11.0) is None and lines[-1] == "region of interest timed out"
    assert session.set_roi((1, 1, 5, 5), now=200.0)
    assert not session.set_roi((0, 0, 0, 0), now=201.0) and session.roi(now=201.5) is None  # empty clears
    with pytest.raises(ValueError, match="width, height >= 0"):
        session.set_roi((0, 0, -3, 4))


def test_a_new_region_starts_with_an_intra_frame_in_video_mode(tiny_model_file: Path) -> None:
    session, _ = _session(tiny_model_file, video=True, roi_timeout_s=0.0)
    types = []
    for i in range(4):
        if i == 2:
            session.set_roi((0, 0, 16, 16))
        session.add_image(_frame(i), stamp_key(i, 0))
        out = _encode_next(session)
        session.acknowledge(out.frame_id)
        types.append(out.frame_type)
    assert types[2] == int(FrameType.INTRA) and types[3] == int(FrameType.INTER)


def test_thin_link_budget_skips_frames_logs_once_and_stays_under_it(tiny_model_file: Path) -> None:
    # ~213 B per frame on the link at the lowest keep ratio = 17 kbit/s at 10 fps: a 6 kbit/s
    # budget carries ~3.5 fps, so the session skips frames (None, nothing computed)
    session, lines = _session(tiny_model_file, target_kbps=6.0, min_image_keep_ratio=0.02)
    sent, link_bytes = [], 0
    for i in range(120):
        session.add_image(_frame(i, size=(64, 128), stamp=0.1 * i), stamp_key(i, 0))
        encoded = _encode_next(session)
        if encoded is None:
            continue
        session.sent(encoded, len(encoded.payload) + 28)
        sent.append(i)
        if i >= 40:
            link_bytes += sample_link_cost(len(encoded.payload) + 28).forward_bytes
    late = [i for i in sent if i >= 40]
    assert 20 <= len(late) <= 40, sent  # 8 s: ~3 fps, not 10
    assert 8 * link_bytes / 8.0 / 1000 <= 1.05 * 6.0
    assert session.frames_skipped == 120 - len(sent) and session.frames_dropped >= session.frames_skipped
    notes = [line for line in lines if "cannot carry the camera" in line]
    assert len(notes) == 1 and "frames are skipped" in notes[0], lines


def test_stats_summary_at_most_once_per_period(tiny_model_file: Path) -> None:
    session, _ = _session(tiny_model_file, stats_period_s=1.0)
    assert session.summary(now=0.0) is None  # nothing sent yet
    times = []
    for i in range(4):
        session.add_image(_frame(i), stamp_key(i, 0))
        out = _encode_next(session)
        session.sent(out, len(out.payload) + 28)
        times.append(out.encode_ms)
        summary = session.summary(now=100.0 + 0.3 * i)
        assert (summary is not None) == (i == 0), i
    summary = session.summary(now=101.5)
    assert summary is not None and summary.frame_id == 3 and summary.frames_total == 4
    assert summary.encode_ms == pytest.approx(np.mean(times[1:]))  # the frames since the last one
    assert session.summary(now=103.0) is None  # no frame since
