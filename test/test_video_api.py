"""VideoEncoder / VideoDecoder on a tiny random model: bytes round trip, acks, loss, evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sqgan_ros.api import SemanticDecoder
from sqgan_ros.bitstream import FrameType, peek_header
from sqgan_ros.codec.config import get_config
from sqgan_ros.codec.model import SQGAN
from sqgan_ros.codec.model_file import load_model, save_model
from sqgan_ros.evaluation.video import equal_quality_saving
from sqgan_ros.evaluation.video import main as evaluate_main
from sqgan_ros.video import ReferenceMissingError, VideoConfig, VideoDecoder, VideoEncoder


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_model(path, SQGAN(get_config("tiny")))
    return path


def _clip(frames: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """A small moving square on a fixed random background (48x80, not the model size)."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)
    out = []
    for t in range(frames):
        image, labels = background.copy(), np.full((48, 80), 19, np.uint8)
        image[10:26, 4 + 4 * t:20 + 4 * t] = (250, 30, 30)
        labels[10:26, 4 + 4 * t:20 + 4 * t] = 11
        out.append((image, labels))
    return out


def test_video_round_trip_matches_intended_state_and_intra_decoder(model_path: Path) -> None:
    loaded = load_model(model_path)
    enc = VideoEncoder(loaded, VideoConfig(intra_interval=0, scene_cut_fraction=1.0),
                       device="cpu", first_frame_id=2**32 - 2)
    dec = VideoDecoder(model_path, device="cpu")
    for t, (image, labels) in enumerate(_clip(5)):
        data = enc.encode(image, labels, keep_ratio=0.25, class_weights={"person": 4.0})
        header = peek_header(data)
        stats = enc.last_stats
        assert (header.frame_id, header.frame_type) == (stats.frame_id, stats.frame_type)
        assert header.frame_id == (2**32 - 2 + t) % 2**32
        out = dec.decode(data)
        assert out.image.shape == (48, 80, 3) and out.labels.shape == (48, 80)
        assert dec.last_state.image == enc.last_frame.state.image
        if t == 0:  # an INTRA frame decodes exactly as the image codec decodes it
            assert stats.frame_type == FrameType.INTRA
            assert np.array_equal(out.image, SemanticDecoder(loaded, "cpu").decode(data).image)
        else:
            assert stats.frame_type == FrameType.INTER and stats.reason == "ack"
            assert stats.reference_id == (header.frame_id - 1) % 2**32
        enc.acknowledge(dec.ack().last_decoded_frame_id)
    assert enc.last_stats.image_known > enc.last_stats.image_k


def test_lost_frame_is_refused_then_stream_recovers_with_acks(model_path: Path) -> None:
    enc = VideoEncoder(model_path, VideoConfig(max_reference_age=3, history=6, intra_interval=0,
                                               scene_cut_fraction=1.0), device="cpu")
    dec = VideoDecoder(model_path, device="cpu", history=6)
    clip = _clip(6, seed=1)
    dec.decode(enc.encode(*clip[0]))
    enc.acknowledge(dec.ack().last_decoded_frame_id)
    enc.encode(*clip[1])  # lost; the decoder never confirms it
    data = enc.encode(*clip[2])  # predicts from frame 0, the confirmed one
    assert enc.last_stats.reference_id == dec.ack().last_decoded_frame_id
    dec.decode(data)
    late = VideoDecoder(model_path, device="cpu")
    with pytest.raises(ReferenceMissingError):
        late.decode(enc.encode(*clip[3]))
    enc.request_intra()
    assert late.decode(enc.encode(*clip[4])).header.frame_type == FrameType.INTRA


def test_equal_quality_saving_interpolates_the_reference_curve() -> None:
    curve = [(1000.0, 0.5), (2000.0, 0.3), (4000.0, 0.1)]
    assert equal_quality_saving(curve, 500.0, 0.3) == pytest.approx(4.0)
    assert equal_quality_saving(curve, 1000.0, 0.2) == pytest.approx(3.0)
    assert np.isnan(equal_quality_saving(curve, 1000.0, 0.05))


def test_evaluate_cli_on_a_tiny_model(model_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "video.json"
    code = evaluate_main(["--model", str(model_path), "--sources", "street", "--frames", "6",
                          "--keep", "0.1,0.5", "--loss", "0,0.5", "--x265-kbps", "", "--x264-kbps", "",
                          "--lpips", "none", "--threads", "1", "--out", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    names = {(s["name"], s["setting"], s["loss"]) for s in report["summary"]}
    assert ("intra", 0.1, 0.0) in names and ("inter-ack", 0.5, 0.5) in names
    for run in report["runs"]:
        assert len(run["bits"]) == len(run["psnr"]) == len(run["important_psnr"]) == 6
        assert 0.0 <= run["seg_miou"] <= 100.0  # street has ground truth; bundled segmenter
        assert run["frame_types"][0] == "I"
    by = {(s["name"], s["setting"], s["loss"]): s for s in report["summary"]}
    # INTER frames never cost more latents than the budget: at most the intra-only bits.
    for keep in (0.1, 0.5):
        assert by[("inter-ack", keep, 0.0)]["bits_per_frame"] <= by[("intra", keep, 0.0)]["bits_per_frame"] * 1.05
    assert by[("intra", 0.1, 0.5)]["fresh_frames"] < 6


def test_evaluate_cli_class_weights_are_parsed_checked_and_recorded(model_path: Path, tmp_path: Path) -> None:
    from sqgan_ros.evaluation.video import _class_weights

    weights = _class_weights("person=4, car=2")
    assert weights["person"] == 4.0 and weights["car"] == 2.0 and weights["road"] == 1.0
    assert _class_weights("") is None
    for bad in ("dragon=2", "person=x", "person=-1", "person=nan"):
        with pytest.raises(Exception, match="class|CLASS|weights"):
            _class_weights(bad)
    out = tmp_path / "weighted.json"
    assert evaluate_main(["--model", str(model_path), "--sources", "street", "--frames", "3",
                          "--keep", "0.1", "--loss", "0", "--x265-kbps", "", "--x264-kbps", "",
                          "--lpips", "none", "--threads", "1", "--class-weights", "person=4",
                          "--out", str(out)]) == 0
    assert json.loads(out.read_text())["args"]["class_weights"]["person"] == 4.0
