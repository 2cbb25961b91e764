"""What a training job needs from its plan pool: the parallel config and the start layout."""

from dataclasses import dataclass

from .placement import Placement


@dataclass(frozen=True)
class ParallelConfig:
    """The parallel degrees a job runs under: its world size is ``tp * pp * dp``."""

    tp: int
    pp: int
    dp: int
    ep: int
    slots_per_worker: int

    @property
    def world_size(self):
        """Ranks of the job."""
        return self.tp * self.pp * self.dp

    def stage_of_rank(self, rank):
        """The pipeline stage of ``rank``: stage ``s`` holds ranks ``s W/pp .. (s+1) W/pp - 1``."""
        return rank // (self.world_size // self.pp)

    def layers_of_rank(self, rank, moe_layers):
        """The MoE layers ``rank`` hosts: its stage's block of ``ceil(moe_layers / pp)`` layers."""
        per_stage = -(-moe_layers // self.pp)
        first = self.stage_of_rank(rank) * per_stage
        return list(range(first, min(first + per_stage, moe_layers)))


def parallel_config(pool):
    """The parallel config of a decoded ``PlanPool``: its first plan's, which the job runs."""
    if not pool["plans"]:
        raise ValueError(f"the pool of job '{pool['jobId']}' has no plans")
    c = pool["plans"][0]["parallel"]
    return ParallelConfig(c["tp"], c["pp"], c["dp"], c["ep"], c["slotsPerWorker"])


def start_placements(pool, layers=None):
    """The placement each layer runs before its first decision, by layer: the pool's start
    layout, or the first plan's placements in a pool written without one. ``layers`` limits it to
    the layers a rank hosts."""
    parallel = parallel_config(pool)
    experts = pool["model"]["expertCount"]
    moe_layers = pool["model"]["moeLayers"]
    wanted = range(moe_layers) if layers is None else layers
    start = pool.get("startLayout")
    out = {}
    for layer in wanted:
        if not 0 <= layer < moe_layers:
            raise ValueError(f"layer {layer} outside the pool's 0..{moe_layers - 1}")
        slots = start[layer] if start is not None else pool["plans"][0]["layers"][layer]["slotToExpert"]
        out[layer] = Placement(slots, parallel.ep, parallel.slots_per_worker, experts)
    return out
