"""``sqgan-codec``'s commands: encode, decode and info (one function each, taking the parsed arguments)."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from sqgan_ros.bitstream import BitstreamError, FrameType, peek_header
from sqgan_ros.bitstream.stream_file import StreamReader, StreamWriter
from sqgan_ros.bundled_models import DEFAULT_MODEL_NAME, bundled_model_path
from sqgan_ros.codec_cli.files import (
    FrameSink,
    InputError,
    file_kind,
    is_image_file,
    read_image,
    read_labels,
    video_frames,
    write_image,
)
from sqgan_ros.labels import colourise

__all__ = ["cmd_encode", "cmd_decode", "cmd_info"]


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
        semantic_keep_ratio=keep.semantic, semantic_scaled=args.semantic_keep is None,
        skip_frames=False))  # a file codes every frame: saturate at the floor instead


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
        write_image(out, decoded.image)
        if args.semantic:
            write_image(Path(args.semantic), colourise(decoded.labels))
        print(f"{source} -> {out} ({decoded.image.shape[1]}x{decoded.image.shape[0]})")
        return 0
    return _decode_stream(args, source, out, model)



def _decode_stream(args: argparse.Namespace, source: Path, out: Path, model: Path) -> int:
    from sqgan_ros.video import VideoDecoder

    try:
        reader = StreamReader(source)
    except BitstreamError as error:
        print(f"sqgan-codec: {error}", file=sys.stderr)
        return 1
    decoder = VideoDecoder(model, device=args.device, precision=args.precision)
    sink = FrameSink(out, reader.fps)
    semantic = FrameSink(Path(args.semantic), reader.fps) if args.semantic else None
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
