"""sqgan-codec: images and videos to SQ-GAN files and back, errors as exit statuses with a reason."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from sqgan_ros.bitstream import FrameType, peek_header
from sqgan_ros.bitstream.stream_file import StreamReader
from sqgan_ros.codec_cli import main


def _image(seed: int, shape: tuple[int, int] = (48, 80)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.zeros((*shape, 3), np.uint8)
    base[:, : shape[1] // 2] = (200, 60, 40)
    base[shape[0] // 2:, :] = (50, 160, 70)
    return np.clip(base.astype(int) + rng.integers(-20, 20, base.shape), 0, 255).astype(np.uint8)


def _write_png(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def _video(path: Path, frames: int = 8) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (80, 48))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(cv2.cvtColor(np.roll(_image(0), 2 * i, axis=1), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_image_round_trip_with_labels_and_info(tmp_path: Path, tiny_model_file: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_png(tmp_path / "in.png", _image(1))
    labels = np.zeros((48, 80), np.uint8)
    labels[24:] = 8  # vegetation
    assert cv2.imwrite(str(tmp_path / "labels.png"), labels)
    model = ["--model", str(tiny_model_file), "--device", "cpu"]
    assert main(["encode", str(src), "-o", str(tmp_path / "a.sqg"), "--keep", "0.5",
                 "--labels", str(tmp_path / "labels.png"), "--class-weights", "vegetation=3", *model]) == 0
    data = (tmp_path / "a.sqg").read_bytes()
    header = peek_header(data)
    assert header.image_size == (48, 80) and header.frame_type == FrameType.INTRA
    assert f"{len(data)} bytes" in capsys.readouterr().out

    assert main(["decode", str(tmp_path / "a.sqg"), "-o", str(tmp_path / "out.png"),
                 "--semantic", str(tmp_path / "sem.png"), *model]) == 0
    out = cv2.imread(str(tmp_path / "out.png"))
    assert out.shape == (48, 80, 3) and cv2.imread(str(tmp_path / "sem.png")).shape == (48, 80, 3)

    assert main(["info", str(tmp_path / "a.sqg")]) == 0
    text = capsys.readouterr().out
    assert "SQ-GAN frame" in text and "image 80x48" in text and "INTRA" in text


def test_video_round_trip_is_inter_coded_and_smaller_than_intra(tmp_path: Path, tiny_model_file: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    video = _video(tmp_path / "in.avi")
    common = ["--model", str(tiny_model_file), "--device", "cpu", "--segmenter", "none", "--quiet"]
    assert main(["encode", str(video), "-o", str(tmp_path / "v.sqgs"), "--intra-interval", "100", *common]) == 0
    assert main(["encode", str(video), "-o", str(tmp_path / "i.sqgs"), "--intra-only", *common]) == 0
    inter = StreamReader(tmp_path / "v.sqgs")
    types = [peek_header(f).frame_type for f in inter]
    assert inter.fps == pytest.approx(5.0) and len(types) == 8
    assert types[0] == FrameType.INTRA and set(types[1:]) == {FrameType.INTER}
    assert [peek_header(f).frame_type for f in StreamReader(tmp_path / "i.sqgs")] == [FrameType.INTRA] * 8
    assert (tmp_path / "v.sqgs").stat().st_size < (tmp_path / "i.sqgs").stat().st_size

    capsys.readouterr()
    model = ["--model", str(tiny_model_file), "--device", "cpu"]
    assert main(["decode", str(tmp_path / "v.sqgs"), "-o", str(tmp_path / "frames"), *model]) == 0
    pngs = sorted((tmp_path / "frames").glob("frame_*.png"))
    assert len(pngs) == 8 and cv2.imread(str(pngs[-1])).shape == (48, 80, 3)
    assert "8 frames decoded, 0 failed" in capsys.readouterr().out
    assert main(["decode", str(tmp_path / "v.sqgs"), "-o", str(tmp_path / "out.avi"), *model]) == 0
    capture = cv2.VideoCapture(str(tmp_path / "out.avi"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 8
    capture.release()

    assert main(["info", str(tmp_path / "v.sqgs")]) == 0
    assert "8 frames at 5 fps" in capsys.readouterr().out


def test_image_folder_is_a_stream_and_frames_limit(tmp_path: Path, tiny_model_file: Path) -> None:
    folder = tmp_path / "seq"
    folder.mkdir()
    for i in range(5):
        _write_png(folder / f"{i:03d}.png", _image(i))
    assert main(["encode", str(folder), "-o", str(tmp_path / "f.sqgs"), "--frames", "3", "--fps", "2",
                 "--model", str(tiny_model_file), "--device", "cpu", "--segmenter", "none", "--quiet"]) == 0
    reader = StreamReader(tmp_path / "f.sqgs")
    assert reader.fps == 2.0 and len(list(reader)) == 3


def test_decoding_with_another_model_is_refused(tmp_path: Path, tiny_model_file: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from sqgan_ros.codec.config import get_config
    from sqgan_ros.codec.model import SQGAN
    from sqgan_ros.codec.model_file import save_model

    torch.manual_seed(1)
    other = tmp_path / "other.safetensors"
    save_model(other, SQGAN(get_config("tiny")).eval())
    src = _write_png(tmp_path / "in.png", _image(2))
    assert main(["encode", str(src), "-o", str(tmp_path / "a.sqg"), "--model", str(tiny_model_file),
                 "--device", "cpu", "--segmenter", "none"]) == 0
    capsys.readouterr()
    assert main(["decode", str(tmp_path / "a.sqg"), "-o", str(tmp_path / "o.png"), "--model", str(other),
                 "--device", "cpu"]) == 1
    assert "model" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_bad_inputs_exit_2_with_a_reason(tmp_path: Path, tiny_model_file: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    model = ["--model", str(tiny_model_file), "--device", "cpu", "--segmenter", "none"]
    src = _write_png(tmp_path / "in.png", _image(3))
    (tmp_path / "junk.bin").write_bytes(b"hello world")
    small = np.zeros((10, 10), np.uint8)
    assert cv2.imwrite(str(tmp_path / "small_labels.png"), small)
    cases = [
        (["encode", str(tmp_path / "missing.png"), "-o", str(tmp_path / "x.sqg"), *model], "no such file or folder"),
        (["encode", str(tmp_path / "junk.bin"), "-o", str(tmp_path / "x.sqg"), *model], "neither an image nor a video"),
        (["encode", str(src), "-o", str(tmp_path / "x.sqg"), "--labels", str(tmp_path / "small_labels.png"), *model],
         "label map is 10x10"),
        (["encode", str(src), "-o", str(tmp_path / "x.sqg"), "--model", str(tmp_path / "nope.safetensors")],
         "model file not found"),
        (["decode", str(tmp_path / "junk.bin"), "-o", str(tmp_path / "x.png"), *model[:4]], "neither an SQ-GAN frame"),
        (["info", str(tmp_path / "nothing.sqg")], "no such file"),
    ]
    for argv, reason in cases:
        assert main(argv) == 2, argv
        assert reason in capsys.readouterr().err, argv
    (tmp_path / "not_a_model.safetensors").write_bytes(b"junk")
    assert main(["encode", str(src), "-o", str(tmp_path / "a.sqg"), *model]) == 0
    more = [
        (["encode", str(src), "-o", str(tmp_path / "x.sqg"), "--model", str(tmp_path / "not_a_model.safetensors"),
          "--segmenter", "none"], "not a readable safetensors model file"),
        (["encode", str(src), "-o", str(tmp_path / "missing_dir" / "x.sqg"), *model], "No such file or directory"),
        (["encode", str(src), "-o", str(src), *model], "is the input"),
        (["decode", str(tmp_path / "a.sqg"), "-o", str(tmp_path / "out.xyz"), *model[:4]], "cannot write"),
        (["decode", str(tmp_path / "a.sqg"), "-o", str(tmp_path), *model[:4]], "cannot write"),
    ]
    for argv, reason in more:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert reason in err and "Traceback" not in err, (argv, err)
    assert src.stat().st_size > 100  # the refused run did not truncate its input
    for bad in (["--keep", "0"], ["--class-weights", "dragon=2"], ["--class-weights", "person"]):
        with pytest.raises(SystemExit) as exc:
            main(["encode", str(src), "-o", str(tmp_path / "x.sqg"), *bad, *model])
        assert exc.value.code == 2


def test_target_kbps_rate_controls_a_stream(tmp_path: Path, tiny_model_file: Path) -> None:
    folder = tmp_path / "seq"
    folder.mkdir()
    for i in range(30):
        _write_png(folder / f"{i:03d}.png", _image(i, (96, 160)))
    common = ["--model", str(tiny_model_file), "--device", "cpu", "--segmenter", "none", "--quiet",
              "--fps", "10", "--keep", "1.0", "--intra-only"]
    assert main(["encode", str(folder), "-o", str(tmp_path / "full.sqgs"), *common]) == 0
    full_kbps = 8 * (tmp_path / "full.sqgs").stat().st_size / 3.0 / 1000  # 30 frames at 10 fps
    target = full_kbps / 2
    assert main(["encode", str(folder), "-o", str(tmp_path / "half.sqgs"), "--target-kbps", f"{target:.3f}",
                 *common]) == 0
    half_kbps = 8 * (tmp_path / "half.sqgs").stat().st_size / 3.0 / 1000
    assert 0.8 * target < half_kbps < 1.2 * target, (full_kbps, target, half_kbps)
    # video mode: INTER frames are cheap, so the controller raises the keep ratio up to --keep
    video = [c for c in common if c != "--intra-only"]
    assert main(["encode", str(folder), "-o", str(tmp_path / "video.sqgs"), "--target-kbps", f"{target:.3f}",
                 *video]) == 0
    video_kbps = 8 * (tmp_path / "video.sqgs").stat().st_size / 3.0 / 1000
    assert video_kbps < 1.2 * target, (target, video_kbps)
    with pytest.raises(SystemExit):
        main(["encode", str(folder), "-o", str(tmp_path / "x.sqgs"), "--target-kbps", "0", *common])


def test_info_and_decode_report_a_damaged_stream(tmp_path: Path, tiny_model_file: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    video = _video(tmp_path / "in.avi", frames=5)
    assert main(["encode", str(video), "-o", str(tmp_path / "v.sqgs"), "--model", str(tiny_model_file),
                 "--device", "cpu", "--segmenter", "none", "--quiet"]) == 0
    data = (tmp_path / "v.sqgs").read_bytes()
    frames = list(StreamReader(tmp_path / "v.sqgs"))
    cut = 10 + sum(4 + len(f) for f in frames[:3]) + 4 + 3  # inside the 4th record
    (tmp_path / "cut.sqgs").write_bytes(data[:cut])
    capsys.readouterr()
    assert main(["info", str(tmp_path / "cut.sqgs")]) == 1
    out = capsys.readouterr()
    assert "3 frames at 5 fps" in out.out and "damaged after 3 good frames" in out.err and "record 3" in out.err
    assert main(["decode", str(tmp_path / "cut.sqgs"), "-o", str(tmp_path / "frames"), "--model",
                 str(tiny_model_file), "--device", "cpu"]) == 1
    assert len(list((tmp_path / "frames").glob("*.png"))) == 3
