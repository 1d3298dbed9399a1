"""Small helpers shared by the teleop nodes (no rclpy imports at module level).

* :class:`LatestSlot` — a single-slot mailbox: the newest frame wins, older unprocessed ones
  are dropped and counted (never an unbounded queue behind a slow encoder).
* :class:`WarningThrottle` — at most one log line per cause per period, with the number of
  suppressed repeats.
* :class:`RateWindow` — frames, bits and fps over a sliding time window.
* :func:`default_model_path` / :func:`resolve_model_path` — where the bundled model lives.
* :func:`scale_camera_info` — intrinsics of a resized image.
* :func:`configure_torch_threads` — the per-node torch CPU thread setting.
* :class:`FrameIdTracker` — lost / reordered / duplicate frames from the encoder's frame ids.
* :func:`image_size_problem` / :func:`frame_header_problem` / :func:`screen_frame` — cheap checks
  made before any large allocation (camera images on the encoder, frames on the decoder).
* :func:`spin_node_main` — the ``main`` of a node process: init, spin, one-line errors, shutdown.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqgan_ros.bundled_models import DEFAULT_MODEL_NAME, bundled_model_path

__all__ = ["LatestSlot", "WarningThrottle", "RateWindow", "default_model_path",
           "resolve_model_path", "scale_camera_info", "stamp_to_seconds", "DEFAULT_MODEL_NAME",
           "usable_cpu_count", "auto_torch_threads", "configure_torch_threads", "FrameIdTracker",
           "image_size_problem", "frame_header_problem", "screen_frame", "overridable_qos"]

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Single-slot mailbox between a subscription callback and a worker thread.

    ``put`` replaces an item the worker has not taken yet (that frame is dropped);
    ``take`` blocks until an item is there, the timeout passes, or the slot is closed.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> bool:
        """Offer an item. Returns True if it replaced (dropped) an unprocessed one."""
        with self._cond:
            replaced = self._item is not None
            if replaced:
                self.dropped += 1
            self._item = item
            self._cond.notify()
            return replaced

    def take(self, timeout: float | None = None) -> T | None:
        """Remove and return the item, or None on timeout or when closed."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """Wake the worker for good; later ``take`` calls return at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed


def spin_node_main(make_node: Callable[[], Any], name: str, args: list[str] | None = None) -> int:
    """Run one node until shutdown; returns the process exit status.

    A bad parameter or model file is one ``<name>: error: ...`` line on stderr and status 1 (no
    traceback); Ctrl-C and an external shutdown are status 0. The node's ``close()`` (if it has
    one: worker threads) runs before ``destroy_node()``.

    Args:
        make_node: builds the node (after ``rclpy.init``).
        name: program name for error lines.
        args: command line (ROS arguments included); None means ``sys.argv``.
    """
    import rclpy
    from rclpy.exceptions import ParameterException
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (ValueError, TypeError, FileNotFoundError, OSError, RuntimeError, ParameterException) as exc:
        # ParameterException: e.g. a QoS override of the wrong type, refused by rclpy itself
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if node is not None:
            close = getattr(node, "close", None)
            if callable(close):
                close()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


