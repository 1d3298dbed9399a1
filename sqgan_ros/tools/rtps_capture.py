"""Count the link's IP bytes by what they carry: frames, stats, acks, discovery (RTPS parsing).

::

    AF_PACKET socket on one veth end (both directions)
      -> IPv4 (fragments reassembled) -> UDP -> RTPS datagram -> submessages
      -> each submessage's entity: builtin (SPDP/SEDP/liveliness/type lookup) = discovery,
         user writer/reader -> its topic, learnt from the SEDP announcements on the same link
      -> bytes per (direction, category, submessage kind), per second

Attribution: a datagram's IP, UDP and RTPS headers and its INFO_TS/INFO_DST submessages are
counted with the first submessage that names an entity (DATA, DATA_FRAG, HEARTBEAT, ACKNACK,
GAP, ...); later submessages count their own bytes (a HEARTBEAT piggybacked on a DATA counts
as ``heartbeat`` of that topic). User topics map to categories by name (``frame``, ``stats``,
``ack``, ``camera_info``, else ``other:<topic>``); an entity never announced on the link is
``unknown``. Runs without ROS; the harness starts it inside the operator namespace.

Run: ``python -m sqgan_ros.tools.rtps_capture --iface IF --out capture.json`` (root; SIGINT or
SIGTERM writes the JSON and exits).
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import struct
import sys
import time
from collections import defaultdict
from typing import Any

__all__ = ["RtpsClassifier", "topic_category", "main"]

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
# submessage ids (RTPS 2.x)
PAD, ACKNACK, HEARTBEAT, GAP, INFO_TS, INFO_SRC, INFO_DST = 0x01, 0x06, 0x07, 0x08, 0x09, 0x0C, 0x0E
NACK_FRAG, HEARTBEAT_FRAG, DATA, DATA_FRAG = 0x12, 0x13, 0x15, 0x16
KIND_NAMES = {ACKNACK: "acknack", HEARTBEAT: "heartbeat", GAP: "gap", NACK_FRAG: "nack_frag",
              HEARTBEAT_FRAG: "heartbeat_frag", DATA: "data", DATA_FRAG: "data_frag"}
SEDP_PUB_WRITER, SEDP_SUB_WRITER = 0x000003C2, 0x000004C2
PID_SENTINEL, PID_TOPIC_NAME, PID_ENDPOINT_GUID = 0x0001, 0x0005, 0x005A


def topic_category(topic: str) -> str:
    """Category of a DDS topic name (``rt/robot/sqgan/frame`` -> ``frame``)."""
    leaf = topic.rsplit("/", 1)[-1]
    if leaf.startswith("frame"):
        return "frame"
    if leaf.endswith("_stats"):
        return "stats"
    if leaf == "ack":
        return "ack"
    if leaf.startswith("camera_info"):
        return "camera_info"
    if leaf == "ros_discovery_info":
        return "ros_graph"  # rmw's graph cache: discovery traffic at the ROS level
    return f"other:{topic}"


def _parameters(buf: bytes, little: bool) -> dict[int, bytes]:
    """A PL_CDR parameter list (stops at the sentinel or the end)."""
    out: dict[int, bytes] = {}
    fmt = "<HH" if little else ">HH"
    pos = 0
    while pos + 4 <= len(buf):
        pid, length = struct.unpack_from(fmt, buf, pos)
        pos += 4
        if pid == PID_SENTINEL:
            break
        out.setdefault(pid & 0x3FFF, buf[pos:pos + length])
        pos += length
    return out


class RtpsClassifier:
    """Classify UDP payloads (RTPS datagrams) and sum their IP bytes.

    Args:
        start: time origin of the per-second series.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.start = start
        self.topics: dict[bytes, str] = {}  # 16-byte GUID -> topic name
        self.bytes: dict[str, dict[str, int]] = {"r2o": defaultdict(int), "o2r": defaultdict(int)}
        self.packets: dict[str, int] = defaultdict(int)
        self.series: dict[str, dict[int, dict[str, int]]] = {"r2o": {}, "o2r": {}}
        self.samples: dict[str, list[int]] = defaultdict(list)  # category -> datagram IP bytes
        self.payload_sizes: dict[str, list[int]] = defaultdict(list)  # category -> serialized size
        self.layouts: dict[str, list[list[Any]]] = {}  # category -> first datagram's submessages

    def _add(self, direction: str, key: str, n: int, t: float) -> None:
        self.bytes[direction][key] += n
        sec = int(t - self.start)
        bucket = self.series[direction].setdefault(sec, defaultdict(int))
        bucket[key.split("/")[0]] += n

    def _entity_category(self, prefix: bytes, entity: bytes) -> str:
        if entity[3] & 0xC0 == 0xC0:
            return "discovery"
        topic = self.topics.get(prefix + entity)
        return topic_category(topic) if topic else "unknown"

    def _learn_sedp(self, body: bytes, little: bool, payload_at: int) -> None:
        payload = body[payload_at:]
        if len(payload) < 4:
            return
        scheme = payload[1] | (payload[0] << 8)
        params = _parameters(payload[4:], little=scheme in (0x0003, 0x0001))
        guid, name = params.get(PID_ENDPOINT_GUID), params.get(PID_TOPIC_NAME)
        if guid is None or name is None or len(guid) != 16 or len(name) < 4:
            return
        n = struct.unpack_from("<I" if scheme in (0x0003, 0x0001) else ">I", name, 0)[0]
        self.topics[guid] = name[4:4 + n].rstrip(b"\0").decode("utf-8", "replace")

    def datagram(self, direction: str, udp_payload: bytes, ip_bytes: int, t: float) -> None:
        """One UDP datagram (``ip_bytes``: all its IP packets' lengths, headers included)."""
        self.packets[direction] += 1
        if len(udp_payload) < 20 or udp_payload[:4] != b"RTPS":
            self._add(direction, "non_rtps", ip_bytes, t)
            return
        src_prefix = udp_payload[8:20]
        pos, carried, first = 20, ip_bytes - (len(udp_payload) - 20), True
        parts: list[tuple[str, int]] = []
        layout: list[list[Any]] = []
        while pos + 4 <= len(udp_payload):
            sub_id, flags = udp_payload[pos], udp_payload[pos + 1]
            little = bool(flags & 1)
            length = struct.unpack_from("<H" if little else ">H", udp_payload, pos + 2)[0]
            end = len(udp_payload) if length == 0 else min(pos + 4 + length, len(udp_payload))
            body, size = udp_payload[pos + 4:end], end - pos
            layout.append([sub_id, flags, size])
            pos = end
            if sub_id not in KIND_NAMES or len(body) < 12:
                carried += size  # INFO_TS / INFO_DST / PAD: counted with the next entity
                continue
            kind = KIND_NAMES[sub_id]
            ids_at = 4 if sub_id in (DATA, DATA_FRAG) else 0  # after extraFlags, octetsToInlineQos
            reader, writer = body[ids_at:ids_at + 4], body[ids_at + 4:ids_at + 8]
            if sub_id in (DATA, DATA_FRAG):
                entity = writer
                if sub_id == DATA and len(body) >= 4:
                    to_qos = struct.unpack_from("<H" if little else ">H", body, 2)[0]
                    at = 4 + to_qos
                    if flags & 0x02:  # inline QoS before the payload
                        at += self._plist_length(body[at:], little)
                    if int.from_bytes(writer, "big") in (SEDP_PUB_WRITER, SEDP_SUB_WRITER):
                        self._learn_sedp(body, little, at)
                    serialized = len(body) - at
                else:
                    serialized = -1
            elif sub_id in (ACKNACK, NACK_FRAG):
                entity = reader  # sent by the reader's participant
            else:
                entity = writer
            category = self._entity_category(src_prefix, entity)
            if sub_id == DATA and category != "discovery":
                self.payload_sizes[category].append(serialized)
            parts.append((f"{category}/{kind}", size + carried))
            carried, first = 0, False
        carried += max(len(udp_payload) - pos, 0)  # a trailing piece shorter than a header
        if first:
            parts.append(("rtps_no_entity", carried))
        elif carried:
            key, n = parts[-1]
            parts[-1] = (key, n + carried)
        for key, n in parts:
            self._add(direction, key, n, t)
        self.samples[parts[0][0].split("/")[0] + f"@{direction}"].append(ip_bytes)
        self.layouts.setdefault(parts[0][0].split("/")[0] + f"@{direction}", layout)

    @staticmethod
    def _plist_length(buf: bytes, little: bool) -> int:
        fmt, pos = ("<HH" if little else ">HH"), 0
        while pos + 4 <= len(buf):
            pid, length = struct.unpack_from(fmt, buf, pos)
            pos += 4 + length
            if pid == PID_SENTINEL:
                break
        return pos

    def summary(self) -> dict[str, Any]:
        """Bytes per direction and ``category/kind``, totals per category, per-second series."""
        out: dict[str, Any] = {"bytes": {}, "by_category": {}, "series": {}, "topics": {},
                               "datagrams": dict(self.packets),
                               "user_serialized_sizes": {k: v for k, v in self.payload_sizes.items()},
                               "datagram_ip_bytes": {k: v for k, v in self.samples.items()},
                               "layouts": self.layouts}
        for d in ("r2o", "o2r"):
            out["bytes"][d] = dict(sorted(self.bytes[d].items()))
            cats: dict[str, int] = defaultdict(int)
            for key, n in self.bytes[d].items():
                cats[key.split("/")[0]] += n
            out["by_category"][d] = dict(sorted(cats.items()))
            out["series"][d] = {str(s): dict(v) for s, v in sorted(self.series[d].items())}
        out["topics"] = sorted(set(self.topics.values()))
        return out


