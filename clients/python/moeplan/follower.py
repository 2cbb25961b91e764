"""The rank's side of consistent switching: which decisions to apply, and when.

The rules are those of moeplan's Java executor (``docs/wire-format.md`` in the repository):

* decisions of other jobs and of other epochs (run id and attempt) are ignored and counted;
* a redelivered decision (an id already taken) is dropped and counted;
* a decision naming another window length or lead than the follower's, or whose effective
  iteration is not its window's, is refused as a timing mismatch (the first is described in
  :attr:`DecisionFollower.timing_error`); while the job's newest decision is such a one,
  effective iterations do not wait;
* a decision for a layer the rank does not host, or whose placement has another shape than the
  layer's, is rejected;
* before the effective iteration ``w F + F - 1 + L`` of window ``w`` runs, the follower waits,
  bounded, for window ``w``'s decision of every hosted layer; a layer whose decision does not come
  in time keeps its placement and plan version (a timeout), and the decision, when it comes, is
  late and not applied: the next window's decision carries the whole placement;
* a decision whose placement differs from the one the layer runs is applied even when it says
  KEEP: it repairs a switch the rank missed;
* after a restart, :meth:`DecisionFollower.resume` reads the compacted decisions topic to its end
  and adopts, per layer, the newest decision of the rank's run in force at the iteration training
  restarts at; the windows before the restart's are not waited for, since a resumed attempt does
  not decide them again.

The follower does no I/O of its own: it pulls decisions from a *source*, any object with a
``poll(timeout_seconds) -> list`` method returning decoded ``PlanDecision`` dicts (such as
:class:`moeplan.kafka.DecisionReader`), and for :meth:`~DecisionFollower.resume` a
``caught_up() -> bool`` method. It is not thread-safe.
"""

import time
from dataclasses import dataclass, field

from . import keys, windows
from .placement import Placement, moves

_FORGET_AFTER_WINDOWS = 16


@dataclass(frozen=True)
class LayerSwitch:
    """A placement change of one layer, applied before ``iteration`` runs.

    ``moves`` lists which expert leaves which slot for which slot (and on which worker);
    ``repair`` is true when the decision said KEEP but the layer ran another placement.
    """

    layer: int
    iteration: int
    before: Placement
    after: Placement
    plan_version: int
    decision_id: str
    repair: bool
    moves: list = field(default_factory=list)

    def sends(self, rank):
        """The moves whose source slot is on ``rank``'s worker."""
        worker = rank % self.before.workers
        return [m for m in self.moves if m.from_worker == worker]

    def receives(self, rank):
        """The moves whose target slot is on ``rank``'s worker."""
        worker = rank % self.before.workers
        return [m for m in self.moves if m.to_worker == worker]


@dataclass(frozen=True)
class StepOutcome:
    """What :meth:`DecisionFollower.step` resolved: the window (or -1), switches, timed-out layers."""

    window: int
    switches: list
    timed_out: list


_NOTHING = StepOutcome(-1, [], [])


