"""Wire format of sqgan_ros: header, entropy-coded positions and indices, CRC-32.

Public API (see ``docs/CONTRACTS.md``)::

    encode_frame(header, symbols, priors) -> bytes
    decode_frame(data, priors, expected_model_id=None) -> (FrameHeader, FrameSymbols)
    peek_header(data) -> FrameHeader
    EntropyPriors.uniform(codebook_sizes) / .from_dict(...)   (fitting: sqgan_ros.codec.prior_fitting)
    fixed_length_bits(symbols, codebook_sizes) -> int   (the paper's count)
    StreamWriter(path, fps).write(frame) / StreamReader(path) -> fps, frames   (.sqgs files)

Fit the priors on the training set's symbols after training
(``sqgan_ros.codec.prior_fitting.fit_priors``) and save them with the model. This package never imports torch or rclpy.
"""

from sqgan_ros.bitstream.errors import BitstreamError
from sqgan_ros.bitstream.fixed_length import fixed_length_bits, index_width
from sqgan_ros.bitstream.frame import CHECKSUM_BYTES, decode_frame, encode_frame, peek_header
from sqgan_ros.bitstream.header import MAX_IMAGE_SIDE, MODEL_ID_BYTES, VERSION, Coding, FrameHeader, FrameType
from sqgan_ros.bitstream.priors import MAX_CODEBOOK_SIZE, BranchPriors, EntropyPriors
from sqgan_ros.bitstream.stream_file import StreamReader, StreamWriter
from sqgan_ros.bitstream.symbols import BRANCHES, MAX_GRID_CELLS, BranchSymbols, FrameSymbols

__all__ = [
    "BRANCHES", "CHECKSUM_BYTES", "MAX_CODEBOOK_SIZE", "MAX_GRID_CELLS", "MAX_IMAGE_SIDE",
    "MODEL_ID_BYTES", "VERSION", "BitstreamError", "BranchPriors", "BranchSymbols", "Coding",
    "EntropyPriors", "FrameHeader", "FrameSymbols", "FrameType", "StreamReader", "StreamWriter", "decode_frame",
    "encode_frame", "fixed_length_bits", "index_width", "peek_header",
]
