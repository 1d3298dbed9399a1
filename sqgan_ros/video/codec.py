"""Video coding with SQ-GAN: INTRA frames and INTER frames that update a reference's latents.

Symbol level (no images, no bitstream; what the tests drive)::

    VideoTransmitter.code(FrameAnalysis) -> CodedFrame(header fields, FrameSymbols, state)
    VideoReceiver.accept(FrameHeader, FrameSymbols) -> ReferenceState   (or ReferenceMissingError)

Image level (numpy RGB in, bytes, numpy RGB out, like ``sqgan_ros.api``)::

    VideoEncoder.encode(image, labels, keep_ratio, class_weights) -> bytes   (+ .acknowledge(id))
    VideoDecoder.decode(bytes) -> DecodedFrame                               (+ .ack())

An INTER frame's symbols are the updated latents (positions + new indices); the decoder takes
every other latent from the reference state and decodes the full known state with
``Receiver.decompress``. The encoder predicts only from states the decoder confirmed (or from
the last INTRA frame), see :mod:`sqgan_ros.video.policy`.
"""

from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sqgan_ros.api import DEFAULT_MAX_OUTPUT_PIXELS, DecodedFrame, SemanticDecoder, SemanticEncoder, roi_in_model_pixels
from sqgan_ros.bitstream import BitstreamError, Coding, FrameHeader, FrameType, decode_frame, encode_frame
from sqgan_ros.bitstream.symbols import FrameSymbols
from sqgan_ros.codec.index_rdo import DEFAULT_INDEX_RDO, NEAREST_INDICES, IndexChooser, IndexRDO, model_codebooks
from sqgan_ros.codec.model import FrameAnalysis, KeepRatios, Transmitter
from sqgan_ros.codec.model_file import LoadedModel
from sqgan_ros.codec.precision import autocast
from sqgan_ros.codec.samm import keep_count
from sqgan_ros.labels import weight_vector
from sqgan_ros.video.policy import ReferenceChoice, ReferencePolicy, VideoConfig
from sqgan_ros.video.selection import refresh_window, select_updates
from sqgan_ros.video.state import FRAME_ID_MODULUS, ReferenceHistory, ReferenceState, frame_distance

__all__ = ["ReferenceMissingError", "CodedFrame", "VideoTransmitter", "VideoReceiver",
           "VideoEncodeStats", "VideoEncoder", "VideoDecoder", "AckInfo"]


class ReferenceMissingError(BitstreamError):
    """An INTER frame's reference state is not held by the decoder (lost, evicted or never seen).

    Args:
        frame_id: the refused frame.
        reference_id: the reference it needs.
    """

    def __init__(self, frame_id: int, reference_id: int) -> None:
        super().__init__(f"frame {frame_id} refused: its reference frame {reference_id} is not "
                         f"held (lost or joined late); waiting for a decodable frame")
        self.frame_id = frame_id
        self.reference_id = reference_id


@dataclass(frozen=True)
class CodedFrame:
    """One frame as the transmitter coded it.

    Args:
        frame_type: INTRA or INTER.
        frame_id: the frame's uint32 id.
        reference_id: the frame it updates (its own id when INTRA).
        symbols: what goes on the wire (INTRA: kept latents; INTER: updated latents).
        state: the state the decoder will hold after accepting this frame.
        reason: why this frame type / reference was chosen (see ``ReferenceChoice``).
    """

    frame_type: FrameType
    frame_id: int
    reference_id: int
    symbols: FrameSymbols
    state: ReferenceState
    reason: str


