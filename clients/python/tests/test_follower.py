"""The follower's rules on scripted decision streams, with a clock the test moves."""

import pytest

from moeplan import keys, windows
from moeplan.follower import DecisionFollower
from moeplan.placement import Placement

JOB = "job"
F, L = 10, 2
START = Placement([0, 1, 2, 3], 2, 2, 4)
SWAPPED = Placement([0, 2, 1, 3], 2, 2, 4)
ROTATED = Placement([3, 0, 1, 2], 2, 2, 4)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Script:
    """A decision source: batches handed out one per poll; an empty poll advances the clock."""

    def __init__(self, clock, *batches):
        self.clock = clock
        self.batches = list(batches)
        self.polls = 0

    def arrive(self, *decisions):
        self.batches.append(list(decisions))

    def poll(self, timeout):
        self.polls += 1
        if self.batches:
            return self.batches.pop(0)
        self.clock.now += timeout
        return []

    def caught_up(self):
        return not self.batches


def decision(layer, window, placement, action="SWITCH", version=1, **overrides):
    record = {
        "decisionId": keys.decision_id(JOB, layer, window),
        "jobId": JOB,
        "layer": layer,
        "window": window,
        "windowFirstIteration": window * F,
        "windowLastIteration": window * F + F - 1,
        "effectiveIteration": windows.effective_iteration(window, F, L),
        "action": action,
        "slotToExpert": list(placement.slot_to_expert),
        "planVersion": version,
        "workers": placement.workers,
        "slotsPerWorker": placement.slots_per_worker,
        "windowIterations": F,
        "leadIterations": L,
        "runId": None,
        "attempt": 0,
    }
    record.update(overrides)
    return record


def follower(layers=(0, 1), clock=None, **kwargs):
    return DecisionFollower(
        JOB, {layer: START for layer in layers}, F, L, clock=clock or Clock(), **kwargs
    )


def run(follower, source, iterations, timeout=1.0):
    """Steps through iterations; returns {iteration: outcome} for those that resolved a window."""
    out = {}
    for iteration in iterations:
        outcome = follower.step(iteration, source, timeout)
        if outcome.window >= 0:
            out[iteration] = outcome
    return out


def test_a_switch_is_applied_at_exactly_its_effective_iteration_with_its_moves():
    clock = Clock()
    f = follower(clock=clock)
    source = Script(clock, [decision(0, 0, SWAPPED), decision(1, 0, START, "KEEP", 0)])
    outcomes = run(f, source, range(0, 12))
    assert list(outcomes) == [11]
    (switch,) = outcomes[11].switches
    assert (switch.layer, switch.iteration, switch.plan_version, switch.repair) == (0, 11, 1, False)
    assert switch.after == SWAPPED and f.placement(0) == SWAPPED and f.placement(1) == START
    assert [(m.expert, m.from_slot, m.to_slot) for m in switch.moves] == [(2, 2, 1), (1, 1, 2)]
    assert [m.expert for m in switch.sends(0)] == [1] and [m.expert for m in switch.receives(0)] == [2]
    assert f.plan_version() == 1 and f.plan_version(0) == 1 and f.plan_version(1) == 0
    assert f.switches_applied == 1 and f.timeouts == 0


def test_nothing_changes_before_the_effective_iteration_even_when_the_decision_is_early():
    clock = Clock()
    f = follower(clock=clock)
    source = Script(clock, [decision(0, 0, SWAPPED), decision(1, 0, SWAPPED)])
    for iteration in range(11):
        assert f.step(iteration, source, 1.0).switches == []
        assert f.placement(0) == START
    assert len(f.step(11, source, 1.0).switches) == 2


