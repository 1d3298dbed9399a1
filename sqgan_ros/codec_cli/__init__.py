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

import cv2

from sqgan_ros.codec_cli.commands import cmd_decode, cmd_encode, cmd_info
from sqgan_ros.labels import parse_class_weights

__all__ = ["main", "build_parser"]


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
