#!/usr/bin/env python3
"""Trains a small MoE language model on CPU with moeplan in the loop.

The model is a character-level transformer (a few layers, each with causal self-attention and a
MoE feed-forward of 8 experts, top-2 routing) learning text of a small generated grammar. The
job's ranks are simulated in this process, laid out as the pool's parallel config says (pipeline
stages of data-parallel ranks, tp = 1): each rank trains on its data shard, routes its tokens
through its stage's layers, publishes its expert counts to moeplan, and follows moeplan's
decisions with its own follower; at a decision's effective iteration every rank of the layer's
stage must resolve the same switch, and the experts' weights and Adam state move to their new
slots before the iteration runs.

Run it against ``./moeplan local --external``, which prints the exact command, or with
``--no-moeplan`` for the same training without it: with the same seed both print the same losses,
since a switch moves state and does not change what is computed.
"""

import argparse
import json
import logging
import pathlib
import random
import sys
import time

# the client package, when the example runs from the repository
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from moeplan import (  # noqa: E402
    DecisionFollower,
    ParallelConfig,
    DecisionReader,
    LoadPublisher,
    Placement,
    parallel_config,
    client_config_from_properties,
    read_pool,
    start_placements,
    topic_names,
)
from moeplan.security import require_tenant_job  # noqa: E402
from moeplan.torch import PlacedExperts, apply_switch, expert_counts  # noqa: E402

SUBJECTS = ["the cat", "a dog", "the old man", "my friend", "the bird", "a child", "the queen"]
VERBS = ["sees", "likes", "finds", "follows", "paints", "hears", "sells"]
OBJECTS = ["the red ball", "a small house", "the river", "an apple", "the moon", "a green hat"]
ENDINGS = ["today", "at night", "in the park", "again", "with care", "slowly"]


def corpus(seed, sentences=4000):
    """Text of the grammar above, with a few repeated phrases a model can learn quickly."""
    rng = random.Random(seed)
    return " ".join(
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(ENDINGS)}."
        for _ in range(sentences)
    )


class Expert(nn.Module):
    """One expert's feed-forward network."""

    def __init__(self, d, ffn):
        super().__init__()
        self.up = nn.Linear(d, ffn)
        self.down = nn.Linear(ffn, d)

    def forward(self, x):
        return self.down(torch.relu(self.up(x)))


class MoeBlock(nn.Module):
    """Causal self-attention, then a top-k MoE feed-forward whose experts live in slots."""

    def __init__(self, d, heads, ffn, experts, top_k, placement):
        super().__init__()
        self.top_k = top_k
        self.ln1 = nn.LayerNorm(d)
        self.attention = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d)
        self.gate = nn.Linear(d, experts, bias=False)
        # every expert starts from its own initialisation, whichever slots hold it
        expert_modules = [Expert(d, ffn) for _ in range(experts)]
        self.moe = PlacedExperts(
            [_copy(expert_modules[e]) for e in placement.slot_to_expert], placement
        )

    def forward(self, x, mask):
        h = self.ln1(x)
        x = x + self.attention(h, h, h, attn_mask=mask, need_weights=False)[0]
        h = self.ln2(x)
        batch, seq, d = h.shape
        flat = h.reshape(-1, d)
        weights, index = torch.softmax(self.gate(flat), -1).topk(self.top_k, -1)
        weights = weights / weights.sum(-1, keepdim=True)
        x = x + self.moe(flat, index, weights).reshape(batch, seq, d)
        return x, index.reshape(batch, seq, self.top_k)


def _copy(module):
    clone = type(module)(module.up.in_features, module.up.out_features)
    clone.load_state_dict(module.state_dict())
    return clone


class TinyMoeLm(nn.Module):
    """Embedding, MoE blocks, and a language-model head."""

    def __init__(self, vocab, d, heads, ffn, experts, top_k, seq, placements):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.position = nn.Parameter(torch.zeros(seq, d))
        self.blocks = nn.ModuleList(
            MoeBlock(d, heads, ffn, experts, top_k, placements[layer])
            for layer in range(len(placements))
        )
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)
        self.register_buffer("mask", torch.triu(torch.ones(seq, seq, dtype=torch.bool), 1))

    def forward(self, tokens):
        x = self.embed(tokens) + self.position[: tokens.shape[1]]
        routes = []
        for block in self.blocks:
            x, index = block(x, self.mask[: tokens.shape[1], : tokens.shape[1]])
            routes.append(index)
        return self.head(self.ln(x)), routes


