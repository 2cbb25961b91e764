package io.moeplan.flink.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.flink.input.DeadLetters;
import io.moeplan.flink.input.ExpertLoadDecoder;
import io.moeplan.flink.input.RankGate;
import io.moeplan.flink.input.RankLoad;
import io.moeplan.flink.input.RawRecord;
import io.moeplan.flink.layer.LayerSample;
import io.moeplan.flink.layer.LayerWindowSelector;
import io.moeplan.flink.layer.RankWindowAggregator;
import io.moeplan.flink.state.Harnesses;
import io.moeplan.flink.state.WriteBehindOperators;
import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.schemas.DeadLetter;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.SampleRecords;
import io.moeplan.schemas.Topics;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.types.Either;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The job's three keyed operators (gate, per-rank window sums, per-layer selector), chained as the
 * job chains them, fed a seeded stream of good loads once alone and once with bad records of every
 * kind (including single loads naming another run or attempt) interleaved at random: the decisions
 * must be the same, and every bad record must come out as a dead letter or a counted redelivery,
 * never as a decision's input.
 */
class BadRecordsPropertyTest {

  private static final String JOB = "job";
  private static final int RANKS = 4;
  private static final int EXPERTS = 4;
  private static final int F = 3;
  private static final int LEAD = 2;
  private static final long WINDOW_TIMEOUT = 60_000;
  private static final long HOLD_TIMEOUT = 60_000;
  private static final int MAX_JUMP = 50;
  private static final int WINDOWS = 12;

  private long nextOffset;

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
  void badRecordsInterleavedAnywhereLeaveTheDecisionsOfTheGoodOnesUnchanged(long seed)
      throws Exception {
    List<List<ExpertLoad>> good = goodLoads(new Random(seed));

    Outcome clean = run(interleave(good, List.of(), new Random(seed)));
    BadRecords bad = badRecords(good, new Random(seed * 31 + 7));
    Outcome dirty = run(interleave(good, bad.placed, new Random(seed * 17 + 3)));

    assertThat(clean.decisions).hasSize(2 * WINDOWS);
    assertThat(clean.deadLetters).isEmpty();
    assertThat(clean.decisions.values())
        .as("the good loads make the selector switch at least once")
        .anyMatch(decision -> decision.getAction().name().equals("SWITCH"));
    assertThat(dirty.admitted).as("every good load admitted once").isEqualTo(clean.admitted);
    assertThat(dirty.decisions).isEqualTo(clean.decisions);
    assertThat(dirty.deadLetters)
        .as("every bad record but the exact redeliveries dead-lettered, each with a reason")
        .hasSize(bad.placed.size() - bad.exactRedeliveries)
        .allSatisfy(letter -> assertThat(letter.getDetail()).isNotBlank());
  }

  /** Per rank, the good loads of every iteration, in order; hot experts drift across windows. */
  private static List<List<ExpertLoad>> goodLoads(Random random) {
    List<List<ExpertLoad>> byRank = new ArrayList<>();
    for (int rank = 0; rank < RANKS; rank++) {
      byRank.add(new ArrayList<>());
    }
    for (int window = 0; window < WINDOWS; window++) {
      int hotA = random.nextInt(EXPERTS);
      int hotB = random.nextInt(EXPERTS);
      for (int iteration = window * F; iteration < (window + 1) * F; iteration++) {
        for (int rank = 0; rank < RANKS; rank++) {
          List<LayerLoad> layers = new ArrayList<>();
          for (int layer = 0; layer < 2; layer++) {
            List<Long> counts = new ArrayList<>();
            for (int e = 0; e < EXPERTS; e++) {
              long base = 200 + random.nextInt(100);
              counts.add(e == hotA || e == (hotB + layer) % EXPERTS ? base * 40 : base);
            }
            layers.add(new LayerLoad(layer, counts));
          }
          byRank.get(rank).add(load(rank, iteration, layers));
        }
      }
    }
    return byRank;
  }

  private static ExpertLoad load(int rank, long iteration, List<LayerLoad> layers) {
    return ExpertLoad.newBuilder(SampleRecords.expertLoad(JOB, rank, iteration))
        .setLayers(layers)
        .build();
  }

  /** The bad records, each placed before a position of one rank's good loads. */
  private record BadRecords(List<Placed> placed, int exactRedeliveries) {}

  /** A raw record to send right before good load {@code before} of {@code rank} (or at the end). */
  private record Placed(int rank, int before, RawRecord record) {}