class DecisionFollower:
    """Follows one job's decisions for the layers a rank (or a process of ranks) hosts.

    ``placements`` maps each hosted layer to the :class:`Placement` it starts on (the pool's start
    layout: :func:`moeplan.pool.start_placements`). ``run_id`` and ``attempt`` are the epoch the
    rank's loads name. ``clock`` returns seconds (``time.monotonic`` outside tests).
    ``on_decision``, when given, is called with every decision taken, as it is taken (for
    measuring when decisions arrive).
    """

    def __init__(
        self,
        job_id,
        placements,
        window_iterations=windows.DEFAULT_WINDOW_ITERATIONS,
        lead_iterations=windows.DEFAULT_LEAD_ITERATIONS,
        run_id=None,
        attempt=0,
        clock=time.monotonic,
        on_decision=None,
    ):
        windows.check(window_iterations, lead_iterations)
        keys.require_epoch(run_id, attempt)
        if not placements:
            raise ValueError("placements must name at least one hosted layer")
        self.job_id = keys.require_job_id(job_id)
        self.window_iterations = window_iterations
        self.lead_iterations = lead_iterations
        self.run_id = run_id
        self.attempt = attempt
        self._clock = clock
        self._on_decision = on_decision
        self._current = dict(sorted(placements.items()))
        self._versions = {layer: 0 for layer in self._current}
        self._received = {layer: {} for layer in self._current}
        self._seen = {}
        self._resolved = -1
        self._no_wait_before = 0
        self._newest_mistimed = False
        self.timing_error = None
        self.decisions = 0
        self.duplicates = 0
        self.late = 0
        self.rejected = 0
        self.other_epoch = 0
        self.timing_mismatches = 0
        self.timeouts = 0
        self.switches_applied = 0

    @property
    def layers(self):
        """The hosted layers, ascending."""
        return list(self._current)

    def placement(self, layer):
        """The placement ``layer`` runs."""
        return self._current[layer]

    def plan_version(self, layer=None):
        """The plan version of ``layer``'s placement (0: the start layout), or with no layer the
        version a rank reports in its ExpertLoad: the sum over its layers."""
        if layer is None:
            return sum(self._versions.values())
        return self._versions[layer]

    def offer(self, decision):
        """Takes one decoded decision; returns False (and counts why) when it is not taken."""
        if decision["jobId"] != self.job_id:
            return False
        if (decision.get("runId"), decision.get("attempt", 0)) != (self.run_id, self.attempt):
            self.other_epoch += 1
            return False
        window = decision["window"]
        ids = self._seen.setdefault(window, set())
        if decision["decisionId"] in ids:
            self.duplicates += 1
            return False
        ids.add(decision["decisionId"])
        mistimed = self._timing_mismatch(decision)
        self._newest_mistimed = mistimed is not None
        if mistimed:
            self.timing_mismatches += 1
            if self.timing_error is None:
                self.timing_error = mistimed
            return False
        layer = decision["layer"]
        if layer not in self._current or _placement_of(decision, self._current[layer]) is None:
            self.rejected += 1
            return False
        self.decisions += 1
        if window <= self._resolved:
            self.late += 1
            return False
        self._received[layer][window] = decision
        if self._on_decision is not None:
            self._on_decision(decision)
        return True

    def receive(self, source, seconds):
        """Takes the decisions that arrive within ``seconds``; returns once they have passed.

        How a training loop can spend idle time between iterations, so decisions are taken as
        they arrive rather than all at the effective iteration.
        """
        deadline = self._clock() + seconds
        while True:
            left = deadline - self._clock()
            if left <= 0:
                return
            self._drain(source, left)

    def step(self, iteration, source, timeout=10.0):
        """Before ``iteration`` runs: takes what arrived and, when a window's decisions take
        effect at ``iteration``, waits up to ``timeout`` seconds for those still missing. Returns
        the switches to apply (in layer order) before running the iteration."""
        self._drain(source, 0)
        window = windows.window_effective_at(
            iteration, self.window_iterations, self.lead_iterations
        )
        if window < 0 or window <= self._resolved:
            return _NOTHING
        # a window before a restart's is not decided again by a new attempt: nothing to wait for
        if window >= self._no_wait_before:
            self._await(window, source, timeout)
        switches, timed_out = [], []
        for layer, received in self._received.items():
            decision = received.get(window)
            if decision is None:
                if window >= self._no_wait_before:
                    self.timeouts += 1
                    timed_out.append(layer)
                continue
            change = self._adopt(layer, iteration, decision)
            if change:
                switches.append(change)
        self._resolve(window)
        return StepOutcome(window, switches, timed_out)

    def resume(self, start_iteration, source, timeout=30.0):
        """For a rank restarting at ``start_iteration``: reads the source until it is caught up
        (at most ``timeout`` seconds) and adopts, per layer, the newest decision of the rank's run
        in force at ``start_iteration``. Returns the placement changes from the placements the
        follower was created with.

        In force are the rank's own epoch's decisions that took effect before
        ``start_iteration`` and its run's earlier attempts' decisions that took effect at or
        before it: a resumed attempt (``attempt`` one higher) goes on from the placement the run
        had there, as the job does. Windows before the one ``start_iteration`` is in are not
        decided again in a new attempt, so their effective iterations do not wait; a decision of
        the rank's epoch for one of them, already on the topic, is still applied there.

        A rank that saved :meth:`state_dict` with its checkpoint can restore that instead, and
        still call this to skip the waits.
        """
        restart_window = windows.window_of(start_iteration, self.window_iterations)
        newest = {}
        deadline = self._clock() + timeout
        while True:
            for decision in source.poll(min(0.2, max(0.0, deadline - self._clock()))):
                if self._in_force_at(decision, start_iteration):
                    self._keep_newest(decision, newest)
                else:
                    self.offer(decision)
            if source.caught_up() or self._clock() >= deadline:
                break
        adopted = []
        for layer, decision in sorted(newest.items()):
            change = self._adopt(layer, start_iteration, decision)
            if change:
                adopted.append(change)
        self._no_wait_before = restart_window
        return adopted

    def _in_force_at(self, decision, iteration):
        """Whether ``decision`` is one of the run's decisions in force at a restart at
        ``iteration``: its own epoch's that took effect before it, or an earlier attempt's that
        took effect at or before it."""
        if decision["jobId"] != self.job_id or decision.get("runId") != self.run_id:
            return False
        attempt = decision.get("attempt", 0)
        effective = decision["effectiveIteration"]
        return (attempt == self.attempt and effective < iteration) or (
            attempt < self.attempt and effective <= iteration
        )

    def _keep_newest(self, decision, newest):
        """Keeps ``decision`` in ``newest`` when it is its layer's newest usable one so far."""
        layer = decision["layer"]
        if (
            layer not in self._current
            or self._timing_mismatch(decision)
            or _placement_of(decision, self._current[layer]) is None
        ):
            return
        held = newest.get(layer)
        key = (decision["window"], decision.get("attempt", 0))
        if held is None or key >= (held["window"], held.get("attempt", 0)):
            newest[layer] = decision

    def _timing_mismatch(self, decision):
        job_window = decision.get("windowIterations")
        job_lead = decision.get("leadIterations")
        if (job_window is not None and job_window != self.window_iterations) or (
            job_lead is not None and job_lead != self.lead_iterations
        ):
            return (
                f"decisions of job '{self.job_id}' take effect with --window-iterations "
                f"{'(not given)' if job_window is None else job_window} --lead-iterations "
                f"{'(not given)' if job_lead is None else job_lead}, this follower runs "
                f"{self.window_iterations} and {self.lead_iterations}: restart it with the "
                "job's settings"
            )
        expected = windows.effective_iteration(
            decision["window"], self.window_iterations, self.lead_iterations
        )
        if decision["effectiveIteration"] == expected:
            return None
        return (
            f"decision {decision['decisionId']} takes effect at iteration "
            f"{decision['effectiveIteration']}, but window {decision['window']} with "
            f"--window-iterations {self.window_iterations} --lead-iterations "
            f"{self.lead_iterations} takes effect at iteration {expected}: not applied"
        )

    def _await(self, window, source, timeout):
        deadline = self._clock() + timeout
        while not self._complete(window) and not self._newest_mistimed:
            left = deadline - self._clock()
            if left <= 0:
                return
            self._drain(source, min(left, 0.1))

    def _complete(self, window):
        return all(window in received for received in self._received.values())

    def _drain(self, source, seconds):
        for decision in source.poll(seconds):
            self.offer(decision)

    def _adopt(self, layer, iteration, decision):
        before = self._current[layer]
        after = _placement_of(decision, before)
        self._versions[layer] = decision["planVersion"]
        if after == before:
            return None
        self._current[layer] = after
        self.switches_applied += 1
        return LayerSwitch(
            layer,
            iteration,
            before,
            after,
            decision["planVersion"],
            decision["decisionId"],
            decision["action"] != "SWITCH",
            moves(before, after),
        )

    def _resolve(self, window):
        self._resolved = window
        for old in [w for w in self._seen if w < window - _FORGET_AFTER_WINDOWS]:
            del self._seen[old]
        for received in self._received.values():
            for old in [w for w in received if w <= window]:
                del received[old]

    def state_dict(self):
        """What to save with a training checkpoint: per layer the placement and plan version."""
        return {
            "placements": {layer: list(p.slot_to_expert) for layer, p in self._current.items()},
            "plan_versions": dict(self._versions),
        }

    def load_state_dict(self, state):
        """Restores placements and plan versions saved by :meth:`state_dict`."""
        for layer, slots in state["placements"].items():
            layer = int(layer)
            running = self._current[layer]
            self._current[layer] = Placement(
                slots, running.workers, running.slots_per_worker, running.experts
            )
            self._versions[layer] = int(state["plan_versions"][layer])

    def counters(self):
        """The follower's counters by name, for progress lines and summaries."""
        return {
            "decisions": self.decisions,
            "switches_applied": self.switches_applied,
            "timeouts": self.timeouts,
            "late": self.late,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "other_epoch": self.other_epoch,
            "timing_mismatches": self.timing_mismatches,
        }


def _placement_of(decision, running):
    """The decision's placement on ``running``'s shape, or None when it is not one."""
    workers = decision.get("workers")
    slots_per_worker = decision.get("slotsPerWorker")
    if (workers is not None and workers != running.workers) or (
        slots_per_worker is not None and slots_per_worker != running.slots_per_worker
    ):
        return None
    try:
        return Placement(
            decision["slotToExpert"], running.workers, running.slots_per_worker, running.experts
        )
    except ValueError:
        return None
