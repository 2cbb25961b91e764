"""PyTorch side of a switch: experts held in slots, and moving weights and Adam state between them.

Imported only where torch is installed (``import moeplan.torch``); the rest of the client does not
need it.

:class:`PlacedExperts` runs a MoE layer's experts in the slots a :class:`~moeplan.placement.Placement`
gives them: the tokens routed to an expert are computed by its slot (split evenly over its slots
when it has replicas), so what the layer computes does not depend on which slot holds an expert.
:func:`apply_switch` moves weights, gradients and optimizer state along a switch's moves, so
training after a switch goes on exactly as it would have without it.
"""

import torch
from torch import nn


class PlacedExperts(nn.Module):
    """A MoE layer's expert slots under a placement.

    ``slots`` are modules of one architecture (an expert FFN each), ``len(slots) ==
    placement.slots``; slot ``s`` computes expert ``placement.slot_to_expert[s]``. Replicas of an
    expert must start equal; :meth:`sync_replica_grads` keeps them equal through training.
    """

    def __init__(self, slots, placement):
        super().__init__()
        if len(slots) != placement.slots:
            raise ValueError(f"{len(slots)} slot modules for a placement of {placement.slots} slots")
        self.slots = nn.ModuleList(slots)
        self.placement = placement

    def forward(self, x, expert_index, gate_weight):
        """Combines the experts' outputs: ``x`` is ``[tokens, d]``; ``expert_index`` and
        ``gate_weight`` are ``[tokens, k]``, the chosen experts of every token and their weights.
        Returns ``[tokens, d_out]``: per token, the weighted sum of its experts' outputs."""
        tokens, k = expert_index.shape
        flat_expert = expert_index.reshape(-1)
        flat_token = torch.arange(tokens, device=x.device).repeat_interleave(k)
        flat_weight = gate_weight.reshape(-1)
        out = None
        for expert in range(self.placement.experts):
            chosen = torch.nonzero(flat_expert == expert, as_tuple=True)[0]
            if chosen.numel() == 0:
                continue
            holders = self.placement.slots_of(expert)
            for slot, part in zip(holders, torch.tensor_split(chosen, len(holders))):
                if part.numel() == 0:
                    continue
                rows = flat_token[part]
                y = self.slots[slot](x[rows]) * flat_weight[part].unsqueeze(-1)
                if out is None:
                    out = x.new_zeros((tokens, y.shape[-1]))
                out = out.index_add(0, rows, y)
        return out if out is not None else torch.zeros_like(x)

    def sync_replica_grads(self):
        """Gives every replica of an expert the sum of its replicas' gradients (call after
        backward, before the optimizer step), so replicas take the same step and stay equal."""
        for expert in range(self.placement.experts):
            holders = self.placement.slots_of(expert)
            if len(holders) < 2:
                continue
            groups = zip(*(list(self.slots[s].parameters()) for s in holders))
            for params in groups:
                grads = [p.grad for p in params if p.grad is not None]
                if not grads:
                    continue
                total = torch.stack(grads).sum(0)
                for p in params:
                    p.grad = total.clone()


def expert_counts(expert_index, experts):
    """Tokens routed to each expert (every one of a token's top-k choices counts), as a list."""
    return torch.bincount(expert_index.reshape(-1), minlength=experts).tolist()


def apply_switch(layer, switch, optimizer=None):
    """Applies ``switch`` (a :class:`~moeplan.follower.LayerSwitch`) to ``layer``.

    ``layer`` is a :class:`PlacedExperts` (its placement is updated) or an ``nn.ModuleList`` of
    slot modules. For every move, the target slot gets the source slot's parameters, gradients
    and, when ``optimizer`` is given, its per-parameter state (Adam's step and moments). Every
    source is read before any target is written, so experts may swap slots. Returns the bytes of
    parameters and optimizer state copied.
    """
    slots = layer.slots if isinstance(layer, PlacedExperts) else layer
    if isinstance(layer, PlacedExperts) and layer.placement != switch.before:
        raise ValueError(
            f"layer {switch.layer} runs {layer.placement.slot_to_expert}, the switch starts from "
            f"{switch.before.slot_to_expert}"
        )
    staged = []
    for move in switch.moves:
        params = list(slots[move.from_slot].parameters())
        state = optimizer.state if optimizer is not None else {}
        staged.append(
            [
                (
                    p.detach().clone(),
                    None if p.grad is None else p.grad.detach().clone(),
                    _clone_state(state.get(p)),
                )
                for p in params
            ]
        )
    copied = 0
    with torch.no_grad():
        for move, sources in zip(switch.moves, staged):
            targets = list(slots[move.to_slot].parameters())
            if len(targets) != len(sources):
                raise ValueError(
                    f"slots {move.from_slot} and {move.to_slot} hold different modules"
                )
            for target, (data, grad, state) in zip(targets, sources):
                if target.shape != data.shape:
                    raise ValueError(
                        f"slots {move.from_slot} and {move.to_slot}: parameter shapes "
                        f"{tuple(data.shape)} and {tuple(target.shape)} differ"
                    )
                target.copy_(data)
                target.grad = grad
                copied += data.numel() * data.element_size()
                if optimizer is not None:
                    if state is None:
                        optimizer.state.pop(target, None)
                    else:
                        optimizer.state[target] = state
                        copied += sum(
                            v.numel() * v.element_size()
                            for v in state.values()
                            if torch.is_tensor(v) and v.dim() > 0
                        )
    if isinstance(layer, PlacedExperts):
        layer.placement = switch.after
    return copied


def _clone_state(state):
    if state is None:
        return None
    return {k: v.detach().clone() if torch.is_tensor(v) else v for k, v in state.items()}


__all__ = ["PlacedExperts", "apply_switch", "expert_counts"]
