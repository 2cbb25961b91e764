import pytest

from moeplan.placement import Placement, moves


def test_a_placement_gives_every_expert_a_slot():
    with pytest.raises(ValueError, match=r"experts without a slot: \[3\]"):
        Placement([0, 1, 2, 2], 2, 2, 4)
    with pytest.raises(ValueError, match="slot 1 holds expert 9"):
        Placement([0, 9, 2, 3], 2, 2, 4)
    with pytest.raises(ValueError, match="has 4 slots, got 3"):
        Placement([0, 1, 2], 2, 2, 4)


def test_the_contiguous_layout_puts_experts_in_order_and_replicas_after():
    assert Placement.contiguous(2, 2, 4).slot_to_expert == (0, 1, 2, 3)
    assert Placement.contiguous(2, 3, 4).slot_to_expert == (0, 1, 2, 3, 0, 1)
    assert Placement.contiguous(2, 2, 4).experts_on(1) == [2, 3]


def test_a_swap_moves_both_experts_between_workers():
    before = Placement([0, 1, 2, 3], 2, 2, 4)
    after = Placement([0, 2, 1, 3], 2, 2, 4)
    got = moves(before, after)
    assert [(m.expert, m.from_slot, m.to_slot, m.from_worker, m.to_worker) for m in got] == [
        (2, 2, 1, 1, 0),
        (1, 1, 2, 0, 1),
    ]


def test_a_replica_is_copied_from_a_holder_that_keeps_its_expert():
    # expert 0 is in slots 0 and 2; slot 0 is overwritten, slot 2 keeps it
    before = Placement([0, 1, 0, 2], 2, 2, 3)
    after = Placement([1, 0, 0, 2], 2, 2, 3)
    got = moves(before, after)
    assert [(m.expert, m.from_slot, m.to_slot) for m in got] == [(1, 1, 0), (0, 2, 1)]


def test_moves_name_the_ranks_of_the_same_expert_parallel_group():
    before = Placement([0, 1, 2, 3], 4, 1, 4)
    after = Placement([3, 1, 2, 0], 4, 1, 4)
    first = moves(before, after)[0]  # expert 3 from worker 3 to worker 0
    assert (first.expert, first.from_worker, first.to_worker) == (3, 3, 0)
    # ranks 4..7 form the second group of 4 workers
    assert first.from_rank(5) == 7 and first.to_rank(5) == 4
    assert first.from_rank(2) == 3 and first.to_rank(2) == 0


def test_placements_of_other_shapes_have_no_moves_between_them():
    with pytest.raises(ValueError, match="differ in shape"):
        moves(Placement.contiguous(2, 2, 4), Placement.contiguous(4, 1, 4))
