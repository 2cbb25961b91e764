"""moeplan's Python client: publish expert loads, follow plan decisions, move experts in PyTorch.

See ``clients/python/README.md``; the wire format is ``docs/wire-format.md`` in the repository.
"""

from .follower import DecisionFollower, LayerSwitch, StepOutcome
from .kafka import DecisionReader, LoadPublisher, PublishError, read_pool
from .placement import Move, Placement, moves
from .pool import ParallelConfig, parallel_config, start_placements
from .security import TopicNames, client_config_from_properties, topic_names

__all__ = [
    "DecisionFollower",
    "DecisionReader",
    "LayerSwitch",
    "LoadPublisher",
    "Move",
    "ParallelConfig",
    "Placement",
    "PublishError",
    "StepOutcome",
    "TopicNames",
    "client_config_from_properties",
    "moves",
    "parallel_config",
    "read_pool",
    "start_placements",
    "topic_names",
]
