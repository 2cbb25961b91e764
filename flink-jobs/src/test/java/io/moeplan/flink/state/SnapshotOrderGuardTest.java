package io.moeplan.flink.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;

/**
 * Guards what {@link WriteBehindOperators} relies on in Flink's {@code @Internal} operator classes:
 * that an operator's {@code snapshotState(StateSnapshotContext)} runs before the keyed state
 * backend is snapshotted, on the task thread, for both operator kinds the job uses, with the
 * RocksDB backend the job runs on. If a Flink upgrade changes that order, heap state flushed in
 * that step would miss the checkpoint and a restore would silently lose it; these tests then fail,
 * naming the assumption.
 */
class SnapshotOrderGuardTest {

  private static final String BROKEN =
      "Flink no longer snapshots keyed state after the operator's snapshotState(StateSnapshotContext)"
          + " step: WriteBehindOperators' flush would miss checkpoints";

  @Test
  void theKeyedOperatorsFlushIsInTheRocksDbSnapshotItRunsBefore() throws Exception {
    assertTheFlushIsInTheSnapshot(
        (calls, snapshot) -> keyed(new Remember(calls), snapshot),
        (harness, element) -> harness.processElement(element, 0));
  }

  @Test
  void theKeyedBroadcastOperatorsFlushIsInTheRocksDbSnapshotItRunsBefore() throws Exception {
    assertTheFlushIsInTheSnapshot(
        (calls, snapshot) -> keyedBroadcast(new RememberWithBroadcast(calls), snapshot),
        (harness, element) -> harness.processElement(element, 0));
  }

  /** Opens a harness of the operator under test, remembering flushes in {@code calls}. */
  private interface Opening<H> {
    H open(List<String> calls, OperatorSubtaskState snapshot) throws Exception;
  }

  /** Sends one element into a harness. */
  private interface Feeding<H> {
    void send(H harness, String element) throws Exception;
  }

  /**
   * Two keys before a snapshot, then a restore: the flush ran once, on this thread, and the keys it
   * wrote are in the snapshot.
   */
  private static <H extends AbstractStreamOperatorTestHarness<String>>
      void assertTheFlushIsInTheSnapshot(Opening<H> opening, Feeding<H> feeding) throws Exception {
    List<String> calls = new ArrayList<>();
    OperatorSubtaskState snapshot;
    try (H harness = opening.open(calls, null)) {
      feeding.send(harness, "a");
      feeding.send(harness, "b");

      snapshot = harness.snapshot(1, 0);

      assertThat(calls)
          .as("the flush runs on the thread that processes elements")
          .containsExactly("flush on " + Thread.currentThread().getName());
    }
    try (H restored = opening.open(new ArrayList<>(), snapshot)) {
      feeding.send(restored, "a");
      feeding.send(restored, "c");
      List<Object> out = new ArrayList<>();
      for (Object record : restored.getOutput()) {
        out.add(((StreamRecord<?>) record).getValue());
      }
      assertThat(out).as(BROKEN).containsExactly("a seen", "c new");
    }
  }

  private static KeyedOneInputStreamOperatorTestHarness<String, String, String> keyed(
      Remember function, OperatorSubtaskState snapshot) throws Exception {
    var harness =
        new KeyedOneInputStreamOperatorTestHarness<>(
            WriteBehindOperators.keyed(function), element -> element, Types.STRING);
    return onRocksDb(harness, snapshot);
  }

  private static KeyedBroadcastOperatorTestHarness<String, String, String, String> keyedBroadcast(
      RememberWithBroadcast function, OperatorSubtaskState snapshot) throws Exception {
    var harness =
        new KeyedBroadcastOperatorTestHarness<>(
            WriteBehindOperators.keyedBroadcast(function, List.of(RememberWithBroadcast.BROADCAST)),
            (String element) -> element,
            Types.STRING,
            1,
            1,
            0);
    return onRocksDb(harness, snapshot);
  }

  private static <H extends AbstractStreamOperatorTestHarness<?>> H onRocksDb(
      H harness, OperatorSubtaskState snapshot) throws Exception {
    harness.setStateBackend(new EmbeddedRocksDBStateBackend(true));
    return Harnesses.opened(harness, snapshot);
  }

  /** Emits whether each key was seen before; remembers keys behind a write-behind cache. */
  private static final class Seen {
    private final List<String> calls;
    private WriteBehindValue<Boolean> seen;

    Seen(List<String> calls) {
      this.calls = calls;
    }

    void open(org.apache.flink.api.common.functions.RuntimeContext context) {
      seen = WriteBehindValue.of(context, new ValueStateDescriptor<>("seen", Types.BOOLEAN), 100);
    }

    void process(String key, Collector<String> out) throws Exception {
      out.collect(key + (seen.value(key) == null ? " new" : " seen"));
      seen.update(key, true);
    }

    void flush(WriteBehind.KeyScope scope) throws Exception {
      calls.add("flush on " + Thread.currentThread().getName());
      seen.flush(scope);
    }
  }

  private static final class Remember extends KeyedProcessFunction<String, String, String>
      implements WriteBehind {
    private final transient Seen seen;

    Remember(List<String> calls) {
      this.seen = new Seen(calls);
    }

    @Override
    public void open(OpenContext openContext) {
      seen.open(getRuntimeContext());
    }

    @Override
    public void processElement(String element, Context context, Collector<String> out)
        throws Exception {
      seen.process(context.getCurrentKey(), out);
    }

    @Override
    public void flush(KeyScope scope) throws Exception {
      seen.flush(scope);
    }

    @Override
    public boolean overBudget() {
      return false;
    }
  }

  private static final class RememberWithBroadcast
      extends KeyedBroadcastProcessFunction<String, String, String, String> implements WriteBehind {
    static final MapStateDescriptor<String, String> BROADCAST =
        new MapStateDescriptor<>("broadcast", Types.STRING, Types.STRING);
    private final transient Seen seen;

    RememberWithBroadcast(List<String> calls) {
      this.seen = new Seen(calls);
    }

    @Override
    public void open(OpenContext openContext) {
      seen.open(getRuntimeContext());
    }

    @Override
    public void processElement(String element, ReadOnlyContext context, Collector<String> out)
        throws Exception {
      seen.process(context.getCurrentKey(), out);
    }

    @Override
    public void processBroadcastElement(String element, Context context, Collector<String> out) {}

    @Override
    public void flush(KeyScope scope) throws Exception {
      seen.flush(scope);
    }

    @Override
    public boolean overBudget() {
      return false;
    }
  }
}
