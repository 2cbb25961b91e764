package io.moeplan.flink.state;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A per-key counter behind a write-behind cache of at most two keys. */
class WriteBehindOperatorsTest {

  private KeyedOneInputStreamOperatorTestHarness<String, String, String> harness;

  @AfterEach
  void close() throws Exception {
    harness.close();
  }

  @Test
  void keepsChangesInHeapUntilTheSnapshotWritesThem() throws Exception {
    harness = harness(null);
    harness.processElement("a", 0);
    harness.processElement("a", 0);
    harness.processElement("b", 0);
    assertThat(harness.numKeyedStateEntries()).as("nothing written yet").isZero();

    OperatorSubtaskState snapshot = harness.snapshot(1, 0);

    assertThat(harness.numKeyedStateEntries()).isEqualTo(2);
    harness.processElement("a", 0);
    harness.close();
    harness = harness(snapshot);
    harness.processElement("a", 0);
    harness.processElement("b", 0);
    assertThat(harness.extractOutputValues())
        .as("counts go on from the snapshot; the change after it is not in it")
        .containsExactly("a=3", "b=2");
  }

  @Test
  void writesAndDropsEverythingOnceMoreKeysChangeThanTheCacheKeeps() throws Exception {
    harness = harness(null);
    harness.processElement("a", 0);
    harness.processElement("b", 0);
    assertThat(harness.numKeyedStateEntries()).isZero();

    harness.processElement("c", 0);

    assertThat(harness.numKeyedStateEntries()).as("a third key: all written").isEqualTo(3);
    harness.processElement("a", 0);
    harness.processElement("c", 0);
    assertThat(harness.extractOutputValues())
        .as("reloaded from state after the heap copies were dropped")
        .containsExactly("a=1", "b=1", "c=1", "a=2", "c=2");
  }

  @Test
  void writesOnlyWhatDiffersFromTheStateAtTheSnapshot() throws Exception {
    harness = harness(null);
    harness.processElement("a", 0);
    harness.processElement("a!", 0);
    harness.processElement("b", 0);
    harness.snapshot(1, 0);
    assertThat(harness.numKeyedStateEntries()).as("a came and went: only b").isEqualTo(1);

    harness.processElement("b!", 0);
    harness.processElement("c", 0);
    OperatorSubtaskState snapshot = harness.snapshot(2, 0);
    assertThat(harness.numKeyedStateEntries()).as("b cleared, c written").isEqualTo(1);

    harness.close();
    harness = harness(snapshot);
    harness.processElement("b", 0);
    harness.processElement("c", 0);
    assertThat(harness.extractOutputValues()).containsExactly("b=1", "c=2");
  }

  private static KeyedOneInputStreamOperatorTestHarness<String, String, String> harness(
      OperatorSubtaskState snapshot) throws Exception {
    return Harnesses.opened(
        new KeyedOneInputStreamOperatorTestHarness<>(
            WriteBehindOperators.keyed(new Counter()),
            element -> element.replace("!", ""),
            Types.STRING),
        snapshot);
  }

  /** Counts the elements of each key and emits {@code key=count}; {@code key!} resets the key. */
  private static final class Counter extends KeyedProcessFunction<String, String, String>
      implements WriteBehind {
    private transient WriteBehindValue<Integer> counts;

    @Override
    public void open(OpenContext openContext) {
      counts =
          WriteBehindValue.of(
              getRuntimeContext(), new ValueStateDescriptor<>("count", Types.INT), 2);
    }

    @Override
    public void processElement(String element, Context context, Collector<String> out)
        throws Exception {
      String key = context.getCurrentKey();
      if (element.endsWith("!")) {
        counts.clear(key);
        return;
      }
      Integer count = counts.value(key);
      int next = count == null ? 1 : count + 1;
      counts.update(key, next);
      out.collect(key + "=" + next);
    }

    @Override
    public void flush(KeyScope scope) throws Exception {
      counts.flush(scope);
    }

    @Override
    public boolean overBudget() {
      return counts.overBudget();
    }
  }
}
