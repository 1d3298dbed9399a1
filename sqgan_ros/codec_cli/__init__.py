r"""``sqgan-codec``: encode images and videos to SQ-GAN files and back, without ROS.

::

    sqgan-codec encode street.png -o street.sqg --keep 0.25 [--class-weights person=4,car=2]
    sqgan-codec decode street.sqg -o street_decoded.png [--semantic street_map.png]
    sqgan-codec encode drive.mp4 -o drive.sqgs [--frames 200] [--target-kbps 20] [--intra-only]
                                                                  # also a folder of images
    sqgan-codec decode drive.sqgs -o decoded.avi (or .mp4, or a folder: one PNG per frame)
    sqgan-codec info drive.sqgs

An image becomes one frame (``.sqg``: exactly the bytes a SemanticFrame message carries). A
video or a folder of images becomes a stream file (``.sqgs``,
:mod:`sqgan_ros.bitstream.stream_file`) coded by the video encoder: INTER frames update the
latents that changed, with an INTRA frame every ``--intra-interval`` frames. A file is a
lossless channel, so each frame is acknowledged as soon as it is written (the decoder will hold
it). ``--intra-only`` codes every frame on its own; ``--target-kbps`` runs the rate controller of
the encoder node (:mod:`sqgan_ros.rate_control`) on the frames' time stamps (index / fps).

Labels for SAMM come from the bundled segmenter (``--segmenter``), or for one image from a label
PNG (``--labels``, class ids 0..19). Decoding needs the model the file was made with: its id is
in every frame and a different model is refused. Exit status: 0 done, 1 a file could not be
decoded, 2 bad arguments or input.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from sqgan_ros.bitstream import BitstreamError, FrameType, peek_header
from sqgan_ros.bitstream.header import MAGIC
from sqgan_ros.bitstream.stream_file import STREAM_MAGIC, StreamReader, StreamWriter
from sqgan_ros.bundled_models import DEFAULT_MODEL_NAME, bundled_model_path
from sqgan_ros.labels import NUM_CLASSES, colourise, parse_class_weights

__all__ = ["main", "build_parser"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
_VIDEO_WRITERS = {".avi": "MJPG", ".mp4": "mp4v", ".mkv": "MJPG"}


class InputError(ValueError):
    """An input file or argument the codec cannot use (exit status 2)."""


# ------------------------------------------------------------------ reading inputs
def read_image(path: Path) -> np.ndarray:
    """An image file as RGB uint8 ``(H, W, 3)``.

    Raises:
        InputError: the file does not exist or is not an image OpenCV reads.
    """
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(f"{path} is not an image OpenCV can read")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_labels(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A label PNG (one channel, class ids 0..19) of the image's size.

    Raises:
        InputError: unreadable, not one channel, another size, or ids above 19.
    """
    labels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if labels is None:
        raise InputError(f"{path} is not an image OpenCV can read")
    if labels.ndim != 2:
        raise InputError(f"{path}: a label map has one channel (class ids), got shape {labels.shape}")
    if labels.shape != shape:
        raise InputError(f"{path}: label map is {labels.shape[1]}x{labels.shape[0]}, "
                         f"the image {shape[1]}x{shape[0]}")
    if int(labels.max(initial=0)) >= NUM_CLASSES:
        raise InputError(f"{path}: class ids must be 0..{NUM_CLASSES - 1}, found {int(labels.max())}")
    return labels.astype(np.uint8)


def video_frames(path: Path, limit: int | None) -> tuple[Iterator[np.ndarray], float | None]:
    """RGB frames of a video file or of a folder of images (sorted by name), and the file's fps.

    Raises:
        InputError: nothing readable at ``path``.
    """
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{path} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
        files = files[:limit] if limit is not None else files
        return (read_image(f) for f in files), None
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise InputError(f"{path} is neither an image nor a video OpenCV can read")
    fps = capture.get(cv2.CAP_PROP_FPS)

    def frames() -> Iterator[np.ndarray]:
        count = 0
        try:
            while limit is None or count < limit:
                ok, bgr = capture.read()
                if not ok:
                    return
                count += 1
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            capture.release()

    return frames(), (float(fps) if fps and np.isfinite(fps) and fps > 0 else None)