def test_it_waits_for_every_hosted_layer_up_to_the_bound_then_keeps_the_missing_ones():
    clock = Clock()
    f = follower(clock=clock)
    source = Script(clock, [decision(0, 0, SWAPPED)])
    outcome = f.step(11, source, 2.0)
    assert outcome.timed_out == [1] and [s.layer for s in outcome.switches] == [0]
    assert 2.0 <= clock.now < 2.2
    # the decision of layer 1 comes late: counted, not applied
    source.arrive(decision(1, 0, ROTATED))
    assert f.step(12, source, 2.0).window == -1
    assert f.placement(1) == START and f.late == 1 and f.timeouts == 1


def test_a_keep_that_differs_from_the_running_placement_repairs_a_missed_switch():
    clock = Clock()
    f = follower(layers=(0,), clock=clock)
    source = Script(clock)
    f.step(11, source, 0.5)  # window 0's decision never came
    source.arrive(decision(0, 1, ROTATED, "KEEP", 1))
    (repair,) = f.step(21, source, 0.5).switches
    assert repair.repair and repair.after == ROTATED and f.plan_version(0) == 1


def test_redeliveries_are_dropped_by_id():
    clock = Clock()
    f = follower(layers=(0,), clock=clock)
    d = decision(0, 0, SWAPPED)
    source = Script(clock, [d, dict(d), dict(d)])
    f.receive(source, 0.5)
    assert f.duplicates == 2 and f.decisions == 1
    assert len(f.step(11, source, 0.5).switches) == 1


def test_other_jobs_other_epochs_unknown_layers_and_other_shapes_are_not_taken():
    clock = Clock()
    f = follower(layers=(0,), clock=clock, run_id="run-2", attempt=1)
    mine = {"runId": "run-2", "attempt": 1, "decisionId": keys.decision_id(JOB, 0, 0, "run-2", 1)}
    source = Script(
        clock,
        [
            decision(0, 0, SWAPPED, jobId="other"),
            decision(0, 0, SWAPPED),  # the default epoch
            decision(0, 0, SWAPPED, runId="run-2", attempt=0),
            decision(5, 0, SWAPPED, **{**mine, "decisionId": "job/5/0@run-2.1"}),
            decision(0, 0, Placement([0, 1, 2, 3], 4, 1, 4), **{**mine, "decisionId": "a"}),
            decision(0, 0, SWAPPED, **{**mine, "decisionId": "b", "slotToExpert": [0, 1, 1, 3]}),
        ],
    )
    f.receive(source, 0.5)
    assert (f.other_epoch, f.rejected, f.decisions) == (2, 3, 0)
    source.arrive(decision(0, 0, SWAPPED, **mine))
    assert f.step(11, source, 0.5).switches[0].decision_id == "job/0/0@run-2.1"


def test_decisions_of_another_window_or_lead_are_refused_and_described_without_waiting():
    clock = Clock()
    f = follower(layers=(0,), clock=clock)
    source = Script(clock, [decision(0, 0, SWAPPED, windowIterations=20, effectiveIteration=21)])
    outcome = f.step(11, source, 5.0)
    assert outcome.switches == [] and clock.now < 1.0, "does not wait for mistimed decisions"
    assert f.timing_mismatches == 1
    assert "--window-iterations 20 --lead-iterations 2, this follower runs 10 and 2" in f.timing_error


def test_a_decision_whose_effective_iteration_is_not_its_windows_is_refused():
    clock = Clock()
    f = follower(layers=(0,), clock=clock)
    f.receive(Script(clock, [decision(0, 0, SWAPPED, effectiveIteration=13)]), 0.1)
    assert f.timing_mismatches == 1 and "takes effect at iteration 13" in f.timing_error


def test_a_decision_written_before_it_named_its_timing_is_checked_against_the_followers():
    clock = Clock()
    f = follower(layers=(0,), clock=clock)
    old = decision(0, 0, SWAPPED, windowIterations=None, leadIterations=None, workers=None,
                   slotsPerWorker=None)
    source = Script(clock, [old])
    assert len(f.step(11, source, 0.5).switches) == 1


