"""Person masks of real footage from MediaPipe (a tool; the runtime never imports it).

No labelled real street footage exists offline, but MediaPipe's selfie-segmentation model (in the
``mediapipe==0.10.21`` wheel from PyPI, Apache-2.0) says where people are. Those person
probabilities are partial labels for fine-tuning the bundled segmenter
(``python -m sqgan_ros.training.segmenter --person-masks DIR``) and a check of it on real frames.

    python -m sqgan_ros.data.person_masks --out .cache/person_masks [--sources vtest bikes] [--summary FILE]

    video (find_real_footage) -- resize_pair (resize + centre crop, as the training code) --> 256x512 RGB
      -> .cache/person_masks/<source>/frames/<frame>.png
      -> mediapipe_person_worker.py, run by .cache/mediapipe-venv/bin/python (mediapipe needs numpy<2,
         this project's venv has numpy 2, so it gets its own venv, made here on first use)
      -> .cache/person_masks/<source>/<frame>.png: person probability, uint8 0..255
      -> .cache/person_masks/<source>/index.json: frames with their split, model, zooms, versions

Every frame of a video is processed; each keeps the split of :func:`~sqgan_ros.data.footage.split_frames`
("train" / "eval", one frame in ten held out), and :func:`load_person_masks` hands out only the split
asked for, so the trainer never sees held-out frames. Rebuilding is idempotent: a source whose
index matches the settings and whose files are all present is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sqgan_ros.data.datasets import resize_pair
from sqgan_ros.data.footage import UnlabelledVideoDataset, find_real_footage, split_frames

__all__ = ["MEDIAPIPE_VERSION", "SOURCES", "Source", "build_source", "ensure_venv", "load_person_masks", "main",
           "summary"]

REPO = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO / ".cache" / "mediapipe-venv"
DEFAULT_OUT = REPO / ".cache" / "person_masks"
WORKER = Path(__file__).with_name("mediapipe_person_worker.py")
MEDIAPIPE_VERSION = "0.10.21"
VENV_PACKAGES = (f"mediapipe=={MEDIAPIPE_VERSION}", "numpy<2", "opencv-python-headless")
SIZE = (256, 512)


@dataclass(frozen=True)
class Source:
    """A real video and how the worker looks at it.

    ``zoom``: window zooms of the worker. vtest.avi's pedestrians are ~40-70 px tall at 256x512, too
    small for the selfie model on the whole frame, so it also runs on 2x zoomed windows; bikes.mp4's
    people are close-ups, where zoomed windows only add false positives (checked by eye on 9 frames).
    """

    name: str
    video: str
    zoom: tuple[float, ...]


SOURCES: dict[str, Source] = {
    "vtest": Source("vtest", "vtest.avi", (1.0, 2.0)),
    "bikes": Source("bikes", "bikes.mp4", (1.0,)),
}


def ensure_venv(venv: Path = DEFAULT_VENV, python: str = "python3.11") -> Path:
    """The venv's interpreter, after creating the venv and installing mediapipe if it lacks them."""
    exe = venv / "bin" / "python"
    check = [str(exe), "-c", f"import mediapipe, numpy; assert mediapipe.__version__ == {MEDIAPIPE_VERSION!r}"]
    if exe.is_file() and subprocess.run(check, capture_output=True).returncode == 0:
        return exe
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(exe), "-m", "pip", "install", "-q", *VENV_PACKAGES], check=True)
    subprocess.run(check, check=True)
    return exe


def _video_path(source: Source) -> Path:
    for path in find_real_footage().videos:
        if path.name == source.video:
            return path
    raise FileNotFoundError(f"{source.video} is not installed (see sqgan_ros.data.footage.find_real_footage)")


def _settings(source: Source, video: Path, count: int) -> dict:
    return {"source": source.name, "video": str(video), "frames_in_video": count, "size": list(SIZE),
            "resize": "sqgan_ros.data.datasets.resize_pair (resize + centre crop)",
            "model": "mediapipe selfie_segmentation.tflite (general, 256x256)", "mediapipe": MEDIAPIPE_VERSION,
            "zoom": list(source.zoom), "holdout_every": 10}


def _complete(folder: Path, settings: dict) -> bool:
    index = folder / "index.json"
    if not index.is_file():
        return False
    stored = json.loads(index.read_text())
    if {k: stored.get(k) for k in settings} != settings:
        return False
    return all((folder / f"{name}.png").is_file() and (folder / "frames" / f"{name}.png").is_file()
               for name in stored["frames"])