def is_image_file(path: Path) -> bool:
    """True for a file with an image suffix (a video or a folder is coded as a stream)."""
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def file_kind(path: Path) -> str:
    """``"frame"`` (one encoded frame) or ``"stream"`` (a stream file), from the magic number.

    Raises:
        InputError: missing, or neither.
    """
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    with path.open("rb") as f:
        head = f.read(4)
    if head == STREAM_MAGIC:
        return "stream"
    if len(head) >= 2 and int.from_bytes(head[:2], "big") >> 4 == MAGIC:
        return "frame"
    raise InputError(f"{path} is neither an SQ-GAN frame (.sqg) nor a stream file (.sqgs)")


# ------------------------------------------------------------------ commands
def _model(args: argparse.Namespace) -> Path:
    path = Path(args.model).expanduser() if args.model else bundled_model_path(DEFAULT_MODEL_NAME)
    if not path.is_file():
        raise InputError(f"model file not found: {path} (pass --model)")
    return path


def _keep(args: argparse.Namespace) -> Any:
    from sqgan_ros.codec.model import KeepRatios

    semantic = args.semantic_keep if args.semantic_keep is not None else args.keep
    return KeepRatios(semantic=semantic, image=args.keep)


def _segmenter(args: argparse.Namespace, device: Any) -> Any:
    from sqgan_ros.segmentation import make_segmenter

    try:
        return make_segmenter(args.segmenter, device=device)
    except (ValueError, FileNotFoundError) as error:
        raise InputError(f"--segmenter {args.segmenter}: {error}") from None


def cmd_encode(args: argparse.Namespace) -> int:
    """Encode an image into a frame file, or a video / image folder into a stream file."""
    source, out = Path(args.input), Path(args.output)
    if not source.exists():
        raise InputError(f"no such file or folder: {source}")
    if out.exists() and out.resolve() == source.resolve():
        raise InputError(f"the output {out} is the input: choose another file name")
    weights = args.class_weights
    model = _model(args)
    keep = _keep(args)
    if is_image_file(source):
        from sqgan_ros.api import SemanticEncoder

        image = read_image(source)
        encoder = SemanticEncoder(model, device=args.device, precision=args.precision)
        if args.labels:
            labels = read_labels(Path(args.labels), image.shape[:2])
        else:
            labels = _segmenter(args, encoder.device).segment(image)
        data = encoder.encode(image, labels, keep_ratio=keep, class_weights=weights)
        out.write_bytes(data)
        h, w = image.shape[:2]
        print(f"{source} -> {out}: {len(data)} bytes, {8 * len(data) / (h * w):.4f} bpp "
              f"({w}x{h}, keep {keep.semantic:g}/{keep.image:g}, model {encoder.loaded.short_id})")
        return 0
    if args.labels:
        raise InputError("--labels applies to one image; a video's labels come from --segmenter")
    frames, file_fps = video_frames(source, args.frames)
    fps = args.fps or file_fps or 10.0
    return _encode_stream(args, frames, fps, model, keep, weights, source, out)