def test_a_restart_resumes_from_the_newest_decision_that_took_effect_before_it():
    clock = Clock()
    f = follower(layers=(0, 1), clock=clock)
    source = Script(
        clock,
        [
            decision(0, 0, SWAPPED, version=1),
            decision(0, 1, ROTATED, version=2),
            decision(1, 0, ROTATED, version=1),
            decision(0, 2, START, version=3),  # effective at 31: after the restart at 25
        ],
    )
    adopted = f.resume(25, source)
    assert [(s.layer, s.after) for s in adopted] == [(0, ROTATED), (1, ROTATED)]
    assert f.plan_version(0) == 2 and f.plan_version(1) == 1
    # window 2's decision was kept for its step; layer 1's is still to come
    source.arrive(decision(1, 2, ROTATED, "KEEP", 1))
    outcome = f.step(31, source, 0.5)
    assert [s.after for s in outcome.switches] == [START] and outcome.timed_out == []


def test_a_restart_in_the_same_epoch_applies_a_window_decided_before_it_at_its_iteration():
    clock = Clock()
    f = follower(layers=(0,), clock=clock)
    # restart at 20: window 1 (iterations 10-19) takes effect at 21, and was decided already
    source = Script(clock, [decision(0, 1, SWAPPED, version=1)])
    assert f.resume(20, source) == []
    assert [s.after for s in f.step(21, source, 0.5).switches] == [SWAPPED]


def test_a_resumed_attempt_goes_on_from_its_runs_placement_and_does_not_wait_before_the_restart():
    clock = Clock()
    f = follower(layers=(0,), clock=clock, run_id="r", attempt=1)

    def earlier(window, placement, version):
        return decision(
            0, window, placement, version=version, runId="r", attempt=0,
            decisionId=keys.decision_id(JOB, 0, window, "r", 0),
        )

    # attempt 0 ran on to window 3; attempt 1 restarts at 20, where window 1 took effect at 21
    source = Script(
        clock,
        [earlier(0, SWAPPED, 1), earlier(1, ROTATED, 2), earlier(2, START, 3), earlier(3, SWAPPED, 4)],
    )
    assert [s.after for s in f.resume(20, source)] == [SWAPPED]
    assert f.plan_version(0) == 1
    outcome = f.step(21, source, 5.0)
    assert outcome.switches == [] and outcome.timed_out == [] and clock.now < 1.0
    # window 2 is the new attempt's to decide, and is waited for
    assert f.step(31, source, 2.0).timed_out == [0] and f.timeouts == 1


def test_a_resumed_attempt_takes_a_switch_that_took_effect_at_the_restart_iteration():
    clock = Clock()
    f = follower(layers=(0,), clock=clock, run_id="r", attempt=1)
    earlier = {"runId": "r", "attempt": 0, "decisionId": keys.decision_id(JOB, 0, 1, "r", 0)}
    source = Script(clock, [decision(0, 1, SWAPPED, **earlier)])
    assert [s.after for s in f.resume(21, source)] == [SWAPPED]


def test_a_restart_before_the_first_effective_iteration_adopts_nothing():
    clock = Clock()
    f = follower(layers=(0,), clock=clock)
    assert f.resume(11, Script(clock, [decision(0, 0, SWAPPED)])) == []
    assert f.placement(0) == START


def test_state_saved_with_a_checkpoint_restores_placements_and_versions():
    clock = Clock()
    f = follower(layers=(0, 1), clock=clock)
    f.step(11, Script(clock, [decision(0, 0, SWAPPED, version=4), decision(1, 0, START, "KEEP", 0)]), 0.5)
    restored = follower(layers=(0, 1), clock=clock)
    restored.load_state_dict(f.state_dict())
    assert restored.placement(0) == SWAPPED and restored.plan_version() == 4


def test_it_refuses_a_bad_window_or_no_layers():
    with pytest.raises(ValueError, match="window_iterations must be >= 1"):
        DecisionFollower(JOB, {0: START}, 0, 2)
    with pytest.raises(ValueError, match="at least one hosted layer"):
        DecisionFollower(JOB, {}, F, L)
