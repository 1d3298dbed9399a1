"""Video coding at the symbol level: INTER updates, references, loss, late joiners, bits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sqgan_ros.bitstream import EntropyPriors, FrameHeader, FrameType, decode_frame, encode_frame
from sqgan_ros.bitstream.symbols import BranchSymbols, FrameSymbols
from sqgan_ros.codec.model import BranchAnalysis, FrameAnalysis, KeepRatios
from sqgan_ros.codec.samm import select_latents
from sqgan_ros.video import ReferenceMissingError, ReferenceState, VideoConfig, VideoReceiver, VideoTransmitter
from sqgan_ros.video.selection import priority_order, refresh_window

GRID = (4, 8)
N = GRID[0] * GRID[1]
CODEBOOK = 16
PRIORS = EntropyPriors.uniform({"semantic": CODEBOOK, "image": CODEBOOK})
MODEL_ID = b"\x01" * 8


class Scene:
    """A latent 'scene': per-branch indices that change at a few positions per step."""

    def __init__(self, seed: int, changes: int = 2) -> None:
        self.rng = np.random.default_rng(seed)
        self.changes = changes
        self.indices = {b: self.rng.integers(0, CODEBOOK, N) for b in ("semantic", "image")}
        self.scores = {b: self.rng.random(N) for b in ("semantic", "image")}

    def step(self) -> FrameAnalysis:
        for b in self.indices:
            where = self.rng.choice(N, self.changes, replace=False)
            self.indices[b][where] = self.rng.integers(0, CODEBOOK, self.changes)
        return self.analysis()

    def analysis(self) -> FrameAnalysis:
        def one(b: str) -> BranchAnalysis:
            fractions = torch.zeros(1, 20, N)
            fractions[0, 19] = 1.0
            return BranchAnalysis(torch.tensor(self.scores[b], dtype=torch.float32)[None],
                                  torch.tensor(self.indices[b])[None], fractions, GRID)
        return FrameAnalysis(one("semantic"), one("image"))


def wire(coded) -> tuple[FrameHeader, object]:
    header = FrameHeader(model_id=MODEL_ID, image_size=(32, 64), model_size=(32, 64),
                         frame_type=coded.frame_type, frame_id=coded.frame_id,
                         reference_id=coded.reference_id)
    return decode_frame(encode_frame(header, coded.symbols, PRIORS), PRIORS)


def test_inter_update_round_trip_is_exact_in_symbols() -> None:
    scene = Scene(0)
    tx = VideoTransmitter(VideoConfig(change_threshold=0.0, refresh_fraction=0.0, scene_cut_fraction=1.0),
                          first_frame_id=7)
    rx = VideoReceiver()
    for i in range(6):
        coded = tx.code(scene.step(), KeepRatios.both(0.25))
        assert coded.frame_type == (FrameType.INTRA if i == 0 else FrameType.INTER)
        header, symbols = wire(coded)
        assert header.reference_id == coded.reference_id
        assert symbols == coded.symbols
        state = rx.accept(header, symbols)
        assert state.semantic == coded.state.semantic and state.image == coded.state.image
        # Every latent the decoder holds that an INTRA frame would keep is exact now.
        target = select_latents(scene.analysis().image.scores, 8)[0].numpy()
        held = state.image.known & target
        assert np.array_equal(state.image.indices[held], scene.indices["image"][held])


def test_inter_sends_only_changed_latents_in_priority_order() -> None:
    scene = Scene(1, changes=0)
    tx = VideoTransmitter(VideoConfig(change_threshold=0.0, refresh_fraction=0.0, scene_cut_fraction=1.0),
                          first_frame_id=0)
    tx.code(scene.analysis(), KeepRatios.both(0.5))
    assert tx.code(scene.analysis(), KeepRatios.both(0.5)).symbols.image.k == 0
    order = priority_order(torch.tensor(scene.scores["image"])).numpy()
    changed = order[[0, 1, 2, 20]]  # three targeted latents and one the decoder never held
    scene.indices["image"][changed] = (scene.indices["image"][changed] + 1) % CODEBOOK
    coded = tx.code(scene.analysis(), KeepRatios(0.5, 2 / N))
    assert coded.symbols.image.k == 2
    assert set(coded.symbols.image.positions) == set(order[:2])
    tx.acknowledge(coded.frame_id)
    coded = tx.code(scene.analysis(), KeepRatios.both(0.5))
    assert coded.reference_id == coded.frame_id - 1
    assert set(coded.symbols.image.positions) == {order[2]}  # order[20]: unknown, untargeted
    # Frame 3 is not acknowledged: frame 4 still predicts from 2 and resends its update.
    coded = tx.code(scene.analysis(), KeepRatios.both(0.5))
    assert coded.reference_id == 2 and set(coded.symbols.image.positions) == {order[2]}
    # Without any acknowledgement the encoder predicts from the INTRA frame.
    tx2 = VideoTransmitter(VideoConfig(change_threshold=0.0, refresh_fraction=0.0, scene_cut_fraction=1.0),
                           first_frame_id=0)
    tx2.code(Scene(1, changes=0).analysis(), KeepRatios.both(0.5))
    coded = tx2.code(scene.analysis(), KeepRatios.both(0.5))
    assert coded.reference_id == 0 and set(coded.symbols.image.positions) == set(order[:3])


def test_class_weights_refresh_weighted_classes_first() -> None:
    scene = Scene(2, changes=0)
    tx = VideoTransmitter(VideoConfig(change_threshold=0.0, refresh_fraction=0.0, scene_cut_fraction=1.0),
                          first_frame_id=0)
    tx.code(scene.analysis(), KeepRatios.both(1.0))
    ana = scene.analysis()
    person = 11  # sqgan_ros.labels: person
    fractions = torch.zeros(1, 20, N)
    fractions[0, 19] = 1.0
    fractions[0, 19, 5], fractions[0, person, 5] = 0.0, 1.0
    scene.indices["image"][:] = (scene.indices["image"] + 1) % CODEBOOK  # everything changed
    ana = scene.analysis()
    image = BranchAnalysis(ana.image.scores, ana.image.indices, fractions, GRID)
    weights = torch.ones(20)
    weights[person] = 10.0
    coded = tx.code(FrameAnalysis(ana.semantic, image), KeepRatios.both(1 / N), weights)
    assert list(coded.symbols.image.positions) == [5]


def test_static_scene_inter_bits_far_below_intra() -> None:
    scene = Scene(3, changes=0)
    tx = VideoTransmitter(VideoConfig(change_threshold=0.0, refresh_fraction=0.02), first_frame_id=0)
    empty = BranchSymbols(GRID, [], [])
    payload_bytes = []
    for _ in range(6):
        coded = tx.code(scene.analysis(), KeepRatios.both(0.25))
        header = FrameHeader(model_id=MODEL_ID, image_size=(32, 64), model_size=(32, 64),
                             frame_type=coded.frame_type, frame_id=coded.frame_id,
                             reference_id=coded.reference_id)
        overhead = len(encode_frame(header, FrameSymbols(empty, empty), PRIORS))
        payload_bytes.append(len(encode_frame(header, coded.symbols, PRIORS)) - overhead)
    intra, inter = payload_bytes[0], max(payload_bytes[1:])
    assert intra >= 8 and inter * 4 <= intra, payload_bytes


def test_rolling_refresh_windows_cover_the_grid() -> None:
    fraction = 0.1
    period = math.ceil(1 / fraction)
    covered = np.zeros(N, dtype=bool)
    for counter in range(5, 5 + period):
        covered |= refresh_window(N, fraction, counter)
    assert covered.all()
    assert not refresh_window(N, 0.0, 3).any()


@pytest.mark.parametrize("feedback", [False, True])
def test_late_joiner_gets_a_full_picture_within_the_refresh_bound(feedback: bool) -> None:
    interval, fraction = 10, 0.1
    scene = Scene(4, changes=1)
    cfg = VideoConfig(change_threshold=0.0, intra_interval=interval, refresh_fraction=fraction, feedback=feedback,
                      max_reference_age=5, history=8, scene_cut_fraction=1.0)
    tx = VideoTransmitter(cfg, first_frame_id=2**32 - 3)  # also crosses the uint32 wrap
    first_rx = VideoReceiver(8)
    for _ in range(13):  # the first receiver acknowledges everything
        coded = tx.code(scene.step(), KeepRatios.both(0.25))
        first_rx.accept(*wire(coded))
        tx.acknowledge(first_rx.ack().last_decoded_frame_id)
    late = VideoReceiver(8)  # joins now; the first receiver leaves (acks stop)
    first_decoded = complete_at = None
    bound = interval + math.ceil(1 / fraction) + 1
    for t in range(bound):
        coded = tx.code(scene.step(), KeepRatios.both(0.25))
        try:
            state = late.accept(*wire(coded))
        except ReferenceMissingError:
            assert first_decoded is None, "once in sync, every frame must decode"
            continue
        if feedback:
            tx.acknowledge(late.ack().last_decoded_frame_id)
        first_decoded = t if first_decoded is None else first_decoded
        assert state.semantic == coded.state.semantic and state.image == coded.state.image
        if state.complete and complete_at is None:
            complete_at = t
    # In sync (the encoder's intended state) within the INTRA interval...
    assert first_decoded is not None and first_decoded <= interval
    if feedback:  # ...and, with references chained by acks, every latent known one refresh later.
        assert complete_at is not None and complete_at - first_decoded <= math.ceil(1 / fraction)


def test_one_way_stream_decodes_under_loss_and_never_references_unconfirmed_inter() -> None:
    scene = Scene(5)
    tx = VideoTransmitter(VideoConfig(change_threshold=0.0, intra_interval=5, feedback=False, scene_cut_fraction=1.0),
                          first_frame_id=0)
    rx = VideoReceiver()
    decoded = 0
    for t in range(30):
        coded = tx.code(scene.step(), KeepRatios.both(0.25))
        if coded.frame_type == FrameType.INTER:
            assert tx.history.get(coded.reference_id).intra
        if t % 3 == 1:  # lose every third frame, INTRA frames included
            continue
        try:
            state = rx.accept(*wire(coded))
        except ReferenceMissingError:
            continue
        decoded += 1
        assert state.image == coded.state.image
    # Exactly the received frames whose INTRA (every 5th frame) was received decode.
    assert decoded == sum(1 for t in range(30) if t % 3 != 1 and (t - t % 5) % 3 != 1)


def test_decoder_refuses_unknown_reference_then_recovers() -> None:
    scene = Scene(6)
    tx = VideoTransmitter(VideoConfig(change_threshold=0.0, scene_cut_fraction=1.0), first_frame_id=100)
    rx = VideoReceiver()
    intra = tx.code(scene.step(), KeepRatios.both(0.25))
    inter = tx.code(scene.step(), KeepRatios.both(0.25))
    with pytest.raises(ReferenceMissingError) as info:
        rx.accept(*wire(inter))
    assert (info.value.frame_id, info.value.reference_id) == (101, 100)
    assert rx.ack() is None and rx.refused == 1
    rx.accept(*wire(intra))
    rx.accept(*wire(inter))
    assert rx.ack().last_decoded_frame_id == 101


def test_stale_acknowledgements_trigger_a_resync_intra() -> None:
    scene = Scene(7)
    tx = VideoTransmitter(VideoConfig(change_threshold=0.0, intra_interval=0, max_reference_age=4, history=8,
                                      scene_cut_fraction=1.0), first_frame_id=0)
    tx.code(scene.step(), KeepRatios.both(0.25))
    tx.acknowledge(0)
    reasons = [tx.code(scene.step(), KeepRatios.both(0.25)).reason for _ in range(10)]
    assert reasons[:4] == ["ack"] * 4
    assert reasons[4] == "resync"
    assert reasons[5:9] == ["intra"] * 4 and reasons[9] == "resync"


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**16), loss=st.floats(0.0, 0.6), feedback=st.booleans(),
       delay=st.integers(0, 3), shuffle=st.integers(0, 3))
def test_decoder_state_matches_encoder_under_loss_and_reordering(
        seed: int, loss: float, feedback: bool, delay: int, shuffle: int) -> None:
    rng = np.random.default_rng(seed)
    scene = Scene(seed, changes=int(rng.integers(0, 6)))
    cfg = VideoConfig(change_threshold=0.0, intra_interval=int(rng.integers(3, 12)), refresh_fraction=0.05,
                      feedback=feedback, max_reference_age=6, history=8,
                      scene_cut_fraction=float(rng.choice([0.1, 1.0])))
    tx = VideoTransmitter(cfg, first_frame_id=int(rng.integers(0, 2**32)))
    rx = VideoReceiver(8)
    intended: dict[int, ReferenceState] = {}
    in_flight: list[tuple] = []
    acks: list[tuple[int, int]] = []
    accepted = 0
    for t in range(40):
        for _due, frame_id in [a for a in acks if a[0] <= t]:
            tx.acknowledge(frame_id)
        acks = [a for a in acks if a[0] > t]
        coded = tx.code(scene.step(), KeepRatios.both(float(rng.uniform(0.05, 0.5))))
        intended[coded.frame_id] = coded.state
        if rng.random() >= loss:
            in_flight.append(wire(coded))
        if shuffle and len(in_flight) > 1:  # reorder the frames still in flight
            tail = in_flight[-1 - shuffle:]
            in_flight[-1 - shuffle:] = [tail[i] for i in rng.permutation(len(tail))]
        while len(in_flight) > shuffle:
            header, symbols = in_flight.pop(0)
            try:
                state = rx.accept(header, symbols)
            except ReferenceMissingError:
                continue
            accepted += 1
            want = intended[header.frame_id]
            assert state.semantic == want.semantic and state.image == want.image
            acks.append((t + delay, rx.ack().last_decoded_frame_id))
    assert accepted > 0 or loss > 0.3
    assert rx.refused + accepted <= 40


def _one_cell_reference(index: int) -> ReferenceState:
    symbols = BranchSymbols((1, 2), np.array([0, 1]), np.array([index, index]))
    return ReferenceState.from_intra(0, FrameSymbols(symbols, symbols)).branch("image")


def test_a_latent_flipping_between_two_codewords_is_not_stale_but_a_moved_one_is() -> None:
    from sqgan_ros.video.selection import stale_latents
    book = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])  # RMS norm ~4.1
    reference = _one_cell_reference(0)
    # cell 0: z sits between codewords 0 and 1 and now rounds to 1 (noise); cell 1: z moved to 2
    latents = torch.tensor([[0.55, 0.0], [5.0, 4.8]])
    current = np.array([1, 2])
    assert stale_latents(current, reference).tolist() == [True, True]  # any index change
    assert stale_latents(current, reference, book, 0.2, latents).tolist() == [False, True]
    # without the latents only the codewords count: 0 and 1 are 1.0 > 0.2 * RMS apart
    assert stale_latents(current, reference, book, 0.2).tolist() == [True, True]
    on_codeword = torch.tensor([[1.0, 0.0], [5.0, 4.8]])  # cell 0: z right on codeword 1
    assert stale_latents(current, reference, book, 0.2, on_codeword).tolist() == [True, True]
    with pytest.raises(ValueError, match="latents must have shape"):
        stale_latents(current, reference, book, 0.2, latents[:1])


def test_default_video_config_skips_by_distance_and_needs_the_codebooks() -> None:
    assert VideoConfig().change_threshold > 0
    with pytest.raises(ValueError, match="needs the codebooks"):
        VideoTransmitter(VideoConfig(), first_frame_id=0)
