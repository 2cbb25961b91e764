"""Placements of a MoE layer's experts on slots, and the moves a switch between two of them makes.

A layer runs ``workers x slots_per_worker`` expert slots; slot ``s`` lives on expert-parallel
worker ``s // slots_per_worker``, and ``slot_to_expert[s]`` is the expert it holds. Every expert
holds at least one slot; spare slots hold replicas. Rank ``r`` of a job runs worker ``r % workers``
of its expert-parallel group, the group of ranks ``r - r % workers .. r - r % workers + workers - 1``.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    """Slot -> expert for one layer, on ``workers`` workers of ``slots_per_worker`` slots each."""

    slot_to_expert: tuple
    workers: int
    slots_per_worker: int
    experts: int

    def __post_init__(self):
        slots = tuple(int(e) for e in self.slot_to_expert)
        object.__setattr__(self, "slot_to_expert", slots)
        problem = _problem(slots, self.workers, self.slots_per_worker, self.experts)
        if problem:
            raise ValueError(problem)

    @classmethod
    def contiguous(cls, workers, slots_per_worker, experts):
        """The layout most jobs start on: slot ``s`` holds expert ``s % experts``."""
        return cls(
            tuple(s % experts for s in range(workers * slots_per_worker)),
            workers,
            slots_per_worker,
            experts,
        )

    @property
    def slots(self):
        """Number of slots."""
        return len(self.slot_to_expert)

    def worker_of(self, slot):
        """The worker slot ``slot`` lives on."""
        return slot // self.slots_per_worker

    def slots_of(self, expert):
        """The slots holding ``expert``, ascending."""
        return [s for s, e in enumerate(self.slot_to_expert) if e == expert]

    def experts_on(self, worker):
        """The experts of the slots of ``worker``, in slot order."""
        first = worker * self.slots_per_worker
        return list(self.slot_to_expert[first : first + self.slots_per_worker])

    def same_shape(self, other):
        """Whether ``other`` spans the same workers, slots and experts."""
        return (self.workers, self.slots_per_worker, self.experts) == (
            other.workers,
            other.slots_per_worker,
            other.experts,
        )


def _problem(slots, workers, slots_per_worker, experts):
    if workers < 1 or slots_per_worker < 1 or experts < 1:
        return (
            "workers, slots_per_worker and experts must be >= 1, got "
            f"{workers}, {slots_per_worker}, {experts}"
        )
    if len(slots) != workers * slots_per_worker:
        return (
            f"a placement on {workers} workers x {slots_per_worker} slots has "
            f"{workers * slots_per_worker} slots, got {len(slots)}"
        )
    for slot, expert in enumerate(slots):
        if not 0 <= expert < experts:
            return f"slot {slot} holds expert {expert}, outside 0..{experts - 1}"
    missing = sorted(set(range(experts)) - set(slots))
    if missing:
        return f"experts without a slot: {missing}"
    return None


@dataclass(frozen=True)
class Move:
    """Expert ``expert`` (weights and optimizer state) copied from ``from_slot`` to ``to_slot``.

    ``from_worker`` and ``to_worker`` are the workers of the two slots, of the ``workers`` of the
    layer's expert-parallel group.
    """

    expert: int
    from_slot: int
    to_slot: int
    from_worker: int
    to_worker: int
    workers: int

    def from_rank(self, rank):
        """The rank that holds the source slot in ``rank``'s expert-parallel group."""
        return rank - rank % self.workers + self.from_worker

    def to_rank(self, rank):
        """The rank that holds the target slot in ``rank``'s expert-parallel group."""
        return rank - rank % self.workers + self.to_worker


def moves(before, after):
    """The copies that turn ``before`` into ``after``, by target slot ascending.

    Every slot whose expert changes is a target. It copies from a slot holding its new expert in
    ``before``, preferring one that keeps its expert (so it is never overwritten), else the lowest
    such slot. Sources may themselves be targets (experts swapping slots): read every source
    before writing any target.
    """
    if not before.same_shape(after):
        raise ValueError(
            "placements differ in shape: "
            f"{before.workers}x{before.slots_per_worker} slots of {before.experts} experts vs "
            f"{after.workers}x{after.slots_per_worker} of {after.experts}"
        )
    out = []
    for slot, expert in enumerate(after.slot_to_expert):
        if before.slot_to_expert[slot] == expert:
            continue
        holders = before.slots_of(expert)
        source = next(
            (h for h in holders if after.slot_to_expert[h] == before.slot_to_expert[h]),
            holders[0],
        )
        out.append(
            Move(
                expert,
                source,
                slot,
                before.worker_of(source),
                before.worker_of(slot),
                before.workers,
            )
        )
    return out
