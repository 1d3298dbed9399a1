"""What the link pays for one DDS sample: IP-level bytes from its serialised (CDR) size. No ROS.

One best-effort sample sent to one remote reader (Fast DDS over UDPv4, as measured on the
two-namespace link harness, docs/evaluation/link/)::

    IP 20 | UDP 8 | RTPS header 20 | INFO_DST 16 | INFO_TS 12 | DATA 24 | payload | vendor 60
                                                                           ^ CDR incl. the 4 B
                                                                             encapsulation, padded to 4

The trailing 60 B is a vendor-specific submessage (id 0x80) that the Fast DDS of the ROS 2
Kilted wheels appends to every datagram (seen on every datagram the harness captured).
A sample larger than one datagram is sent as DATA_FRAG submessages (36 B header each), and a
UDP datagram larger than the MTU leaves as IP fragments, each with its own 20 B IP header.
A reliable writer adds HEARTBEATs (one 156 B datagram each) and the reader answers with
ACKNACKs (152 B each, on the reverse path); how many per sample depends on the QoS and the
send rate, so it is a parameter (Fast DDS sends about one of each per sample at low rates).

Use :func:`sample_link_cost` for one sample and :func:`stream_kbps` for a frame stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Overhead", "SampleCost", "sample_link_cost", "stream_kbps", "periodic_kbps", "FASTDDS_UDPV4"]


@dataclass(frozen=True)
class Overhead:
    """Header sizes in bytes (defaults: Fast DDS 3 over UDPv4, MTU 1500).

    Args:
        ip: IPv4 header per IP packet (fragment).
        udp: UDP header per datagram.
        rtps: RTPS message header.
        info_dst: INFO_DST submessage (unicast to one participant).
        info_ts: INFO_TS submessage (source timestamp).
        data: DATA submessage header (4 + extraFlags, octetsToInlineQos, ids, sequence number).
        data_frag: DATA_FRAG submessage header.
        vendor: vendor-specific submessage appended to each datagram.
        heartbeat_datagram: one HEARTBEAT datagram at IP level (reliable writers).
        acknack_datagram: one ACKNACK datagram at IP level (reverse path, reliable readers).
        mtu: link MTU (IP fragments carry ``mtu - ip`` bytes, a multiple of 8).
        max_datagram: largest RTPS message the transport sends (Fast DDS UDPv4: 65500).
    """

    ip: int = 20
    udp: int = 8
    rtps: int = 20
    info_dst: int = 16
    info_ts: int = 12
    data: int = 24
    data_frag: int = 36
    vendor: int = 60
    heartbeat_datagram: int = 156
    acknack_datagram: int = 152
    mtu: int = 1500
    max_datagram: int = 65500

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"Overhead.{name} must be an integer >= 0, got {value!r}")
        if self.mtu <= self.ip + self.udp:
            raise ValueError(f"mtu {self.mtu} leaves no room for data")


FASTDDS_UDPV4 = Overhead()


@dataclass(frozen=True)
class SampleCost:
    """IP-level cost of one sample.

    Attributes:
        forward_bytes: bytes on the writer -> reader direction (data, heartbeats).
        reverse_bytes: bytes on the reader -> writer direction (acknacks).
        datagrams: UDP datagrams of the data itself.
        ip_packets: IP packets of the data itself (fragments counted).
    """

    forward_bytes: int
    reverse_bytes: int
    datagrams: int
    ip_packets: int


def _ip_bytes(udp_payload: int, o: Overhead) -> tuple[int, int]:
    """IP bytes and packets of one UDP datagram with ``udp_payload`` bytes."""
    ip_data = udp_payload + o.udp
    per_fragment = ((o.mtu - o.ip) // 8) * 8
    packets = max(1, math.ceil(ip_data / per_fragment))
    return ip_data + packets * o.ip, packets


def sample_link_cost(serialized_bytes: int, *, reliable: bool = False, readers: int = 1,
                     heartbeats_per_sample: float = 1.0, acknacks_per_sample: float = 1.0,
                     overhead: Overhead = FASTDDS_UDPV4) -> SampleCost:
    """IP-level bytes one published sample costs the link.

    Args:
        serialized_bytes: serialised size of the message as DDS sends it: CDR including the
            4-byte encapsulation header (``len(rclpy.serialization.serialize_message(msg))``).
        reliable: reliable QoS (adds heartbeats and acknacks).
        readers: remote reader participants across the link (each gets its own unicast copy).
        heartbeats_per_sample: HEARTBEAT datagrams per sample per reader (reliable only).
        acknacks_per_sample: ACKNACK datagrams per sample per reader (reliable only).
        overhead: header sizes.

    Returns:
        The cost; multiply by the sample rate for a bit rate (or use :func:`stream_kbps`).

    Raises:
        ValueError: negative or non-integer size, readers < 0, negative per-sample counts.
    """
    if isinstance(serialized_bytes, bool) or not isinstance(serialized_bytes, int) \
            or serialized_bytes < 0:
        raise ValueError(f"serialized_bytes must be an integer >= 0, got {serialized_bytes!r}")
    if isinstance(readers, bool) or not isinstance(readers, int) or readers < 0:
        raise ValueError(f"readers must be an integer >= 0, got {readers!r}")
    if heartbeats_per_sample < 0 or acknacks_per_sample < 0:
        raise ValueError("heartbeats_per_sample and acknacks_per_sample must be >= 0")
    o = overhead
    payload = (serialized_bytes + 3) // 4 * 4
    per_message = o.rtps + o.info_dst + o.info_ts + o.vendor
    if per_message + o.data + payload <= o.max_datagram:
        nbytes, packets = _ip_bytes(per_message + o.data + payload, o)
        datagrams = 1
    else:
        room = o.max_datagram - per_message - o.data_frag
        datagrams = math.ceil(payload / room)
        nbytes = packets = 0
        for i in range(datagrams):
            chunk = min(room, payload - i * room)
            b, p = _ip_bytes(per_message + o.data_frag + chunk, o)
            nbytes, packets = nbytes + b, packets + p
    forward = nbytes * readers
    reverse = 0
    if reliable:
        forward += round(o.heartbeat_datagram * heartbeats_per_sample * readers)
        reverse = round(o.acknack_datagram * acknacks_per_sample * readers)
    return SampleCost(forward_bytes=forward, reverse_bytes=reverse, datagrams=datagrams,
                      ip_packets=packets)


def stream_kbps(serialized_bytes: float, fps: float, **kwargs: object) -> float:
    """Forward kbit/s (1000 bit/s) of a stream of samples of mean size ``serialized_bytes``.

    Args:
        serialized_bytes: mean serialised sample size (rounded to whole bytes).
        fps: samples per second (>= 0).
        kwargs: passed to :func:`sample_link_cost`.
    """
    if not fps >= 0:
        raise ValueError(f"fps must be >= 0, got {fps!r}")
    cost = sample_link_cost(int(round(serialized_bytes)), **kwargs)  # type: ignore[arg-type]
    return 8.0 * cost.forward_bytes * fps / 1000.0


def periodic_kbps(serialized_bytes: int, period_s: float, *, readers: int = 1, reliable: bool = True) -> float:
    """Link kbit/s of one sample of ``serialized_bytes`` sent every ``period_s`` to ``readers``.

    What the encoder keeps off its frame budget for a stats summary or a periodic camera info;
    0 when nothing is sent (no readers, no sample yet, or ``period_s`` <= 0: on change only).
    """
    if readers <= 0 or serialized_bytes <= 0 or period_s <= 0:
        return 0.0
    cost = sample_link_cost(int(serialized_bytes), reliable=reliable, readers=int(readers))
    return 8.0 * cost.forward_bytes / float(period_s) / 1000.0
