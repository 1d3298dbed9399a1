"""The single error type raised for any problem found in a received stream."""

from __future__ import annotations


class BitstreamError(ValueError):
    """A stream is truncated, corrupted, foreign, or was made for another model.

    Decoding functions of :mod:`sqgan_ros.bitstream` raise only this type for bad input
    bytes; the message says what is wrong. Encoding functions raise plain ``ValueError`` /
    ``TypeError`` for bad arguments, because those are programming errors, not wire errors.
    """
