"""High-level codec API: numpy RGB image (+ label map) -> bytes -> numpy image and label map.

::

    SemanticEncoder.encode(image uint8 (H, W, 3), labels (H, W) | None, keep_ratio, class_weights)
        resize to the model size -> Transmitter.analyse + select -> rate-distortion index choice
        (entropy coding only, :mod:`sqgan_ros.codec.index_rdo`) -> bitstream.encode_frame -> bytes
    SemanticDecoder.decode(bytes)
        bitstream.decode_frame (model id checked) -> Receiver.decompress -> resize back to (H, W)

Images of any size are resized to the model's size (``cv2.INTER_AREA`` when shrinking,
``INTER_LINEAR`` when enlarging; label maps with ``INTER_NEAREST``) and back to the original
size, which the frame header carries. Both classes run under ``torch.inference_mode`` with the
model in eval mode and gradients off; on CPU the same input gives the same bytes (for one
precision on one machine).

``precision="auto"`` runs the networks in bfloat16 where the hardware has native kernels (CPUs
with AVX512-BF16/AMX, CUDA GPUs; see :mod:`sqgan_ros.codec.precision`) and in float32 elsewhere.
The choice never affects the bitstream's syntax: encoders and decoders of different precisions
interoperate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from sqgan_ros.bitstream import (
    CHECKSUM_BYTES,
    BitstreamError,
    Coding,
    FrameHeader,
    FrameType,
    decode_frame,
    encode_frame,
    peek_header,
)
from sqgan_ros.bitstream.header import MAX_IMAGE_SIDE, read_header
from sqgan_ros.bitstream.symbols import FrameSymbols
from sqgan_ros.codec.index_rdo import DEFAULT_INDEX_RDO, NEAREST_INDICES, IndexChooser, IndexRDO, model_codebooks
from sqgan_ros.codec.model import FrameAnalysis, KeepRatios, Transmitter
from sqgan_ros.codec.model_file import LoadedModel, load_model
from sqgan_ros.codec.precision import autocast, prepare_model, resolve_precision
from sqgan_ros.labels import NUM_CLASSES, UNLABELLED, weight_vector
from sqgan_ros.regions import parse_region

#: Largest output a decoder produces unless told otherwise (4096 x 4096); a forged header can
#: name sizes up to 16384 x 16384, which would be an 800 MB allocation.
DEFAULT_MAX_OUTPUT_PIXELS = 4096 * 4096

_MAX_FRAME_ID = 2**32 - 1


@dataclass(frozen=True)
class EncodeStats:
    """Statistics of the last encoded frame.

    Args:
        semantic_k: latents sent by the semantic branch.
        image_k: latents sent by the image branch.
        num_latents: latents per branch (N).
        payload_bytes: size of the whole frame (header, payload, checksum) in bytes.
        encode_ms: wall time of ``encode`` in milliseconds.
    """

    semantic_k: int
    image_k: int
    num_latents: int
    payload_bytes: int
    encode_ms: float


@dataclass(frozen=True)
class DecodedFrame:
    """A decoded frame, at the original camera size unless another size was asked for.

    Args:
        image: RGB ``uint8 (H, W, 3)``.
        labels: decoded label map ``uint8 (H, W)`` (0..19).
        header: the frame header.
    """

    image: np.ndarray
    labels: np.ndarray
    header: FrameHeader


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cuda"`` without a GPU raises ValueError."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be a string, got {type(device).__name__}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but CUDA is not available")
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}")
    return torch.device(device)


def _prepare(model: LoadedModel | str | Path, device: str | torch.device,
             precision: str) -> tuple[LoadedModel, torch.device, torch.dtype]:
    dev = resolve_device(device)
    dtype = resolve_precision(precision, dev)
    if isinstance(model, (str, Path)):
        loaded = load_model(model, dev)
    elif isinstance(model, LoadedModel):
        loaded = model
        loaded.model.to(dev)
    else:
        raise TypeError(f"model must be a LoadedModel or a path, got {type(model).__name__}")
    loaded.model.eval().requires_grad_(False)
    prepare_model(loaded.model, dtype)
    return loaded, dev, dtype


def _resize(array: np.ndarray, size: tuple[int, int], labels: bool) -> np.ndarray:
    h, w = size
    if array.shape[:2] == (h, w):
        return array
    if labels:
        interp = cv2.INTER_NEAREST
    elif h * w < array.shape[0] * array.shape[1]:
        interp = cv2.INTER_AREA
    else:
        interp = cv2.INTER_LINEAR
    return cv2.resize(array, (w, h), interpolation=interp)



def roi_in_model_pixels(roi: tuple[float, float, float, float], image_size: tuple[int, int],
                        model_size: tuple[int, int]) -> tuple[float, float, float, float] | None:
    """An ``(x, y, width, height)`` region of an ``image_size`` frame in the model's pixels.

    Clipped to the frame; None when nothing of it is inside (an empty region clears a request).

    Raises:
        ValueError: not four finite numbers, or a negative width/height.
    """
    region = parse_region(roi)
    if region is None:
        return None
    x, y, w, h = region
    ih, iw = image_size
    x0, y0, x1, y1 = max(0.0, x), max(0.0, y), min(float(iw), x + w), min(float(ih), y + h)
    if x1 <= x0 or y1 <= y0:
        return None
    sy, sx = model_size[0] / ih, model_size[1] / iw
    return (x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy)


class SemanticEncoder:
    """Sending side: image (+ label map) -> one self-contained frame of bytes.

    Args:
        model: a LoadedModel or the path of a model file.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        precision: ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"`` (compute dtype of
            the networks; the chosen dtype is ``self.dtype``).
        index_rdo: default rate weights of the index choice under entropy coding
            (:class:`~sqgan_ros.codec.index_rdo.IndexRDO`; ``NEAREST_INDICES``: the paper's
            nearest codewords). ``encode`` can override it per frame.
    """

    def __init__(self, model: LoadedModel | str | Path, device: str | torch.device = "auto",
                 precision: str = "auto", index_rdo: IndexRDO = DEFAULT_INDEX_RDO) -> None:
        if not isinstance(index_rdo, IndexRDO):
            raise TypeError(f"index_rdo must be IndexRDO, got {type(index_rdo).__name__}")
        self.loaded, self.device, self.dtype = _prepare(model, device, precision)
        self.index_rdo = index_rdo
        self.index_chooser = IndexChooser(model_codebooks(self.loaded.model), self.loaded.priors)
        self.last_stats: EncodeStats | None = None

    def _check_image(self, image: np.ndarray) -> None:
        if not isinstance(image, np.ndarray):
            raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
        if image.dtype != np.uint8:
            raise ValueError(f"image must be uint8, got {image.dtype}")
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image must be (H, W, 3) RGB, got shape {image.shape}")
        if not (1 <= image.shape[0] <= MAX_IMAGE_SIDE and 1 <= image.shape[1] <= MAX_IMAGE_SIDE):
            raise ValueError(f"image sides must be in [1, {MAX_IMAGE_SIDE}], got {image.shape[:2]}")

    @staticmethod
    def _check_labels(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        if not isinstance(labels, np.ndarray):
            raise TypeError(f"labels must be a numpy array or None, got {type(labels).__name__}")
        if labels.shape != shape:
            raise ValueError(f"labels must have shape {shape} (the image's), got {labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be integers, got {labels.dtype}")
        if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise ValueError(f"label values must be in [0, {NUM_CLASSES}), got "
                             f"[{labels.min()}, {labels.max()}]")
        return labels.astype(np.uint8)

    def prepare_inputs(self, image_rgb_uint8: np.ndarray,
                       labels: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Validate and resize one frame to the model size, as the codec's input tensors.

        Args:
            image_rgb_uint8: RGB image ``uint8 (H, W, 3)`` of any size.
            labels: label map ``(H, W)`` with values 0..19, or None (all unlabelled).

        Returns:
            ``(image [1, 3, h, w] float in [0, 1], labels LongTensor [1, h, w])`` on the device,
            ``(h, w)`` being the model size.
        """
        self._check_image(image_rgb_uint8)
        h, w = image_rgb_uint8.shape[:2]
        if labels is None:
            labels = np.full((h, w), UNLABELLED, dtype=np.uint8)
        labels = self._check_labels(labels, (h, w))
        model_size = self.loaded.config.image_size
        small = _resize(image_rgb_uint8, model_size, labels=False)
        small_labels = _resize(labels, model_size, labels=True)
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(small)).to(self.device)
            x = x.permute(2, 0, 1).unsqueeze(0).float().div_(255.0)
            lab = torch.from_numpy(small_labels.astype(np.int64)).unsqueeze(0).to(self.device)
        return x, lab

    def encode(self, image_rgb_uint8: np.ndarray, labels: np.ndarray | None = None,
               keep_ratio: float | KeepRatios = 0.25, class_weights: dict[str, float] | None = None,
               frame_id: int = 0, coding: Coding = Coding.ENTROPY,
               index_rdo: IndexRDO | None = None,
               roi: tuple[float, float, float, float] | None = None) -> bytes:
        """Encode one frame.

        Args:
            image_rgb_uint8: RGB image ``uint8 (H, W, 3)`` of any size.
            labels: label map ``(H, W)`` with values 0..19, or None (all unlabelled).
            keep_ratio: one ratio for both branches, or KeepRatios.
            class_weights: run-time SAMM selection weights by class name (None: the paper's).
            frame_id: uint32 frame counter stored in the header.
            coding: ENTROPY (default) or FIXED_LENGTH (the paper's accounting).
            index_rdo: rate weights of the index choice for this frame (None: ``self.index_rdo``).
                FIXED_LENGTH coding always sends the nearest codewords (every index costs the
                same there).
            roi: ``(x, y, width, height)`` in this image's pixels: every latent of both branches
                that overlaps it is sent before any other (an operator's "look here"); None or an
                empty region: none. The keep ratios, and so the rate, stay the same.

        Returns:
            The frame's bytes.
        """
        start = time.perf_counter()
        ratios = keep_ratio if isinstance(keep_ratio, KeepRatios) else KeepRatios.both(keep_ratio)
        weights = None if class_weights is None else torch.from_numpy(weight_vector(class_weights))
        if isinstance(frame_id, bool) or not isinstance(frame_id, (int, np.integer)) \
                or not 0 <= int(frame_id) <= _MAX_FRAME_ID:
            raise ValueError(f"frame_id must be a uint32, got {frame_id!r}")
        x, lab = self.prepare_inputs(image_rgb_uint8, labels)
        h, w = image_rgb_uint8.shape[:2]
        model_size = self.loaded.config.image_size
        with torch.inference_mode(), autocast(self.device, self.dtype):
            analysis = self.loaded.model.transmitter.analyse(x, lab)
        region = None if roi is None else roi_in_model_pixels(roi, (h, w), model_size)
        symbols = self.select(analysis, ratios, weights, self.resolve_index_rdo(index_rdo, coding), region=region)
        header = FrameHeader(model_id=self.loaded.id_bytes, image_size=(h, w), model_size=model_size,
                             frame_type=FrameType.INTRA, frame_id=int(frame_id), coding=Coding(coding))
        data = encode_frame(header, symbols, self.loaded.priors)
        self.last_stats = EncodeStats(symbols.semantic.k, symbols.image.k, symbols.image.num_cells,
                                      len(data), (time.perf_counter() - start) * 1000.0)
        return data


    def select(self, analysis: FrameAnalysis, keep_ratios: KeepRatios,
               class_weights: torch.Tensor | None = None, index_rdo: IndexRDO | None = None,
               row: int = 0, region: tuple[float, float, float, float] | None = None) -> FrameSymbols:
        """The symbols ``encode`` sends for an analysed frame: top-k selection, then the index choice.

        Args:
            analysis: ``Transmitter.analyse`` output.
            keep_ratios: per-branch keep ratios.
            class_weights: ``[20]`` run-time class weights or None.
            index_rdo: rate weights of the index choice (None: ``self.index_rdo``).
            row: batch item of ``analysis``.
            region: ``(x, y, width, height)`` in model pixels kept first (``roi_in_model_pixels``).
        """
        with torch.inference_mode():
            symbols = Transmitter.select(analysis, keep_ratios, class_weights, region,
                                         self.loaded.config.image_size)[row]
        return self.index_chooser.refine(symbols, analysis.latents_of(row),
                                         self.resolve_index_rdo(index_rdo))

    def resolve_index_rdo(self, index_rdo: IndexRDO | None,
                          coding: Coding = Coding.ENTROPY) -> IndexRDO:
        """The rate weights a frame is coded with.

        Args:
            index_rdo: the frame's weights; None: ``self.index_rdo``.
            coding: FIXED_LENGTH always gets the nearest codewords (every index costs the same).

        Raises:
            TypeError: ``index_rdo`` is neither IndexRDO nor None.
        """
        rdo = self.index_rdo if index_rdo is None else index_rdo
        if not isinstance(rdo, IndexRDO):
            raise TypeError(f"index_rdo must be IndexRDO or None, got {type(rdo).__name__}")
        return rdo if Coding(coding) is Coding.ENTROPY else NEAREST_INDICES