class WarningThrottle:
    """Emit at most one message per cause per ``period_s``; say how many were suppressed.

    Args:
        emit: called with the message to log (e.g. ``node.get_logger().warning``).
        period_s: minimum time between two messages of the same cause.
        clock: monotonic time source (injectable for tests).
    """

    def __init__(self, emit: Callable[[str], Any], period_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._emit = emit
        self._period = float(period_s)
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def warn(self, cause: str, message: str) -> bool:
        """Log ``message`` unless ``cause`` was logged less than ``period_s`` ago.

        Returns:
            True if the message was emitted.
        """
        now = self._clock()
        with self._lock:
            last = self._last.get(cause)
            if last is not None and now - last < self._period:
                self._suppressed[cause] = self._suppressed.get(cause, 0) + 1
                return False
            self._last[cause] = now
            suppressed = self._suppressed.pop(cause, 0)
        if suppressed:
            message = f"{message} ({suppressed} more like this since the last report)"
        self._emit(message)
        return True


class RateWindow:
    """Frames and bits over a sliding window of wall-clock time.

    Args:
        window_s: window length in seconds (> 0).
        clock: monotonic time source.
    """

    def __init__(self, window_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        if not window_s > 0:
            raise ValueError(f"window_s must be > 0, got {window_s}")
        self.window_s = float(window_s)
        self._clock = clock
        self._events: deque[tuple[float, int, int]] = deque()

    def add(self, payload_bits: int, message_bits: int = 0) -> None:
        """Record one frame."""
        now = self._clock()
        self._events.append((now, int(payload_bits), int(message_bits)))
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._events and now - self._events[0][0] > self.window_s:
            self._events.popleft()

    def rates(self) -> tuple[float, float, float]:
        """Return ``(payload_kbps, message_kbps, fps)`` over the window (0 when empty)."""
        now = self._clock()
        self._trim(now)
        n = len(self._events)
        if n < 2:
            return 0.0, 0.0, 0.0
        # The first frame opens the window: n-1 frames arrived in (first, now]. Measuring up to
        # now (not to the last frame) lets the rates fall when the stream stalls.
        span = max(now - self._events[0][0], 1e-6)
        events = list(self._events)[1:]
        payload = sum(e[1] for e in events)
        message = sum(e[2] for e in events)
        return payload / span / 1000.0, message / span / 1000.0, (n - 1) / span


def stamp_to_seconds(stamp: Any) -> float:
    """``builtin_interfaces/Time`` -> float seconds."""
    return float(stamp.sec) + 1e-9 * float(stamp.nanosec)


def overridable_qos() -> Any:
    """``QoSOverridingOptions`` letting users override history, depth and reliability at start.

    With it, ``qos_overrides.<topic>.publisher.reliability: reliable`` (or ``.subscription.``,
    ``.depth``, ``.history``) in a parameters file or on the command line changes that
    entity's QoS (rclpy declares the read-only parameters when the entity is created).
    """
    from rclpy.qos_overriding_options import QoSOverridingOptions

    return QoSOverridingOptions.with_default_policies()


def default_model_path() -> Path:
    """Path of the bundled model file (see :mod:`sqgan_ros.bundled_models` for where it is looked for)."""
    return bundled_model_path(DEFAULT_MODEL_NAME)


def resolve_model_path(value: str) -> Path:
    """The model file named by a ``model_file`` parameter (empty = bundled default).

    Raises:
        FileNotFoundError: with a one-line message saying how to get a model.
    """
    path = Path(value).expanduser() if value else default_model_path()
    if not path.is_file():
        hint = ("train one (see README.md) or set model_file" if not value
                else "check the model_file parameter")
        raise FileNotFoundError(f"model file not found: {path} ({hint})")
    return path


def scale_camera_info(info: Any, height: int, width: int) -> Any:
    """Return a copy of a ``sensor_msgs/CameraInfo`` with intrinsics scaled to ``height x width``.

    K and P rows 0 and 1 scale with the image; the ROI is reset; binning is cleared.
    """
    import copy

    out = copy.deepcopy(info)
    if info.width and info.height:
        sx = width / float(info.width)
        sy = height / float(info.height)
        k = list(info.k)
        k[0] *= sx
        k[2] *= sx
        k[4] *= sy
        k[5] *= sy
        out.k = k
        p = list(info.p)
        p[0] *= sx
        p[2] *= sx
        p[3] *= sx
        p[5] *= sy
        p[6] *= sy
        out.p = p
    out.width = int(width)
    out.height = int(height)
    out.binning_x = 0
    out.binning_y = 0
    out.roi.x_offset = 0
    out.roi.y_offset = 0
    out.roi.width = 0
    out.roi.height = 0
    out.roi.do_rectify = False
    return out


# ------------------------------------------------------------------------------ CPU threads
def usable_cpu_count() -> int:
    """CPUs this process may run on (affinity / cpuset aware where the OS says), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def auto_torch_threads(cpus: int | None = None) -> int:
    """The ``torch_threads: 0`` (auto) choice: ``max(1, cpus // 2)``.

    A teleop host runs at least two busy processes (camera driver + encoder, or encoder +
    decoder when testing on one machine). torch's OpenMP pool spins on every thread it owns; two
    processes each owning all cores slow each other down several times (measured on 2 cores:
    510 ms vs 135 ms per frame for the same transmitter), so each node takes half the cores.

    Args:
        cpus: CPU count to split (None: :func:`usable_cpu_count`).
    """
    n = usable_cpu_count() if cpus is None else int(cpus)
    return max(1, n // 2)


def configure_torch_threads(requested: int) -> int:
    """Apply a node's ``torch_threads`` parameter to this process (call before the model runs).

    Sets ``torch.set_num_threads`` (intra-op) and, where torch still allows it,
    ``torch.set_num_interop_threads(1)`` (the nodes run one model call at a time).

    Args:
        requested: threads, or 0 for :func:`auto_torch_threads`.

    Returns:
        The number of intra-op threads in use.

    Raises:
        ValueError: ``requested`` is negative or not an int.
    """
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 0:
        raise ValueError(f"torch_threads must be an integer >= 0, got {requested!r}")
    import torch

    threads = requested if requested > 0 else auto_torch_threads()
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or inter-op work already ran in this process
        pass
    return torch.get_num_threads()


# ------------------------------------------------------------------------------ frame ids
class FrameIdTracker:
    """Counts lost, late (reordered) and duplicate frames from uint32 frame ids that wrap.

    An id ahead of the newest one seen opens a gap: the ids in between count as lost. When one
    of them arrives later it is counted as reordered and no longer as lost, so ``lost`` is
    always the number of ids that have not arrived (yet). Gaps are remembered for ``window``
    ids; an id further back than that, or a jump forward of ``restart_gap`` or more, is taken
    as an encoder restart (ids start again) and resets the tracker without counting anything.

    Args:
        window: how many ids back a late frame is still recognised.
        restart_gap: a forward jump this large is a restart, not a burst of losses.
    """

    MODULUS = 1 << 32

    def __init__(self, window: int = 1024, restart_gap: int = 1 << 16) -> None:
        if window < 1 or restart_gap <= window:
            raise ValueError(f"need 1 <= window < restart_gap, got {window}, {restart_gap}")
        self.window = int(window)
        self.restart_gap = int(restart_gap)
        self.newest: int | None = None
        self._missing: set[int] = set()
        self.received = 0
        self.lost = 0
        self.reordered = 0
        self.duplicates = 0
        self.restarts = 0

    def add(self, frame_id: int) -> str:
        """Record one received id.

        Args:
            frame_id: the frame's uint32 id.

        Returns:
            ``"first"``, ``"next"`` (in order, possibly after a gap), ``"late"`` (reordered),
            ``"duplicate"`` or ``"restart"``.
        """
        if isinstance(frame_id, bool) or not isinstance(frame_id, int) \
                or not 0 <= frame_id < self.MODULUS:
            raise ValueError(f"frame_id must be a uint32, got {frame_id!r}")
        self.received += 1
        newest = self.newest
        if newest is None:
            self.newest = frame_id
            return "first"
        ahead = (frame_id - newest) % self.MODULUS
        if ahead == 0:
            self.duplicates += 1
            return "duplicate"
        if ahead < self.restart_gap:
            self.lost += ahead - 1
            for k in range(max(1, ahead - self.window), ahead):
                self._missing.add((newest + k) % self.MODULUS)
            self.newest = frame_id
            self._trim()
            return "next"
        behind = (newest - frame_id) % self.MODULUS
        if behind <= self.window:
            if frame_id in self._missing:
                self._missing.discard(frame_id)
                self.lost -= 1
                self.reordered += 1
                return "late"
            self.duplicates += 1
            return "duplicate"
        self.restarts += 1
        self.newest = frame_id
        self._missing.clear()
        return "restart"

    def _trim(self) -> None:
        if len(self._missing) > self.window:
            newest = self.newest
            self._missing = {i for i in self._missing
                             if (newest - i) % self.MODULUS <= self.window}


# ------------------------------------------------------------------------------ size guards
def image_size_problem(height: int, width: int, max_pixels: int) -> tuple[str, str] | None:
    """Check a camera image's declared size before converting it.

    Args:
        height: ``Image.height``.
        width: ``Image.width``.
        max_pixels: the node's ``max_input_pixels``.

    Returns:
        None if acceptable, else ``(cause, reason)`` with cause ``"size"`` (zero) or
        ``"too_large"`` (over ``max_pixels`` or a side the bitstream cannot carry).
    """
    from sqgan_ros.bitstream.header import MAX_IMAGE_SIDE

    if height <= 0 or width <= 0:
        return "size", f"image has zero size {height}x{width}"
    if height > MAX_IMAGE_SIDE or width > MAX_IMAGE_SIDE:
        return "too_large", (f"image too large: sides must be at most {MAX_IMAGE_SIDE}, "
                             f"got {height}x{width}")
    if height * width > max_pixels:
        return "too_large", (f"image too large: {height}x{width} = {height * width} pixels "
                             f"exceeds max_input_pixels = {max_pixels}")
    return None


def frame_header_problem(header: Any, model_size: tuple[int, int],
                         max_pixels: int) -> tuple[str, str] | None:
    """Check a frame header (from ``peek_header``) before decoding the frame.

    The header's sizes are chosen by whoever sent the frame. The CRC and the 8-byte model id
    (which every frame carries in clear) do not stop a forged header, so before decoding:
    the codec must run at this model's own size (a larger one would run the decoder, and its
    attention, on a grid of up to 65536 latents: minutes and gigabytes), and the image size it
    is resized back to must stay under ``max_pixels``.

    Args:
        header: a ``FrameHeader``.
        model_size: ``(H, W)`` the loaded model runs at (``config.image_size``).
        max_pixels: the node's ``max_output_pixels``.

    Returns:
        None if acceptable, else ``(cause, reason)``.
    """
    if tuple(header.model_size) != tuple(model_size):
        return "model_size", (f"header says the codec ran at {tuple(header.model_size)}, "
                              f"this model runs at {tuple(model_size)}")
    h, w = header.image_size
    if h * w > max_pixels:
        return "too_large", (f"header declares a {h}x{w} image, more than max_output_pixels = "
                             f"{max_pixels}")
    return None


def screen_frame(payload: bytes, model_id: bytes, model_size: tuple[int, int],
                 grid: tuple[int, int], max_pixels: int) -> tuple[Any, tuple[str, str] | None]:
    """What the decoder node checks before it decodes a payload.

    Reads the header only (CRC verified), then refuses another model's frame, forged sizes
    (:func:`frame_header_problem`) and latent grids other than the model's own (a finer grid at
    the right model size would also make the decoder's attention run on up to 65536 latents).
    A frame that passes is then decoded by ``SemanticDecoder.decode``, which can still raise
    ``BitstreamError`` on a corrupt payload.

    Args:
        payload: the SemanticFrame payload.
        model_id: the decoder's 8 id bytes (``LoadedModel.id_bytes``).
        model_size: ``(H, W)`` the decoder's model runs at (``config.image_size``).
        grid: the model's latent grid at that size (``config.grid(*model_size)``).
        max_pixels: the node's ``max_output_pixels``.

    Returns:
        ``(header, None)`` when the frame may be decoded, else ``(header or None, (cause,
        reason))`` with cause ``"corrupt"``, ``"model_id"``, ``"model_size"``, ``"grid"`` or
        ``"too_large"``.
    """
    from sqgan_ros.bitstream import CHECKSUM_BYTES, BitstreamError, peek_header
    from sqgan_ros.bitstream.header import read_header

    try:
        header = peek_header(payload)
        _, layout, _ = read_header(bytes(payload[:-CHECKSUM_BYTES]))
    except BitstreamError as exc:
        return None, ("corrupt", str(exc))
    if header.model_id != model_id:
        return header, ("model_id", f"made by model {header.model_id.hex()}, this decoder runs "
                                    f"model {model_id.hex()}")
    problem = frame_header_problem(header, model_size, max_pixels)
    if problem is None and any(tuple(g) != tuple(grid) for g in layout.grids):
        problem = ("grid", f"latent grids {[tuple(g) for g in layout.grids]} differ from this "
                           f"model's {tuple(grid)}")
    return header, problem
