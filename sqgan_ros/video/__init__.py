"""Video coding on top of the SQ-GAN image codec (no ROS imports).

INTRA frames are ordinary SQ-GAN frames; INTER frames send, per branch, only the latents that
changed against a reference frame the decoder has acknowledged (or the last INTRA frame), chosen
by SAMM score biased by the run-time class weights under the frame's budget. See
:mod:`sqgan_ros.video.codec` (encoder/decoder), :mod:`sqgan_ros.video.policy` (references,
INTRA refresh) and :mod:`sqgan_ros.video.state` (reference states).

The policy and state modules are plain Python + numpy; the codec names (which need torch) are
imported on first use, so ``sqgan_ros.video.policy.VideoConfig`` (the video settings' defaults)
loads without torch, e.g. for a node's ``--help``.
"""

from __future__ import annotations

import importlib
from typing import Any

from sqgan_ros.video.policy import ReferenceChoice, ReferencePolicy, VideoConfig
from sqgan_ros.video.state import BranchState, ReferenceHistory, ReferenceState, frame_distance

_CODEC_NAMES = frozenset({"AckInfo", "CodedFrame", "ReferenceMissingError", "VideoDecoder",
                          "VideoEncodeStats", "VideoEncoder", "VideoReceiver", "VideoTransmitter"})

__all__ = ["AckInfo", "BranchState", "CodedFrame", "ReferenceChoice", "ReferenceHistory",
           "ReferenceMissingError", "ReferencePolicy", "ReferenceState", "VideoConfig",
           "VideoDecoder", "VideoEncodeStats", "VideoEncoder", "VideoReceiver",
           "VideoTransmitter", "frame_distance"]


def __getattr__(name: str) -> Any:
    if name in _CODEC_NAMES:
        return getattr(importlib.import_module("sqgan_ros.video.codec"), name)
    raise AttributeError(f"module 'sqgan_ros.video' has no attribute {name!r}")
