"""A switch moves weights and Adam state: the layer computes the same, and trains the same."""

import copy

import torch
from torch import nn

from moeplan.follower import LayerSwitch
from moeplan.placement import Placement, moves
from moeplan.torch import PlacedExperts, apply_switch, expert_counts

D, EXPERTS, TOKENS, K = 8, 4, 64, 2


def expert_ffn():
    return nn.Sequential(nn.Linear(D, 16), nn.GELU(), nn.Linear(16, D))


def layer_on(placement, seed=0):
    """Slots holding experts 0..E-1 initialised from the seed; replicas start equal."""
    torch.manual_seed(seed)
    experts = [expert_ffn() for _ in range(EXPERTS)]
    return PlacedExperts([copy.deepcopy(experts[e]) for e in placement.slot_to_expert], placement)


def batch(seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(TOKENS, D, generator=g)
    logits = torch.randn(TOKENS, EXPERTS, generator=g)
    # skewed routing: expert 0 is hot
    logits[:, 0] += 1.5
    weights, index = torch.softmax(logits, -1).topk(K, -1)
    return x, index, weights


def train_step(layer, optimizer, x, index, weights):
    optimizer.zero_grad()
    out = layer(x, index, weights)
    loss = (out**2).mean()
    loss.backward()
    layer.sync_replica_grads()
    optimizer.step()
    return out.detach(), loss.item()


def switch(before, after):
    return LayerSwitch(0, 11, before, after, 1, "job/0/0", False, moves(before, after))


def expert_params(layer, expert):
    slot = layer.placement.slots_of(expert)[0]
    return [p.detach().clone() for p in layer.slots[slot].parameters()]


def check_switch_changes_nothing(before, after):
    x, index, weights = batch()
    reference = layer_on(before)
    switched = layer_on(before)
    ref_opt = torch.optim.Adam(reference.parameters(), lr=1e-2)
    sw_opt = torch.optim.Adam(switched.parameters(), lr=1e-2)
    # a few steps so Adam's moments and step counts are not trivial
    for _ in range(3):
        train_step(reference, ref_opt, x, index, weights)
        train_step(switched, sw_opt, x, index, weights)

    copied = apply_switch(switched, switch(before, after), sw_opt)

    assert switched.placement == after and copied > 0
    torch.testing.assert_close(switched(x, index, weights), reference(x, index, weights))
    ref_out, ref_loss = train_step(reference, ref_opt, x, index, weights)
    sw_out, sw_loss = train_step(switched, sw_opt, x, index, weights)
    torch.testing.assert_close(sw_out, ref_out)
    assert sw_loss == ref_loss
    for expert in range(EXPERTS):
        for a, b in zip(expert_params(switched, expert), expert_params(reference, expert)):
            torch.testing.assert_close(a, b)
    # and the step after that, which reads the moved Adam moments
    torch.testing.assert_close(
        train_step(switched, sw_opt, x, index, weights)[0],
        train_step(reference, ref_opt, x, index, weights)[0],
    )


def test_experts_swapping_slots_compute_and_train_exactly_as_before():
    check_switch_changes_nothing(
        Placement([0, 1, 2, 3], 2, 2, EXPERTS), Placement([2, 0, 3, 1], 2, 2, EXPERTS)
    )


def test_a_hot_expert_given_a_replica_computes_and_trains_as_before():
    check_switch_changes_nothing(
        Placement([0, 1, 2, 3, 0, 1], 2, 3, EXPERTS), Placement([0, 1, 0, 2, 3, 0], 2, 3, EXPERTS)
    )


def test_without_the_optimizer_state_the_next_step_differs():
    """The check above can fail: moving weights alone changes what Adam does next."""
    before, after = Placement([0, 1, 2, 3], 2, 2, EXPERTS), Placement([1, 0, 2, 3], 2, 2, EXPERTS)
    x, index, weights = batch()
    reference, switched = layer_on(before), layer_on(before)
    ref_opt = torch.optim.Adam(reference.parameters(), lr=1e-2)
    sw_opt = torch.optim.Adam(switched.parameters(), lr=1e-2)
    for _ in range(3):
        train_step(reference, ref_opt, x, index, weights)
        train_step(switched, sw_opt, x, index, weights)
    apply_switch(switched, switch(before, after))  # weights only
    torch.testing.assert_close(switched(x, index, weights), reference(x, index, weights))
    train_step(reference, ref_opt, x, index, weights)
    train_step(switched, sw_opt, x, index, weights)
    assert not torch.allclose(switched(x, index, weights), reference(x, index, weights))


def test_counts_are_every_top_k_choice_per_expert():
    _, index, _ = batch()
    counts = expert_counts(index, EXPERTS)
    assert sum(counts) == TOKENS * K and counts[0] == max(counts)
