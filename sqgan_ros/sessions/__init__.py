"""Encoder and decoder sessions: the nodes' per-frame policy as plain Python (no rclpy).

::

    ros/encoder_node.py  --messages-->  EncoderSession  --numpy/bytes-->  api / video / rate_control
    ros/decoder_node.py  --messages-->  DecoderSession  --bytes/numpy-->  video.VideoDecoder

* :mod:`~sqgan_ros.sessions.settings` — the one table of settings (defaults, ranges,
  descriptions) that ROS parameters, ``--help`` and ``config/teleop.yaml`` are built/checked from.
* :mod:`~sqgan_ros.sessions.encoder` — stamp matching, pause/resume, INTRA policy, rate control.
* :mod:`~sqgan_ros.sessions.decoder` — screening through the API, output size, ids, stats.
* :mod:`~sqgan_ros.sessions.stats`, :mod:`~sqgan_ros.sessions.stamps`,
  :mod:`~sqgan_ros.sessions.mailbox`, :mod:`~sqgan_ros.sessions.runtime` — their parts.
"""

from sqgan_ros.sessions.decoder import Decoded, DecoderSession, DecoderStats, Refused
from sqgan_ros.sessions.encoder import CameraFrame, EncodedFrame, EncoderSession, EncoderStats
from sqgan_ros.sessions.settings import DecoderSettings, EncoderSettings, ModelSettings, ParamSpec

__all__ = ["CameraFrame", "Decoded", "DecoderSession", "DecoderSettings", "DecoderStats",
           "EncodedFrame", "EncoderSession", "EncoderSettings", "EncoderStats", "ModelSettings",
           "ParamSpec", "Refused"]