class Ranks:
    """The simulated ranks' view of moeplan: a publisher, and one follower and reader per rank.

    Ranks are laid out as the job expects (tp = 1): rank ``r`` is data rank ``r % dp`` of
    pipeline stage ``r // dp``; it trains on data shard ``r % dp`` and hosts its stage's layers.
    """

    def __init__(self, args, kafka, parallel, placements):
        self.args = args
        self.parallel = parallel
        self.stage_layers = [
            parallel.layers_of_rank(rank, args.layers) for rank in range(args.ranks)
        ]
        topics = topic_names(args.topic_prefix)
        self.readers = [
            DecisionReader(kafka, topic=topics.plan_decisions) for _ in range(args.ranks)
        ]
        # when each window's last load went out, and when rank 0 had all its window's decisions
        self.window_published = {}
        self.window_decided = {}
        self._arrived = {}
        self.followers = [
            DecisionFollower(
                args.job,
                {layer: placements[layer] for layer in self.stage_layers[rank]},
                args.window_iterations,
                args.lead_iterations,
                run_id=args.run_id,
                attempt=args.attempt,
                on_decision=self._decision_arrived if rank == 0 else None,
            )
            for rank in range(args.ranks)
        ]
        self.publisher = LoadPublisher(
            kafka,
            args.job,
            args.ranks,
            layers=range(args.layers),
            run_id=args.run_id,
            attempt=args.attempt,
            topic=topics.expert_load,
            times_topic=topics.worker_times,
        )
        self.first_load = None
        self.first_decision = None

    def _decision_arrived(self, decision):
        now = time.monotonic()
        if self.first_decision is None:
            self.first_decision = now
        window = decision["window"]
        self._arrived[window] = self._arrived.get(window, 0) + 1
        if self._arrived[window] == len(self.stage_layers[0]):
            self.window_decided[window] = now

    def decision_latencies(self):
        """Seconds from each window's last load to rank 0 holding all of its decisions."""
        return sorted(
            self.window_decided[w] - self.window_published[w]
            for w in self.window_decided
            if w in self.window_published
        )

    def switches_before(self, iteration):
        """Every rank steps its follower; the ranks of a layer's stage must agree on what
        switches at ``iteration``. Returns every rank's outcome, and each switch once."""
        outcomes = [
            f.step(iteration, r, self.args.decision_timeout)
            for f, r in zip(self.followers, self.readers)
        ]
        by_layer = {}
        for rank, outcome in enumerate(outcomes):
            resolved = {s.layer: s for s in outcome.switches}
            for layer in self.stage_layers[rank]:
                change = resolved.get(layer)
                seen = by_layer.setdefault(layer, change)
                if (seen and seen.after) != (change and change.after):
                    raise RuntimeError(
                        f"rank {rank} resolved another placement for layer {layer} than the"
                        f" other ranks of its stage at iteration {iteration}"
                    )
        return outcomes, [s for _, s in sorted(by_layer.items()) if s is not None]

    def publish(self, iteration, routes):
        """Each rank's expert counts of ``iteration``, from its data shard, for its layers."""
        per_rank = self.args.batch_per_rank
        for rank in range(self.args.ranks):
            shard = rank % self.parallel.dp
            layers = self.stage_layers[rank]
            counts = [
                expert_counts(
                    routes[layer][shard * per_rank : (shard + 1) * per_rank], self.args.experts
                )
                for layer in layers
            ]
            self.publisher.publish(
                rank, iteration, counts, self.followers[rank].plan_version(), layers=layers
            )
        self.publisher.poll()
        now = time.monotonic()
        if self.first_load is None:
            self.first_load = now
        if (iteration + 1) % self.args.window_iterations == 0:
            self.window_published[iteration // self.args.window_iterations] = now

    def receive(self, seconds):
        """Spends ``seconds`` taking decisions as they arrive, every rank in turn."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for follower, reader in zip(self.followers, self.readers):
                follower.receive(reader, 0.002)

    def close(self):
        self.publisher.flush()
        for reader in self.readers:
            reader.close()


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    log = open(args.log, "w") if args.log else None

    def emit(event):
        if log:
            log.write(json.dumps(event) + "\n")
            log.flush()

    kafka = _kafka_config(args)
    if args.topic_prefix is not None:
        try:
            require_tenant_job(args.topic_prefix, args.job)
        except ValueError as error:
            raise SystemExit(f"--topic-prefix/--job: {error}") from None
    ranks = None
    if args.no_moeplan:
        args.ranks, args.layers, args.experts = args.ranks or 4, args.layers or 2, args.experts or 8
        parallel = ParallelConfig(1, 1, args.ranks, args.ranks, args.slots_per_worker)
        placements = {
            layer: Placement.contiguous(args.ranks, args.slots_per_worker, args.experts)
            for layer in range(args.layers)
        }
    else:
        pool = read_pool(
            kafka, args.job, timeout=60, topic=topic_names(args.topic_prefix).plan_pool
        )
        parallel = parallel_config(pool)
        fit_pool(pool, parallel, args)
        placements = start_placements(pool)
        print(
            f"pool v{pool['poolVersion']} of job '{args.job}': {parallel.world_size} ranks"
            f" (pp {parallel.pp} x dp {parallel.dp}), {args.layers} MoE layers x {args.experts}"
            f" experts, ep {parallel.ep} x {parallel.slots_per_worker} slots, start layout"
            f" {pool.get('startLayoutSource') or 'of its first plan'}"
        )
        ranks = Ranks(args, kafka, parallel, placements)

    text = corpus(args.seed)
    vocab = sorted(set(text))
    ids = torch.tensor([vocab.index(c) for c in text])
    model = TinyMoeLm(
        len(vocab), args.hidden, 2, args.ffn, args.experts, 2, args.seq, placements
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    batch = parallel.dp * args.batch_per_rank
    data = torch.Generator().manual_seed(args.seed)
    started = time.monotonic()
    switches = 0
    for iteration in range(args.iterations):
        if ranks:
            outcomes, agreed = ranks.switches_before(iteration)
            for rank, outcome in enumerate(outcomes):
                for s in outcome.switches:
                    emit(switch_event(rank, iteration, outcome.window, s))
            for s in agreed:
                copied = apply_switch(model.blocks[s.layer].moe, s, optimizer)
                switches += 1
                moved = ", ".join(
                    f"e{m.expert} slot {m.from_slot}->{m.to_slot} (worker {m.from_worker}->"
                    f"{m.to_worker})"
                    for m in s.moves
                )
                print(
                    f"switch {s.decision_id} at iteration {iteration} on every rank of its stage"
                    f"{' (repair)' if s.repair else ''}: layer {s.layer} -> v{s.plan_version}, "
                    f"{copied / 1024:.1f} KiB moved: {moved}"
                )
        starts = torch.randint(0, len(ids) - args.seq - 1, (batch,), generator=data)
        window = torch.stack([ids[s : s + args.seq + 1] for s in starts.tolist()])
        logits, routes = model(window[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), window[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        for block in model.blocks:
            block.moe.sync_replica_grads()
        optimizer.step()
        emit({"event": "iteration", "iteration": iteration, "loss": loss.item()})
        if ranks:
            ranks.publish(iteration, routes)
        if iteration % args.print_every == 0 or iteration == args.iterations - 1:
            print(f"iteration {iteration:4d}  loss {loss.item():.4f}", flush=True)
        if args.rate and ranks:
            ranks.receive(max(0.0, started + (iteration + 1) / args.rate - time.monotonic()))

    summary = {"event": "summary", "iterations": args.iterations, "switches": switches}
    if ranks:
        ranks.close()
        counters = [f.counters() for f in ranks.followers]
        latencies = ranks.decision_latencies()
        summary.update(
            decision_latency_s={
                "windows": len(latencies),
                "p50": _percentile(latencies, 0.5),
                "max": latencies[-1] if latencies else None,
            },
            followers=counters,
            loads_sent=ranks.publisher.sent,
            loads_failed=ranks.publisher.failed,
            first_decision_after_first_load_s=(
                None
                if ranks.first_decision is None
                else round(ranks.first_decision - ranks.first_load, 3)
            ),
            window_s=round((time.monotonic() - started) / args.iterations * args.window_iterations, 3),
        )
        print(
            f"summary: {args.iterations} iterations, {counters[0]['decisions']} decisions taken by rank 0,"
            f" {switches} switches applied on every rank of their stage,"
            f" {counters[0]['timeouts']} timed out,"
            f" {counters[0]['late']} late, {ranks.publisher.sent} loads sent"
            f" ({ranks.publisher.failed} failed); first decision"
            f" {summary['first_decision_after_first_load_s']} s after the first load"
            f" (a window took {summary['window_s']} s); a window's decisions"
            f" {_ms(summary['decision_latency_s']['p50'])} after its last load (p50 of"
            f" {len(latencies)} windows, max {_ms(summary['decision_latency_s']['max'])})"
        )
    emit(summary)
    if log:
        log.close()
    return 0


def _percentile(values, q):
    return values[min(len(values) - 1, int(q * len(values)))] if values else None


def _ms(seconds):
    return "n/a" if seconds is None else f"{seconds * 1000:.0f} ms"


def switch_event(rank, iteration, window, switch):
    return {
        "event": "switch",
        "rank": rank,
        "iteration": iteration,
        "window": window,
        "layer": switch.layer,
        "decision_id": switch.decision_id,
        "plan_version": switch.plan_version,
        "repair": switch.repair,
        "after": list(switch.after.slot_to_expert),
        "moves": [[m.expert, m.from_slot, m.to_slot] for m in switch.moves],
    }


def fit_pool(pool, parallel, args):
    """Takes ranks, layers and experts from the pool; refuses ones given that differ."""
    model = pool["model"]
    problems = []
    for flag, given, pooled in (
        ("--ranks", args.ranks, parallel.world_size),
        ("--layers", args.layers, model["moeLayers"]),
        ("--experts", args.experts, model["expertCount"]),
    ):
        if given is not None and given != pooled:
            problems.append(f"{flag} {given}, the pool has {pooled}")
    if parallel.tp != 1:
        problems.append(f"this example runs tp=1, the pool has tp={parallel.tp}")
    if problems:
        raise SystemExit("the pool does not fit this run: " + "; ".join(problems))
    args.ranks, args.layers, args.experts = parallel.world_size, model["moeLayers"], model["expertCount"]


def _kafka_config(args):
    if args.kafka_config:
        # a Java client properties file, e.g. the tenant's file a secured moeplan broker writes
        return client_config_from_properties(args.kafka_config, args.bootstrap_servers)
    return {"bootstrap.servers": args.bootstrap_servers}


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--bootstrap-servers", default="localhost:9092", help="Kafka bootstrap servers")
    p.add_argument(
        "--kafka-config",
        help="a Java Kafka client properties file (security settings, e.g. the tenant's file a"
        " secured moeplan broker writes), mapped to librdkafka settings",
    )
    p.add_argument(
        "--topic-prefix",
        help="the tenant's topic prefix P: topics P.moe.expert-load, ...; the job id must start"
        " with 'P.'",
    )
    p.add_argument("--job", default="default", help="the job id the pool was published for")
    p.add_argument("--run-id", default=None, help="run id of this training run (None: the job's one run)")
    p.add_argument("--attempt", type=int, default=0, help="resumes of this run from a checkpoint")
    p.add_argument("--no-moeplan", action="store_true", help="train without moeplan (the baseline)")
    p.add_argument("--ranks", type=int, help="ranks: the pool's world size (4 without moeplan)")
    p.add_argument("--layers", type=int, help="MoE layers: the pool's (2 without moeplan)")
    p.add_argument("--experts", type=int, help="experts per MoE layer: the pool's (8 without moeplan)")
    p.add_argument("--slots-per-worker", type=int, default=2, help="slots per rank without moeplan")
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--window-iterations", type=int, default=10, help="the job's window length")
    p.add_argument("--lead-iterations", type=int, default=2, help="the job's lead")
    p.add_argument("--decision-timeout", type=float, default=10.0, help="seconds a rank waits at an effective iteration")
    p.add_argument("--rate", type=float, default=0, help="iterations per second at most (0: as fast as it trains)")
    p.add_argument("--batch-per-rank", type=int, default=4, help="sequences per rank and iteration")
    p.add_argument("--seq", type=int, default=32, help="sequence length")
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--ffn", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--print-every", type=int, default=10, help="print the loss every N iterations")
    p.add_argument("--log", help="write a JSON line per iteration, switch and the summary here")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