def _encode_stream(args: argparse.Namespace, frames: Iterator[np.ndarray], fps: float, model: Path,
                   keep: Any, weights: dict[str, float] | None, source: Path, out: Path) -> int:
    from sqgan_ros.codec.model import KeepRatios

    if args.intra_only:
        from sqgan_ros.api import SemanticEncoder

        encoder: Any = SemanticEncoder(model, device=args.device, precision=args.precision)
    else:
        from sqgan_ros.video import VideoConfig, VideoEncoder

        encoder = VideoEncoder(model, VideoConfig(intra_interval=args.intra_interval), device=args.device,
                               precision=args.precision, first_frame_id=0)
    segmenter = _segmenter(args, encoder.device)
    rate = _rate_controller(args, keep)
    types: Counter[str] = Counter()
    pixels = 0
    start = time.perf_counter()
    with StreamWriter(out, fps) as writer:
        for index, image in enumerate(frames):
            labels = segmenter.segment(image)
            stamp = index / fps
            if rate is not None:
                decision = rate.decide(stamp)
                keep = KeepRatios(semantic=decision.semantic_keep_ratio, image=decision.image_keep_ratio)
            if args.intra_only:
                data = encoder.encode(image, labels, keep_ratio=keep, class_weights=weights, frame_id=index)
                types["INTRA"] += 1
                sent_ratio = keep.image
            else:
                data = encoder.encode(image, labels, keep_ratio=keep, class_weights=weights)
                stats = encoder.last_stats
                types[FrameType(stats.frame_type).name] += 1
                encoder.acknowledge(stats.frame_id)  # a file loses nothing: the decoder will hold it
                sent_ratio = stats.sent_ratio
            if rate is not None:
                rate.update(stamp, sent_ratio, len(data) + 4)  # the record's length prefix counts too
            writer.write(data)
            pixels += image.shape[0] * image.shape[1]
            if not args.quiet and (index + 1) % 25 == 0:
                print(f"  {index + 1} frames, {writer.bytes_written} bytes", file=sys.stderr)
    if writer.frames == 0:
        out.unlink(missing_ok=True)
        raise InputError(f"{source}: no frames could be read")
    seconds = writer.frames / fps
    print(f"{source} -> {out}: {writer.frames} frames ({', '.join(f'{k} {v}' for k, v in sorted(types.items()))}), "
          f"{writer.bytes_written} bytes, {8 * writer.bytes_written / seconds / 1000:.1f} kbit/s at {fps:g} fps, "
          f"{8 * writer.bytes_written / pixels:.4f} bpp, {time.perf_counter() - start:.1f} s "
          f"(model {encoder.loaded.short_id})")
    return 0


def _rate_controller(args: argparse.Namespace, keep: Any) -> Any:
    """A rate controller for ``--target-kbps`` (None without it): keep ratios up to ``--keep``.

    The semantic keep ratio is ``--semantic-keep`` when given, else it follows the image one.
    """
    if args.target_kbps is None:
        return None
    from sqgan_ros.rate_control import RateControlConfig, RateController

    return RateController(RateControlConfig(
        target_kbps=args.target_kbps, min_keep=min(args.min_keep, keep.image), max_keep=keep.image,
        semantic_keep_ratio=keep.semantic, semantic_scaled=args.semantic_keep is None))


def cmd_decode(args: argparse.Namespace) -> int:
    """Decode a frame file into an image, or a stream file into a video or a folder of PNGs."""
    source, out = Path(args.input), Path(args.output)
    kind = file_kind(source)
    model = _model(args)
    if kind == "frame":
        from sqgan_ros.api import SemanticDecoder

        decoder = SemanticDecoder(model, device=args.device, precision=args.precision)
        try:
            decoded = decoder.decode(source.read_bytes())
        except BitstreamError as error:
            print(f"sqgan-codec: {source}: {error}", file=sys.stderr)
            return 1
        _write_image(out, decoded.image)
        if args.semantic:
            _write_image(Path(args.semantic), colourise(decoded.labels))
        print(f"{source} -> {out} ({decoded.image.shape[1]}x{decoded.image.shape[0]})")
        return 0
    return _decode_stream(args, source, out, model)


def _write_image(path: Path, rgb: np.ndarray) -> None:
    try:
        ok = cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    except cv2.error:
        ok = False
    if not ok:
        raise InputError(f"cannot write {path} (an existing folder? the suffix names the image format: "
                         ".png, .jpg, ...)")