class VideoTransmitter:
    """Symbol-level video encoder: analyses in, INTRA/INTER symbols out, reference bookkeeping.

    Args:
        config: video settings.
        codebooks: ``{"semantic": [K, D], "image": [K, D]}`` codewords (needed only when
            ``config.change_threshold > 0``).
        first_frame_id: id of the first frame (None: random, so a restarted encoder does not
            reuse the ids of states an old decoder still holds).
        chooser: rate-distortion index choice for the model's priors (None: nearest codewords
            whatever ``code`` is given as ``index_rdo``).
    """

    def __init__(self, config: VideoConfig | None = None,
                 codebooks: dict[str, torch.Tensor] | None = None,
                 first_frame_id: int | None = None, chooser: IndexChooser | None = None) -> None:
        self.chooser = chooser
        self.config = config if config is not None else VideoConfig()
        self.policy = ReferencePolicy(self.config)
        self.history = ReferenceHistory(self.config.history)
        self.codebooks = codebooks or {}
        if self.config.change_threshold > 0 and set(self.codebooks) != {"semantic", "image"}:
            raise ValueError("change_threshold > 0 needs the codebooks of both branches")
        if first_frame_id is None:
            first_frame_id = random.getrandbits(32)
        if isinstance(first_frame_id, bool) or not isinstance(first_frame_id, int) \
                or not 0 <= first_frame_id < FRAME_ID_MODULUS:
            raise ValueError(f"first_frame_id must be a uint32, got {first_frame_id!r}")
        self.next_frame_id = first_frame_id
        self._refresh_counter = 0
        self._acks: deque[int] = deque(maxlen=256)

    def acknowledge(self, frame_id: int) -> None:
        """The decoder confirmed it holds the state after ``frame_id``.

        Thread-safe (e.g. called from a ROS callback while another thread codes frames): the
        acknowledgement is queued and applied before the next frame is coded.

        Raises:
            TypeError / ValueError: ``frame_id`` is not a uint32.
        """
        if isinstance(frame_id, bool) or not isinstance(frame_id, (int, np.integer)):
            raise TypeError(f"frame_id must be an int, got {type(frame_id).__name__}")
        if not 0 <= int(frame_id) < FRAME_ID_MODULUS:
            raise ValueError(f"frame_id must be a uint32, got {frame_id}")
        self._acks.append(int(frame_id))

    def request_intra(self) -> None:
        """Code the next frame as INTRA."""
        self.policy.request_intra()

    def code(self, analysis: FrameAnalysis, keep_ratios: KeepRatios,
             class_weights: torch.Tensor | None = None, *, row: int = 0,
             force_intra: bool = False, index_rdo: IndexRDO = NEAREST_INDICES,
             region: tuple[float, float, float, float] | None = None,
             image_size: tuple[int, int] | None = None) -> CodedFrame:
        """Code batch item ``row`` of ``analysis`` as the next frame and record its state.

        Args:
            analysis: ``Transmitter.analyse`` output.
            keep_ratios: the frame's budget: INTRA keeps ``k = keep_count(r, N)`` latents per
                branch, INTER sends at most that many updates (plus the refresh window).
            class_weights: ``[20]`` run-time class weights or None.
            row: batch item to code.
            force_intra: code an INTRA frame whatever the policy says.
            index_rdo: rate weights of the index choice of the sent latents (needs ``chooser``;
                the reference state records the indices actually sent).
            region: ``(x, y, width, height)`` in model pixels sent first by INTRA frames (an
                operator's region of interest; ``Transmitter.select``); INTER frames then keep
                its latents current like all others. None: no region.
            image_size: the model size ``(H, W)`` (needed with ``region``).
        """
        if not isinstance(keep_ratios, KeepRatios):
            raise TypeError(f"keep_ratios must be KeepRatios, got {type(keep_ratios).__name__}")
        frame_id = self.next_frame_id
        while self._acks:
            self.policy.acknowledge(self._acks.popleft())
        if force_intra:
            self.policy.request_intra()
        choice = self.policy.choose(frame_id, self.history)
        reference = None if choice.intra else self.history.get(choice.reference_id)
        if reference is not None and (reference.semantic.grid != analysis.semantic.grid
                                      or reference.image.grid != analysis.image.grid):
            reference = None
        if reference is None and not choice.intra:
            choice = ReferenceChoice(True, frame_id, "grid")
        if choice.intra or reference is None:
            symbols = self._choose(Transmitter.select(_row(analysis, row), keep_ratios, class_weights,
                                                      region, image_size)[0], analysis, row, index_rdo)
            state = ReferenceState.from_intra(frame_id, symbols)
        else:
            branches, cut = {}, False
            for name, ratio in (("semantic", keep_ratios.semantic), ("image", keep_ratios.image)):
                ana = getattr(analysis, name)
                n = ana.grid[0] * ana.grid[1]
                update = select_updates(
                    ana, row, reference.branch(name), keep_count(ratio, n), class_weights,
                    refresh=refresh_window(n, self.config.refresh_fraction, self._refresh_counter),
                    codebook=self.codebooks.get(name), change_threshold=self.config.change_threshold)
                branches[name] = update.symbols
                cut = cut or update.stale_left > self.config.scene_cut_fraction * n
            if cut:  # too much of what the decoder holds would stay wrong: start afresh
                choice = ReferenceChoice(True, frame_id, "scene-cut")
                symbols = self._choose(Transmitter.select(_row(analysis, row), keep_ratios, class_weights,
                                                          region, image_size)[0], analysis, row, index_rdo)
                state = ReferenceState.from_intra(frame_id, symbols)
            else:
                symbols = self._choose(FrameSymbols(**branches), analysis, row, index_rdo)
                state = reference.updated(frame_id, symbols)
        self._refresh_counter += 1
        self.policy.sent(choice, frame_id)
        self.history.add(state)
        self.next_frame_id = (frame_id + 1) % FRAME_ID_MODULUS
        return CodedFrame(FrameType.INTRA if choice.intra else FrameType.INTER, frame_id,
                          choice.reference_id, symbols, state, choice.reason)

    def _choose(self, symbols: FrameSymbols, analysis: FrameAnalysis, row: int,
                index_rdo: IndexRDO) -> FrameSymbols:
        if self.chooser is None or not index_rdo.enabled:
            return symbols
        return self.chooser.refine(symbols, analysis.latents_of(row), index_rdo)


