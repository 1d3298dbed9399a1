"""Real-camera degradations as training augmentation: what robot cameras do to a clean photo.

Applied to the image only (labels unchanged), each with its own probability, in the order a
camera pipeline would: exposure and white balance (sensor + ISP gains), defocus / motion blur
(optics, movement), sensor noise (shot + read noise, stronger in the dark), greyscale (mono
cameras), and JPEG blocking (cameras and drivers that compress before we see the frame)::

    img -> gain, gamma, per-channel WB -> blur (gaussian | motion) -> noise -> [grey] -> [JPEG q]

The parameters of every draw come from the generator passed in, so a sample is reproducible
from its seed (as the rest of the data pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["CameraDegrade"]


@dataclass(frozen=True)
class CameraDegrade:
    """Random camera degradations of a uint8 RGB image.

    Args:
        p_exposure: probability of an exposure/gamma change (gain 0.5..1.6, gamma 0.7..1.4).
        p_white_balance: probability of per-channel gains (0.8..1.2).
        p_blur: probability of blur (half gaussian sigma 0.5..2, half motion 3..9 px).
        p_noise: probability of sensor noise (sigma 1..12 levels, signal-dependent part).
        p_grey: probability of a greyscale camera (the RGB channels made equal).
        p_jpeg: probability of JPEG blocking (quality 15..70).
    """

    p_exposure: float = 0.4
    p_white_balance: float = 0.3
    p_blur: float = 0.25
    p_noise: float = 0.4
    p_grey: float = 0.1
    p_jpeg: float = 0.3

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Degrade ``image`` (uint8 RGB ``(H, W, 3)``); returns a new uint8 image."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected uint8 (H, W, 3), got {image.dtype} {image.shape}")
        x = image.astype(np.float32) / 255.0
        if rng.random() < self.p_exposure:
            gain = float(np.exp(rng.uniform(np.log(0.5), np.log(1.6))))
            gamma = float(rng.uniform(0.7, 1.4))
            x = np.clip(x * gain, 0.0, 1.0) ** gamma
        if rng.random() < self.p_white_balance:
            x = np.clip(x * rng.uniform(0.8, 1.2, size=3).astype(np.float32), 0.0, 1.0)
        if rng.random() < self.p_blur:
            if rng.random() < 0.5:
                x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(0.5, 2.0)))
            else:
                length = int(rng.integers(3, 10))
                kernel = np.zeros((length, length), np.float32)
                kernel[length // 2, :] = 1.0 / length
                angle = float(rng.uniform(0.0, 180.0))
                rot = cv2.getRotationMatrix2D(((length - 1) / 2.0, (length - 1) / 2.0), angle, 1.0)
                kernel = cv2.warpAffine(kernel, rot, (length, length))
                x = cv2.filter2D(x, -1, kernel / max(float(kernel.sum()), 1e-6), borderType=cv2.BORDER_REFLECT)
        if rng.random() < self.p_noise:
            read = float(rng.uniform(1.0, 12.0)) / 255.0
            shot = float(rng.uniform(0.0, 0.02))
            sigma = np.sqrt(read ** 2 + shot * x)
            x = x + sigma * rng.standard_normal(x.shape).astype(np.float32)
        out = np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)
        if rng.random() < self.p_grey:
            grey = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
            out = np.repeat(grey[:, :, None], 3, axis=2)
        if rng.random() < self.p_jpeg:
            quality = int(rng.integers(15, 71))
            ok, data = cv2.imencode(".jpg", out[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok:
                out = cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1]
        return np.ascontiguousarray(out)
