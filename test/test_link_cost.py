"""sqgan_ros.link_cost: IP-level bytes of a DDS sample from its serialised size."""

import pytest

from sqgan_ros.link_cost import FASTDDS_UDPV4, Overhead, sample_link_cost, stream_kbps


def test_best_effort_sample_matches_the_captured_layout():
    # captured on the link harness: a 416 B serialised SemanticFrame left as a 576 B IP packet
    # and a 156 B CodecStats as 316 B (IP 20, UDP 8, RTPS 20, INFO_DST 16, INFO_TS 12, DATA 24,
    # vendor submessage 60)
    assert sample_link_cost(416).forward_bytes == 576
    assert sample_link_cost(156).forward_bytes == 316
    cost = sample_link_cost(416)
    assert (cost.reverse_bytes, cost.datagrams, cost.ip_packets) == (0, 1, 1)


def test_payload_is_padded_to_four_bytes():
    assert sample_link_cost(413).forward_bytes == sample_link_cost(416).forward_bytes
    assert sample_link_cost(417).forward_bytes == sample_link_cost(416).forward_bytes + 4


def test_ip_fragmentation_adds_one_ip_header_per_fragment():
    # 1500 B MTU: 1480 B of UDP datagram per fragment
    udp_payload = 20 + 16 + 12 + 60 + 24 + 2000
    cost = sample_link_cost(2000)
    assert cost.ip_packets == 2
    assert cost.forward_bytes == udp_payload + 8 + 2 * 20


def test_data_frag_above_max_datagram():
    o = FASTDDS_UDPV4
    big = 200_000
    cost = sample_link_cost(big)
    room = o.max_datagram - (o.rtps + o.info_dst + o.info_ts + o.vendor) - o.data_frag
    assert cost.datagrams == -(-big // room) == 4
    assert cost.forward_bytes > big + cost.datagrams * (o.rtps + o.data_frag + o.udp)


def test_reliable_adds_heartbeats_forward_and_acknacks_back():
    be, rel = sample_link_cost(300), sample_link_cost(300, reliable=True)
    assert rel.forward_bytes == be.forward_bytes + 156
    assert rel.reverse_bytes == 152
    coalesced = sample_link_cost(300, reliable=True, heartbeats_per_sample=0.1,
                                 acknacks_per_sample=0.1)
    assert coalesced.forward_bytes == be.forward_bytes + 16 and coalesced.reverse_bytes == 15


def test_each_remote_reader_pays_its_own_copy():
    assert sample_link_cost(300, readers=2).forward_bytes == 2 * sample_link_cost(300).forward_bytes
    assert sample_link_cost(300, readers=0).forward_bytes == 0


def test_stream_kbps():
    assert stream_kbps(416, 10.0) == pytest.approx(576 * 8 * 10 / 1000)
    assert stream_kbps(416, 0.0) == 0.0


@pytest.mark.parametrize("kwargs", [{"serialized_bytes": -1}, {"serialized_bytes": 1.5},
                                    {"serialized_bytes": True}, {"serialized_bytes": 10, "readers": -1},
                                    {"serialized_bytes": 10, "heartbeats_per_sample": -1.0}])
def test_bad_input_is_a_clear_error(kwargs):
    with pytest.raises(ValueError):
        sample_link_cost(**kwargs)


def test_bad_overhead_and_fps():
    with pytest.raises(ValueError, match="mtu"):
        Overhead(mtu=20)
    with pytest.raises(ValueError, match="ip"):
        Overhead(ip=-1)
    with pytest.raises(ValueError, match="fps"):
        stream_kbps(100, -1.0)


def test_periodic_kbps_is_the_sample_cost_over_its_period() -> None:
    from sqgan_ros.link_cost import periodic_kbps, sample_link_cost

    cost = sample_link_cost(300, reliable=True, readers=2)
    assert periodic_kbps(300, 1.0, readers=2) == pytest.approx(8.0 * cost.forward_bytes / 1000.0)
    assert periodic_kbps(300, 2.0, readers=2) == pytest.approx(periodic_kbps(300, 1.0, readers=2) / 2)
    assert periodic_kbps(300, 1.0, readers=0) == 0.0  # nobody listens: nothing crosses
    assert periodic_kbps(0, 1.0) == 0.0 and periodic_kbps(300, 0.0) == 0.0  # no sample yet / on change only
