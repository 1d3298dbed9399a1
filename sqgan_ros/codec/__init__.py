"""SQ-GAN codec networks (torch, no ROS): presets, branches, transmitter and receiver.

Pezone, Barbarossa, Caire, "SQ-GAN: Semantic Image Communications Using Masked Vector
Quantization", IEEE TCCN 2025. Modules: ``config`` (presets), ``blocks``/``spade`` (layers),
``encoders``/``decoders``, ``samm`` (adaptive masking + run-time class weights), ``quantizer``
(EMA VQ), ``demasker`` (adaptive de-masker), ``model`` (SQGAN, Transmitter, Receiver),
``model_file`` (safetensors model files with verified ids), ``benchmark`` (a script).

Differences from the public code, on purpose: the semantic positional encoding and all SPADE
conditions take the full 20-channel one-hot (the public code mixed 19 and 20 channels); the
score predictor has no unused attention; the de-masker is batched and its positions are 2-D
sinusoidal, so any latent grid works (training crops and full frames share one model).
"""

from sqgan_ros.codec.config import PRESETS, BranchConfig, ModelConfig, get_config
from sqgan_ros.codec.model import SQGAN, BranchOutput, KeepRatios, Receiver, Transmitter

__all__ = ["PRESETS", "SQGAN", "BranchConfig", "BranchOutput", "KeepRatios", "ModelConfig",
           "Receiver", "Transmitter", "get_config"]