def _row(analysis: FrameAnalysis, row: int) -> FrameAnalysis:
    b = analysis.image.scores.shape[0]
    if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < b:
        raise ValueError(f"row must be in [0, {b}), got {row!r}")
    if b == 1:
        return analysis
    pick = [type(analysis.semantic)(a.scores[row:row + 1], a.indices[row:row + 1],
                                    a.class_fractions[row:row + 1], a.grid,
                                    None if a.latents is None else a.latents[row:row + 1])
            for a in (analysis.semantic, analysis.image)]
    return FrameAnalysis(*pick)


@dataclass(frozen=True)
class AckInfo:
    """What a decoder acknowledges (the content of a FrameAck message).

    Args:
        last_decoded_frame_id: newest frame decoded successfully.
        semantic_reference_id: reference the decoder holds for the semantic branch.
        image_reference_id: reference the decoder holds for the image branch.
    """

    last_decoded_frame_id: int
    semantic_reference_id: int
    image_reference_id: int


class VideoReceiver:
    """Symbol-level video decoder state: reference states by frame id.

    Args:
        history: states kept (must cover the encoder's ``max_reference_age`` plus the feedback
            delay; the default matches ``VideoConfig.history``).
    """

    def __init__(self, history: int = 32) -> None:
        self.history = ReferenceHistory(history)
        self.last_decoded: int | None = None
        self.refused = 0

    def accept(self, header: FrameHeader, symbols: FrameSymbols) -> ReferenceState:
        """Apply one frame; returns the state to decode.

        Raises:
            ReferenceMissingError: an INTER frame whose reference is not held.
            BitstreamError: an INTER frame whose grids differ from its reference's.
        """
        if header.frame_type == FrameType.INTRA:
            state = ReferenceState.from_intra(header.frame_id, symbols)
        else:
            reference = self.history.get(header.reference_id)
            if reference is None:
                self.refused += 1
                raise ReferenceMissingError(header.frame_id, header.reference_id)
            try:
                state = reference.updated(header.frame_id, symbols)
            except ValueError as error:
                self.refused += 1
                raise BitstreamError(f"frame {header.frame_id}: {error}") from None
        self.history.add(state)
        if self.last_decoded is None or 0 < frame_distance(header.frame_id, self.last_decoded) < 2**31:
            self.last_decoded = header.frame_id
        return state

    def ack(self) -> AckInfo | None:
        """The acknowledgement to send, or None before the first decoded frame."""
        if self.last_decoded is None:
            return None
        last = self.last_decoded
        return AckInfo(last, last, last)

    def reset(self) -> None:
        """Forget every reference (e.g. the encoder changed models)."""
        self.history.clear()
        self.last_decoded = None


