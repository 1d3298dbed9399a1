"""Video coding on top of the SQ-GAN image codec (no ROS imports).

INTRA frames are ordinary SQ-GAN frames; INTER frames send, per branch, only the latents that
changed against a reference frame the decoder has acknowledged (or the last INTRA frame), chosen
by SAMM score biased by the run-time class weights under the frame's budget. See
:mod:`sqgan_ros.video.codec` (encoder/decoder), :mod:`sqgan_ros.video.policy` (references,
INTRA refresh) and :mod:`sqgan_ros.video.state` (reference states).
"""

from sqgan_ros.video.codec import (
                                   AckInfo,
                                   CodedFrame,
                                   ReferenceMissingError,
                                   VideoDecoder,
                                   VideoEncoder,
                                   VideoEncodeStats,
                                   VideoReceiver,
                                   VideoTransmitter,
)
from sqgan_ros.video.policy import ReferenceChoice, ReferencePolicy, VideoConfig
from sqgan_ros.video.state import BranchState, ReferenceHistory, ReferenceState, frame_distance

__all__ = ["AckInfo", "BranchState", "CodedFrame", "ReferenceChoice", "ReferenceHistory",
           "ReferenceMissingError", "ReferencePolicy", "ReferenceState", "VideoConfig",
           "VideoDecoder", "VideoEncodeStats", "VideoEncoder", "VideoReceiver",
           "VideoTransmitter", "frame_distance"]