class _FrameSink:
    """Decoded frames to a video file (by suffix) or to numbered PNGs in a folder."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = path, fps
        self.writer: cv2.VideoWriter | None = None
        self.count = 0
        if path.suffix.lower() not in _VIDEO_WRITERS:
            if path.suffix:
                raise InputError(f"{path}: write a video (.avi, .mp4, .mkv) or a folder (no suffix)")
            path.mkdir(parents=True, exist_ok=True)

    def write(self, rgb: np.ndarray) -> None:
        suffix = self.path.suffix.lower()
        if suffix in _VIDEO_WRITERS:
            bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
            if self.writer is None:
                self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*_VIDEO_WRITERS[suffix]),
                                              self.fps, (bgr.shape[1], bgr.shape[0]))
                if not self.writer.isOpened():
                    raise InputError(f"OpenCV cannot write {self.path}; write a folder of PNGs instead")
            self.writer.write(bgr)
        else:
            _write_image(self.path / f"frame_{self.count:06d}.png", rgb)
        self.count += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


def _decode_stream(args: argparse.Namespace, source: Path, out: Path, model: Path) -> int:
    from sqgan_ros.video import VideoDecoder

    try:
        reader = StreamReader(source)
    except BitstreamError as error:
        print(f"sqgan-codec: {error}", file=sys.stderr)
        return 1
    decoder = VideoDecoder(model, device=args.device, precision=args.precision)
    sink = _FrameSink(out, reader.fps)
    semantic = _FrameSink(Path(args.semantic), reader.fps) if args.semantic else None
    failed: list[str] = []
    try:
        for index, data in enumerate(reader):
            try:
                decoded = decoder.decode(data)
            except BitstreamError as error:  # one bad record: report it, go on with the next
                failed.append(f"frame {index}: {error}")
                continue
            sink.write(decoded.image)
            if semantic is not None:
                semantic.write(colourise(decoded.labels))
    except BitstreamError as error:  # the container itself is damaged: what came before is written
        failed.append(str(error))
    finally:
        sink.close()
        if semantic is not None:
            semantic.close()
    for line in failed[:10]:
        print(f"sqgan-codec: {line}", file=sys.stderr)
    print(f"{source} -> {out}: {sink.count} frames decoded, {len(failed)} failed")
    return 1 if failed else 0


def cmd_info(args: argparse.Namespace) -> int:
    """Print what a frame or stream file holds (no model needed)."""
    source = Path(args.input)
    kind = file_kind(source)
    if kind == "frame":
        data = source.read_bytes()
        try:
            header = peek_header(data)
        except BitstreamError as error:
            print(f"sqgan-codec: {source}: {error}", file=sys.stderr)
            return 1
        h, w = header.image_size
        print(f"{source}: SQ-GAN frame, {len(data)} bytes, {8 * len(data) / (h * w):.4f} bpp")
        print(f"  model {header.model_id.hex()}  image {w}x{h}  model size "
              f"{header.model_size[1]}x{header.model_size[0]}")
        print(f"  {FrameType(header.frame_type).name} frame {header.frame_id} "
              f"(reference {header.reference_id})  coding {header.coding.name}")
        return 0
    try:
        reader = StreamReader(source)
    except BitstreamError as error:
        print(f"sqgan-codec: {error}", file=sys.stderr)
        return 1
    sizes, types, models, pixels = [], Counter(), Counter(), 0
    damage = None
    try:
        for data in reader:
            try:
                header = peek_header(data)
            except BitstreamError as error:
                damage = f"record {len(sizes)}: {error}"
                break
            sizes.append(len(data))
            types[FrameType(header.frame_type).name] += 1
            models[header.model_id.hex()] += 1
            pixels += header.image_size[0] * header.image_size[1]
    except BitstreamError as error:  # the container itself: its message names the record
        damage = str(error)
    total = source.stat().st_size
    seconds = len(sizes) / reader.fps if sizes else 0.0
    print(f"{source}: SQ-GAN stream, {len(sizes)} frames at {reader.fps:g} fps, {total} bytes")
    if sizes:
        print(f"  {', '.join(f'{k} {v}' for k, v in sorted(types.items()))}; frame bytes min "
              f"{min(sizes)} / mean {np.mean(sizes):.0f} / max {max(sizes)}; "
              f"{8 * total / seconds / 1000:.1f} kbit/s, {8 * total / pixels:.4f} bpp")
        print(f"  model {', '.join(models)}")
    if damage is not None:
        print(f"sqgan-codec: damaged after {len(sizes)} good frames, {damage}", file=sys.stderr)
        return 1
    return 0


# ------------------------------------------------------------------ parser
def _ratio(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"a keep ratio is in (0, 1], got {text}")
    return value


def _weights(text: str) -> dict[str, float] | None:
    try:
        return parse_class_weights(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_float(text: str) -> float:
    value = float(text)
    if not (value > 0.0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``sqgan-codec`` argument parser."""
    parser = argparse.ArgumentParser(prog="sqgan-codec", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", default="", help="SQ-GAN model file (default: the bundled model)")
        p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
        p.add_argument("--precision", default="auto", choices=("auto", "float32", "bfloat16", "float16"))

    enc = sub.add_parser("encode", help="image -> .sqg frame; video or image folder -> .sqgs stream")
    enc.add_argument("input", help="image file, video file, or folder of images")
    enc.add_argument("-o", "--output", required=True, help="output .sqg (image) or .sqgs (video) file")
    enc.add_argument("--keep", type=_ratio, default=0.25, help="image keep ratio in (0, 1] (default 0.25)")
    enc.add_argument("--semantic-keep", type=_ratio, default=None,
                     help="semantic keep ratio (default: as --keep)")
    enc.add_argument("--class-weights", type=_weights, default=None, metavar="CLASS=W,...",
                     help="run-time SAMM class weights, e.g. person=4,car=2 (others 1.0)")
    enc.add_argument("--segmenter", default="bundled",
                     help="bundled | none | path to a TorchScript/ONNX segmenter (default bundled)")
    enc.add_argument("--labels", default="", help="label PNG (class ids 0..19) for an image input")
    enc.add_argument("--frames", type=_positive_int, default=None, help="video: code at most this many frames")
    enc.add_argument("--fps", type=float, default=None, help="video: frame rate stored (default: the file's, else 10)")
    enc.add_argument("--intra-interval", type=_positive_int, default=50, help="video: frames between INTRA frames")
    enc.add_argument("--intra-only", action="store_true", help="video: every frame INTRA")
    enc.add_argument("--target-kbps", type=_positive_float, default=None,
                     help="video: rate control to this many kbit/s (image keep ratio chosen per frame "
                          "between --min-keep and --keep)")
    enc.add_argument("--min-keep", type=_ratio, default=0.02, help="video: lowest image keep ratio of the rate control")
    enc.add_argument("--quiet", action="store_true", help="no progress lines")
    common(enc)
    enc.set_defaults(run=cmd_encode)

    dec = sub.add_parser("decode", help=".sqg -> image; .sqgs -> video file (.avi/.mp4/.mkv) or PNG folder")
    dec.add_argument("input", help=".sqg or .sqgs file")
    dec.add_argument("-o", "--output", required=True, help="image file, video file, or folder")
    dec.add_argument("--semantic", default="", help="also write the decoded semantic map (same kind of output)")
    common(dec)
    dec.set_defaults(run=cmd_decode)

    info = sub.add_parser("info", help="what a .sqg or .sqgs file holds")
    info.add_argument("input")
    info.set_defaults(run=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    if getattr(args, "fps", None) is not None and not 0.0 < args.fps <= 1000.0:
        print(f"sqgan-codec: --fps must be in (0, 1000], got {args.fps}", file=sys.stderr)
        return 2
    try:
        return args.run(args)
    except cv2.error as error:  # OpenCV 5 raises where 4 returned False (e.g. an unknown image suffix)
        print(f"sqgan-codec: OpenCV: {str(error.err or error).strip()}", file=sys.stderr)
    except OSError as error:  # unwritable output, a folder where a file is wanted, ...
        print(f"sqgan-codec: {error.strerror or error}: {error.filename or ''}".rstrip(": "), file=sys.stderr)
    except (ValueError, RuntimeError) as error:  # InputError, a bad model file, an unavailable device
        print(f"sqgan-codec: {error}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