class SemanticDecoder:
    """Receiving side: bytes -> image and label map at the original size.

    Args:
        model: a LoadedModel or the path of a model file (must be the encoder's model).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        max_output_pixels: largest output (height * width) a header may ask for.
        precision: ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"`` (see the encoder).
    """

    def __init__(self, model: LoadedModel | str | Path, device: str | torch.device = "auto",
                 max_output_pixels: int = DEFAULT_MAX_OUTPUT_PIXELS, precision: str = "auto") -> None:
        if max_output_pixels < 1:
            raise ValueError(f"max_output_pixels must be >= 1, got {max_output_pixels}")
        self.loaded, self.device, self.dtype = _prepare(model, device, precision)
        self.max_output_pixels = int(max_output_pixels)

    def decode(self, data: bytes, size: tuple[int, int] | None = None) -> DecodedFrame:
        """Decode one frame (its header is screened first, before any entropy decoding).

        Args:
            data: the frame.
            size: ``(H, W)`` of the output; None = the camera size the header carries.

        Raises:
            BitstreamError: truncated/corrupted/foreign stream, made by another model, or a
                header the model must not run on (see :meth:`screen`).
        """
        self.screen(data)
        header, symbols = decode_frame(data, self.loaded.priors, expected_model_id=self.loaded.id_bytes)
        return self.reconstruct(header, symbols, size)

    def screen(self, data: bytes) -> FrameHeader:
        """Read a frame's header only (checksum verified) and refuse what must not be decoded.

        Cheap: a forged header (right model id and checksum, but another model size, a finer
        latent grid or a huge camera size, any of which would run the decoder's attention on up
        to 65536 latents or allocate gigabytes) is refused before any work.

        Raises:
            BitstreamError: corrupt, another model's, or sizes this model must not decode.
        """
        header = peek_header(data)
        if header.model_id != self.loaded.id_bytes:
            raise BitstreamError(f"model id mismatch: the stream was made by model "
                                 f"{header.model_id.hex()}, this decoder has {self.loaded.id_bytes.hex()}")
        _, layout, _ = read_header(bytes(data[:-CHECKSUM_BYTES]))
        self._check_sizes(header, layout.grids)
        return header

    def _check_sizes(self, header: FrameHeader, grids) -> None:
        config = self.loaded.config
        if tuple(header.model_size) != tuple(config.image_size):
            raise BitstreamError(f"frame was coded at model size {tuple(header.model_size)}, this model runs at "
                                 f"{tuple(config.image_size)}")
        grid = config.grid(*config.image_size)
        for name, g in zip(("semantic", "image"), grids):
            if tuple(g) != tuple(grid):
                raise BitstreamError(f"{name} latent grid {tuple(g)} does not match the "
                                     f"model's {tuple(grid)}")
        if header.image_size[0] * header.image_size[1] > self.max_output_pixels:
            raise BitstreamError(f"output size {header.image_size[0]}x{header.image_size[1]} exceeds "
                                 f"max_output_pixels={self.max_output_pixels}")

    def reconstruct(self, header: FrameHeader, symbols: FrameSymbols,
                    size: tuple[int, int] | None = None) -> DecodedFrame:
        """Decode symbols (e.g. a video frame's full latent state).

        Args:
            header: the frame header (its ``image_size`` is the default output size).
            symbols: the latents to decode from.
            size: ``(H, W)`` of the output; None = ``header.image_size``. The model size
                (``loaded.config.image_size``) skips the resize altogether.

        Raises:
            BitstreamError: the header asks for another model size or latent grid than this model's
                (a forged header must not make the decoder run on more latents), or for an output
                larger than ``max_output_pixels``.
        """
        self._check_sizes(header, (symbols.semantic.grid, symbols.image.grid))
        out = tuple(header.image_size) if size is None else (int(size[0]), int(size[1]))
        with torch.inference_mode(), autocast(self.device, self.dtype):
            image, labels = self.loaded.model.receiver.decompress([symbols])
            image = (image[0].permute(1, 2, 0) * 255.0).round_().to(torch.uint8).cpu().numpy()
            labels = labels[0].to(torch.uint8).cpu().numpy()
        return DecodedFrame(_resize(image, out, labels=False), _resize(labels, out, labels=True), header)