@dataclass(frozen=True)
class VideoEncodeStats:
    """Statistics of the last encoded video frame.

    Args:
        frame_id: the frame's id.
        frame_type: INTRA or INTER.
        reference_id: the frame it updates (own id when INTRA).
        semantic_k: latents sent by the semantic branch.
        image_k: latents sent by the image branch.
        semantic_known: latents of the semantic branch the decoder holds after this frame.
        image_known: same for the image branch.
        num_latents: latents per branch (N).
        payload_bytes: size of the frame in bytes.
        encode_ms: wall time of ``encode`` in milliseconds.
        reason: why this frame type / reference was chosen.
    """

    frame_id: int
    frame_type: FrameType
    reference_id: int
    semantic_k: int
    image_k: int
    semantic_known: int
    image_known: int
    num_latents: int
    payload_bytes: int
    encode_ms: float
    reason: str

    @property
    def sent_ratio(self) -> float:
        """Image latents sent over N, at least 1/N (what a rate controller should be fed)."""
        return max(self.image_k, 1) / self.num_latents


class VideoEncoder:
    """Sending side of a video stream: images in, INTRA/INTER frames of bytes out.

    Args:
        model: a LoadedModel or the path of a model file.
        config: video settings.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        first_frame_id: id of the first frame (None: random).
        precision: compute precision of the networks (see ``SemanticEncoder``).
        index_rdo: default rate weights of the index choice under entropy coding (see
            ``SemanticEncoder``); ``encode`` can override it per frame.
    """

    def __init__(self, model: LoadedModel | str | Path, config: VideoConfig | None = None,
                 device: str | torch.device = "auto", first_frame_id: int | None = None,
                 precision: str = "auto", index_rdo: IndexRDO = DEFAULT_INDEX_RDO) -> None:
        self._images = SemanticEncoder(model, device, precision=precision, index_rdo=index_rdo)
        self.loaded = self._images.loaded
        self.device = self._images.device
        self.dtype = self._images.dtype
        self.transmitter = VideoTransmitter(config, model_codebooks(self.loaded.model), first_frame_id,
                                            self._images.index_chooser)
        self.config = self.transmitter.config
        self.last_stats: VideoEncodeStats | None = None
        self.last_frame: CodedFrame | None = None

    def acknowledge(self, frame_id: int) -> None:
        """Feed back a FrameAck's ``last_decoded_frame_id``."""
        self.transmitter.acknowledge(frame_id)

    def request_intra(self) -> None:
        """Make the next frame INTRA."""
        self.transmitter.request_intra()

    def encode(self, image_rgb_uint8: np.ndarray, labels: np.ndarray | None = None,
               keep_ratio: float | KeepRatios = 0.25, class_weights: dict[str, float] | None = None,
               coding: Coding = Coding.ENTROPY, force_intra: bool = False,
               index_rdo: IndexRDO | None = None,
               roi: tuple[float, float, float, float] | None = None) -> bytes:
        """Encode the next frame of the stream (frame ids are assigned here).

        Args:
            image_rgb_uint8: RGB image ``uint8 (H, W, 3)`` of any size.
            labels: label map ``(H, W)`` 0..19, or None (all unlabelled).
            keep_ratio: the frame's latent budget per branch (see ``VideoTransmitter.code``).
            class_weights: run-time SAMM selection weights by class name (None: the paper's).
            coding: ENTROPY (default) or FIXED_LENGTH.
            force_intra: code this frame as INTRA.
            index_rdo: rate weights of the index choice (None: the encoder's default; FIXED_LENGTH
                coding always sends the nearest codewords).
            roi: ``(x, y, width, height)`` in this image's pixels, sent first by INTRA frames
                (``SemanticEncoder.encode``); request an INTRA frame when it changes.

        Returns:
            The frame's bytes.
        """
        start = time.perf_counter()
        rdo = self._images.resolve_index_rdo(index_rdo, coding)
        ratios = keep_ratio if isinstance(keep_ratio, KeepRatios) else KeepRatios.both(keep_ratio)
        weights = None if class_weights is None else torch.from_numpy(weight_vector(class_weights))
        x, lab = self._images.prepare_inputs(image_rgb_uint8, labels)
        with torch.inference_mode():
            with autocast(self.device, self._images.dtype):
                analysis = self.loaded.model.transmitter.analyse(x, lab)
            h, w = image_rgb_uint8.shape[:2]
            model_size = self.loaded.config.image_size
            region = None if roi is None else roi_in_model_pixels(roi, (h, w), model_size)
            coded = self.transmitter.code(analysis, ratios, weights, force_intra=force_intra,
                                          index_rdo=rdo, region=region, image_size=model_size)
        header = FrameHeader(model_id=self.loaded.id_bytes, image_size=(h, w),
                             model_size=self.loaded.config.image_size, frame_type=coded.frame_type,
                             frame_id=coded.frame_id, reference_id=coded.reference_id,
                             coding=Coding(coding))
        data = encode_frame(header, coded.symbols, self.loaded.priors)
        self.last_frame = coded
        self.last_stats = VideoEncodeStats(
            coded.frame_id, coded.frame_type, coded.reference_id, coded.symbols.semantic.k,
            coded.symbols.image.k, coded.state.semantic.num_known, coded.state.image.num_known,
            coded.symbols.image.num_cells, len(data), (time.perf_counter() - start) * 1000.0,
            coded.reason)
        return data