  private BadRecords badRecords(List<List<ExpertLoad>> good, Random random) {
    List<Placed> placed = new ArrayList<>();
    int redeliveries = 0;
    int perRank = good.get(0).size();
    for (int i = 0; i < 3; i++) {
      int rank = random.nextInt(RANKS);
      int at = 1 + random.nextInt(perRank - 1);
      ExpertLoad original = good.get(rank).get(at - 1);
      byte[] encoded = Topics.EXPERT_LOAD.valueCodec().encode(original);
      byte[] unknown = encoded.clone();
      unknown[5] ^= 0x5A;
      // anywhere in the rank's stream, also before its first good load
      List<RawRecord> anywhere =
          List.of(
              raw(key(rank), new byte[] {0x7B, 0x7D}),
              raw(key(rank), Arrays.copyOf(encoded, 9)),
              raw(key(rank), unknown),
              raw(key((rank + 1) % RANKS), encoded),
              raw(ExpertLoad.newBuilder(original).setWorldSize(RANKS * 2).build()),
              raw(withLayer(original, 0, 1L, -5L, 1L, 1L)),
              raw(withLayer(original, 7, 1L, 1L, 1L, 1L)),
              raw(withLayer(original, 0, 1L, 1L, 1L)),
              raw(withIteration(original, 1_000_000_000L * (i + 1) + random.nextInt(1000))),
              raw(ExpertLoad.newBuilder(original).setRunId("stray-" + i).build()),
              raw(ExpertLoad.newBuilder(original).setAttempt(3 + i).build()));
      for (RawRecord record : anywhere) {
        placed.add(new Placed(rank, random.nextInt(perRank + 1), record));
      }
      placed.add(new Placed(rank, 0, raw(withIteration(original, 500_000L * (i + 1)))));
      // redeliveries: only after the original; an exact one soon after it, while the gate still
      // remembers the iteration (a later one is dead-lettered as out of order, not counted)
      placed.add(
          new Placed(
              rank, Math.min(perRank, at + random.nextInt(RankGate.RECENT / 2)), raw(original)));
      redeliveries++;
      int after = at + random.nextInt(perRank - at + 1);
      placed.add(new Placed(rank, after, raw(withLayer(original, 0, 9L, 9L, 9L, 9L))));
      // an iteration of the rank, re-sent with other counts after the rank went past it
      if (at >= 2) {
        ExpertLoad older = good.get(rank).get(at - 2);
        placed.add(new Placed(rank, after, raw(withLayer(older, 1, 3L, 3L, 3L, 3L))));
      }
    }
    return new BadRecords(placed, redeliveries);
  }

  private static ExpertLoad withLayer(ExpertLoad load, int layer, Long... counts) {
    return ExpertLoad.newBuilder(load)
        .setLayers(List.of(new LayerLoad(layer, List.of(counts))))
        .build();
  }

  private static ExpertLoad withIteration(ExpertLoad load, long iteration) {
    return ExpertLoad.newBuilder(load).setIteration(iteration).build();
  }

  /**
   * The records in a random interleaving of the ranks' streams; each rank's good loads keep their
   * order (one Kafka partition each), the bad ones sit where they were placed.
   */
  private List<RawRecord> interleave(List<List<ExpertLoad>> good, List<Placed> bad, Random random) {
    List<List<RawRecord>> streams = new ArrayList<>();
    for (int rank = 0; rank < RANKS; rank++) {
      List<RawRecord> stream = new ArrayList<>();
      List<ExpertLoad> loads = good.get(rank);
      for (int i = 0; i <= loads.size(); i++) {
        for (Placed placed : bad) {
          if (placed.rank == rank && placed.before == i) {
            stream.add(placed.record);
          }
        }
        if (i < loads.size()) {
          stream.add(raw(loads.get(i)));
        }
      }
      streams.add(stream);
    }
    List<RawRecord> out = new ArrayList<>();
    int[] next = new int[RANKS];
    while (true) {
      List<Integer> open = new ArrayList<>();
      for (int rank = 0; rank < RANKS; rank++) {
        if (next[rank] < streams.get(rank).size()) {
          open.add(rank);
        }
      }
      if (open.isEmpty()) {
        return out;
      }
      int rank = open.get(random.nextInt(open.size()));
      out.add(streams.get(rank).get(next[rank]++));
    }
  }

  private record Outcome(
      Map<String, PlanDecision> decisions,
      Map<String, List<Long>> admitted,
      List<DeadLetter> deadLetters) {}