def build_source(source: Source, out: Path = DEFAULT_OUT, venv: Path = DEFAULT_VENV, log=print) -> Path:
    """Write the frames, person masks and index of one source under ``out/<name>``; returns that folder."""
    video = _video_path(source)
    dataset = UnlabelledVideoDataset([video], size=SIZE, frames="all")
    count = len(dataset)
    folder = out / source.name
    settings = _settings(source, video, count)
    if _complete(folder, settings):
        log(f"{source.name}: up to date ({folder})")
        return folder
    exe = ensure_venv(venv)
    eval_frames = set(split_frames(count, "eval"))
    (folder / "frames").mkdir(parents=True, exist_ok=True)
    frames: dict[str, str] = {}
    for _, frame in dataset.index:
        image, _ = resize_pair(dataset.read_frame(0, frame), None, SIZE)
        name = f"{frame:05d}"
        cv2.imwrite(str(folder / "frames" / f"{name}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        frames[name] = "eval" if frame in eval_frames else "train"
    log(f"{source.name}: {count} frames written, running mediapipe")
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.setdefault("OMP_NUM_THREADS", "1")
        done = subprocess.run([str(exe), str(WORKER), "--frames", str(folder / "frames"), "--out", tmp,
                               "--zoom", *map(str, source.zoom)], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"mediapipe worker failed ({done.returncode}):\n{done.stderr[-3000:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])
        for name in frames:
            os.replace(Path(tmp) / f"{name}.png", folder / f"{name}.png")
    index = {**settings, "worker": report, "frames": frames}
    (folder / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    log(f"{source.name}: {count} masks in {folder}")
    return folder


def load_person_masks(root: str | Path, split: str, sources: Sequence[str] | None = None,
                      every: int = 1) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Frames and person probabilities of one split from a folder :func:`main` wrote.

    Args:
        root: the ``--out`` folder (holds ``<source>/index.json``).
        split: "train" or "eval"; only frames of that split are returned.
        sources: source names (default: every folder with an index).
        every: keep every ``every``-th frame of the split (neighbouring video frames are near copies).

    Returns:
        ``images uint8 [N, H, W, 3]`` (RGB), ``person uint8 [N, H, W]`` (probability x 255), and
        ``"<source>/<frame>"`` names.
    """
    if split not in ("train", "eval"):
        raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
    root = Path(root)
    folders = [root / s for s in sources] if sources else sorted(p.parent for p in root.glob("*/index.json"))
    if not folders:
        raise FileNotFoundError(f"no person masks under {root} (python -m sqgan_ros.data.person_masks --out {root})")
    images, masks, names = [], [], []
    for folder in folders:
        index = json.loads((folder / "index.json").read_text())
        chosen = [name for name, s in sorted(index["frames"].items()) if s == split][::every]
        for name in chosen:
            bgr = cv2.imread(str(folder / "frames" / f"{name}.png"), cv2.IMREAD_COLOR)
            mask = cv2.imread(str(folder / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
            if bgr is None or mask is None or mask.shape != bgr.shape[:2]:
                raise ValueError(f"missing or mismatched frame/mask {folder.name}/{name}")
            images.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            masks.append(mask)
            names.append(f"{folder.name}/{name}")
    if not images:
        raise ValueError(f"no {split} frames under {root}")
    return np.stack(images), np.stack(masks), names


def summary(root: str | Path, pos_threshold: float = 0.8, neg_threshold: float = 0.1) -> dict:
    """Per source and split: frames, and the shares of sure-person, sure-background and unsure pixels."""
    out: dict[str, dict] = {}
    for folder in sorted(p.parent for p in Path(root).glob("*/index.json")):
        for split in ("train", "eval"):
            _, person, _ = load_person_masks(folder.parent, split, [folder.name])
            prob = person.astype(np.float32) / 255.0
            out.setdefault(folder.name, {})[split] = {
                "frames": int(len(person)),
                "person_share": round(float((prob > pos_threshold).mean()), 4),
                "background_share": round(float((prob < neg_threshold).mean()), 4),
                "unsure_share": round(float(((prob >= neg_threshold) & (prob <= pos_threshold)).mean()), 4),
                "person_share_at_0.5": round(float((prob >= 0.5).mean()), 4),
                "frames_with_person": int(((prob > pos_threshold).reshape(len(prob), -1).sum(1) >= 50).sum()),
            }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build the person masks of the chosen sources."""
    p = argparse.ArgumentParser(prog="python -m sqgan_ros.data.person_masks", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="cache folder (default .cache/person_masks)")
    p.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="mediapipe venv (made if missing)")
    p.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    p.add_argument("--summary", type=Path, default=None, help="write the masks' pixel shares to this JSON file")
    args = p.parse_args(argv)
    for name in args.sources:
        build_source(SOURCES[name], args.out, args.venv)
    if args.summary is not None:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(json.dumps(summary(args.out), indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