class _Reassembler:
    """IPv4 fragment reassembly, enough for UDP datagrams over a 1500-byte MTU."""

    def __init__(self) -> None:
        self.pending: dict[tuple, dict[str, Any]] = {}
        self.incomplete_bytes = 0

    def push(self, ip: bytes) -> tuple[bytes, int] | None:
        """One IPv4 packet; returns (the datagram's IP payload, IP bytes of all its pieces)."""
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack_from(">H", ip, 2)[0]
        ident, frag = struct.unpack_from(">HH", ip, 4)
        offset, more = (frag & 0x1FFF) * 8, bool(frag & 0x2000)
        data = ip[ihl:total]
        if offset == 0 and not more:
            return data, total
        key = (ip[12:16], ip[16:20], ident, ip[9])
        entry = self.pending.setdefault(key, {"parts": {}, "bytes": 0, "end": None})
        entry["parts"][offset] = data
        entry["bytes"] += total
        if not more:
            entry["end"] = offset + len(data)
        if entry["end"] is not None:
            have = sum(len(p) for p in entry["parts"].values())
            if have >= entry["end"]:
                del self.pending[key]
                joined = b"".join(entry["parts"][o] for o in sorted(entry["parts"]))
                return joined, entry["bytes"]
        return None


def capture(iface: str, out_path: str, duration: float = 0.0) -> dict[str, Any]:
    """Capture on ``iface`` until SIGINT/SIGTERM (or ``duration`` s); write and return the summary."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((iface, 0))
    sock.settimeout(0.2)
    start, wall_start = time.monotonic(), time.time()
    cls, frags = RtpsClassifier(start), _Reassembler()
    other: dict[str, int] = defaultdict(int)
    stop = {"now": False}

    def _stop(*_: Any) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(f"rtps_capture: listening on {iface}", file=sys.stderr, flush=True)
    while not stop["now"] and not (duration and time.monotonic() - start > duration):
        try:
            frame, addr = sock.recvfrom(65535)
        except (TimeoutError, socket.timeout):
            continue
        except InterruptedError:
            continue
        now = time.monotonic()
        direction = "o2r" if addr[2] == PACKET_OUTGOING else "r2o"  # captured on the operator end
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            other[f"{direction}:non_ipv4_l2"] += len(frame)
            continue
        ip = frame[14:]
        got = frags.push(ip)
        if got is None:
            continue
        payload, ip_bytes = got
        if ip[9] != 17 or len(payload) < 8:
            other[f"{direction}:non_udp_ip"] += ip_bytes
            continue
        cls.datagram(direction, payload[8:], ip_bytes, now)
    summary = cls.summary()
    summary["non_ip"] = dict(other)
    summary["incomplete_fragment_bytes"] = sum(e["bytes"] for e in frags.pending.values())
    summary["duration_s"] = time.monotonic() - start
    summary["wall_start"] = wall_start
    with open(out_path, "w") as f:
        json.dump(summary, f)
    return summary


def main(argv: list[str] | None = None) -> int:
    """CLI entry point (see module docstring)."""
    p = argparse.ArgumentParser(prog="python -m sqgan_ros.tools.rtps_capture")
    p.add_argument("--iface", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--duration", type=float, default=0.0)
    a = p.parse_args(argv)
    try:
        capture(a.iface, a.out, a.duration)
    except OSError as exc:
        print(f"rtps_capture: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