  /** Runs the records through gate, window sums and selector, then lets every timer fire. */
  private static Outcome run(List<RawRecord> records) throws Exception {
    PlanPool pool = SampleRecords.planPool(JOB);
    try (var gate =
            Harnesses.opened(
                new KeyedBroadcastOperatorTestHarness<>(
                    WriteBehindOperators.keyedBroadcast(
                        new RankGate(100, HOLD_TIMEOUT, 1_000, MAX_JUMP, WINDOW_TIMEOUT),
                        List.of(PoolState.DESCRIPTOR)),
                    ExpertLoadDecoder::rankKeyOf,
                    Types.STRING,
                    1,
                    1,
                    0),
                null);
        var sums =
            Harnesses.opened(
                new KeyedOneInputStreamOperatorTestHarness<>(
                    WriteBehindOperators.keyed(new RankWindowAggregator(F, WINDOW_TIMEOUT)),
                    PlanSelectorJob::rankKey,
                    Types.STRING),
                null);
        var selector =
            Harnesses.opened(
                new KeyedBroadcastOperatorTestHarness<>(
                    WriteBehindOperators.keyedBroadcast(
                        new LayerWindowSelector(
                            F, LEAD, WINDOW_TIMEOUT, MAX_JUMP, SelectorOptions.defaults(F)),
                        List.of(PoolState.DESCRIPTOR, PoolState.FITS)),
                    LayerSample::key,
                    Types.STRING,
                    1,
                    1,
                    0),
                null)) {
      gate.setProcessingTime(0);
      sums.setProcessingTime(0);
      selector.setProcessingTime(0);
      gate.processBroadcastElement(pool, 0);
      selector.processBroadcastElement(Either.Left(pool), 0);
      Map<String, List<Long>> admitted = new TreeMap<>();
      Chain chain = new Chain(gate, sums, selector, admitted);
      for (RawRecord record : records) {
        gate.processElement(record, 0);
        chain.forward();
      }
      for (long t = 1_000; t <= 2 * WINDOW_TIMEOUT; t += 1_000) {
        gate.setProcessingTime(t);
        chain.forward();
        sums.setProcessingTime(t);
        chain.forward();
        selector.setProcessingTime(t);
        chain.forward();
      }
      Map<String, PlanDecision> decisions = new TreeMap<>();
      for (PlanDecision decision : selector.extractOutputValues()) {
        decisions.put(decision.getDecisionId(), decision);
      }
      List<DeadLetter> letters = new ArrayList<>();
      var side = gate.getSideOutput(DeadLetters.TAG);
      if (side != null) {
        side.forEach(record -> letters.add(record.getValue()));
      }
      return new Outcome(decisions, admitted, letters);
    }
  }

  /** Moves what each operator emitted since the last call on to the next one. */
  private static final class Chain {
    private final KeyedBroadcastOperatorTestHarness<String, RawRecord, PlanPool, RankLoad> gate;
    private final KeyedOneInputStreamOperatorTestHarness<String, RankLoad, LayerSample> sums;
    private final KeyedBroadcastOperatorTestHarness<
            String, LayerSample, Either<PlanPool, ModelFit>, PlanDecision>
        selector;
    private final Map<String, List<Long>> admitted;
    private int gateOut;
    private int sumsOut;

    Chain(
        KeyedBroadcastOperatorTestHarness<String, RawRecord, PlanPool, RankLoad> gate,
        KeyedOneInputStreamOperatorTestHarness<String, RankLoad, LayerSample> sums,
        KeyedBroadcastOperatorTestHarness<
                String, LayerSample, Either<PlanPool, ModelFit>, PlanDecision>
            selector,
        Map<String, List<Long>> admitted) {
      this.gate = gate;
      this.sums = sums;
      this.selector = selector;
      this.admitted = admitted;
    }

    void forward() throws Exception {
      List<RankLoad> loads = gate.extractOutputValues();
      for (; gateOut < loads.size(); gateOut++) {
        RankLoad load = loads.get(gateOut);
        admitted
            .computeIfAbsent(load.jobId + "/" + load.rank, k -> new ArrayList<>())
            .add(load.iteration);
        sums.processElement(new StreamRecord<>(load, 0));
      }
      List<LayerSample> samples = sums.extractOutputValues();
      for (; sumsOut < samples.size(); sumsOut++) {
        selector.processElement(samples.get(sumsOut), 0);
      }
    }
  }

  private static String key(int rank) {
    return Topics.expertLoadKey(JOB, rank);
  }

  private RawRecord raw(ExpertLoad load) {
    return raw(key(load.getRank()), Topics.EXPERT_LOAD.valueCodec().encode(load));
  }

  private RawRecord raw(String key, byte[] value) {
    return new RawRecord(
        Topics.EXPERT_LOAD.name(),
        0,
        nextOffset++,
        key.getBytes(StandardCharsets.UTF_8),
        value,
        1_000L);
  }
}