class VideoDecoder:
    """Receiving side of a video stream: bytes in, images out, acknowledgements for the encoder.

    Args:
        model: a LoadedModel or the path of a model file (must be the encoder's model).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        history: reference states kept.
        precision: compute precision of the networks (see ``SemanticDecoder``).
    """

    def __init__(self, model: LoadedModel | str | Path, device: str | torch.device = "auto",
                 history: int = 32, precision: str = "auto",
                 max_output_pixels: int = DEFAULT_MAX_OUTPUT_PIXELS) -> None:
        self._images = SemanticDecoder(model, device, precision=precision,
                                       max_output_pixels=max_output_pixels)
        self.loaded = self._images.loaded
        self.device = self._images.device
        self.dtype = self._images.dtype
        self.receiver = VideoReceiver(history)
        self.last_state: ReferenceState | None = None

    @property
    def max_output_pixels(self) -> int:
        """Largest output (height * width) a header may ask for (settable)."""
        return self._images.max_output_pixels

    @max_output_pixels.setter
    def max_output_pixels(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"max_output_pixels must be an integer >= 1, got {value!r}")
        self._images.max_output_pixels = value

    def decode(self, data: bytes, size: tuple[int, int] | None = None) -> DecodedFrame:
        """Decode one frame of the stream (its header screened first, see ``SemanticDecoder.screen``).

        Args:
            data: the frame.
            size: ``(H, W)`` of the output; None = the camera size the header carries.

        Raises:
            ReferenceMissingError: an INTER frame whose reference is not held (a
                ``BitstreamError``; the stream recovers at the next decodable frame).
            BitstreamError: truncated/corrupted/foreign stream, made by another model, or a
                header this model must not decode (no reference state is touched then).
        """
        self._images.screen(data)
        header, symbols = decode_frame(data, self.loaded.priors, expected_model_id=self.loaded.id_bytes)
        state = self.receiver.accept(header, symbols)
        self.last_state = state
        return self._images.reconstruct(header, state.to_symbols(), size)

    def ack(self) -> AckInfo | None:
        """The acknowledgement to send back, or None before the first decoded frame."""
        return self.receiver.ack()
