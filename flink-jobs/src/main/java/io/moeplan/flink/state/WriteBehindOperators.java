package io.moeplan.flink.state;

import java.util.List;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithKeyedOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Flink's operators for keyed and keyed-broadcast process functions, flushing a {@link WriteBehind}
 * function's heap state into keyed state in the operator's snapshot step, which Flink runs in the
 * task thread right before it snapshots the keyed state: the flush cannot interleave with elements
 * or timers, and every checkpoint and savepoint holds it. After an element that leaves the function
 * {@link WriteBehind#overBudget}, they also flush at once.
 *
 * <p><b>Stability:</b> this relies on Flink classes marked {@code @Internal}, which may change in
 * any Flink release: it extends {@link KeyedProcessOperator} and {@link
 * CoBroadcastWithKeyedOperator} (what {@code KeyedStream#process} and {@code
 * BroadcastConnectedStream#process} build) and overrides {@link
 * AbstractStreamOperator#snapshotState(StateSnapshotContext)}, counting on Flink's {@code
 * StreamOperatorStateHandler} to call it on the task thread before it snapshots the keyed state
 * backend (checked for Flink 2.2). {@code SnapshotOrderGuardTest} fails when an upgrade breaks that
 * order, for both operator kinds on the RocksDB backend; re-check this class before upgrading Flink
 * past a failing guard.
 */
public final class WriteBehindOperators {

  private WriteBehindOperators() {}

  /** The operator of a keyed process function that is {@link WriteBehind}. */
  public static <K, I, O, F extends KeyedProcessFunction<K, I, O> & WriteBehind>
      KeyedProcessOperator<K, I, O> keyed(F function) {
    return new Keyed<>(function);
  }

  /** The operator of a keyed broadcast process function that is {@link WriteBehind}. */
  public static <K, I, B, O, F extends KeyedBroadcastProcessFunction<K, I, B, O> & WriteBehind>
      CoBroadcastWithKeyedOperator<K, I, B, O> keyedBroadcast(
          F function, List<MapStateDescriptor<?, ?>> broadcastStates) {
    return new KeyedBroadcast<>(function, broadcastStates);
  }

  private static final class Keyed<K, I, O> extends KeyedProcessOperator<K, I, O> {
    private static final long serialVersionUID = 1L;

    Keyed(KeyedProcessFunction<K, I, O> function) {
      super(function);
    }

    @Override
    public void processElement(StreamRecord<I> element) throws Exception {
      super.processElement(element);
      flushIfOverBudget(this, (WriteBehind) userFunction);
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
      ((WriteBehind) userFunction).flush(this::setCurrentKey);
      super.snapshotState(context);
    }
  }

  /** Flushes between checkpoints when the function's caches grew past their bounds. */
  private static void flushIfOverBudget(AbstractStreamOperator<?> operator, WriteBehind function)
      throws Exception {
    if (function.overBudget()) {
      Object key = operator.getCurrentKey();
      function.flush(operator::setCurrentKey);
      operator.setCurrentKey(key);
    }
  }

  private static final class KeyedBroadcast<K, I, B, O>
      extends CoBroadcastWithKeyedOperator<K, I, B, O> {
    private static final long serialVersionUID = 1L;

    KeyedBroadcast(
        KeyedBroadcastProcessFunction<K, I, B, O> function,
        List<MapStateDescriptor<?, ?>> broadcastStates) {
      super(function, broadcastStates);
    }

    @Override
    public void processElement1(StreamRecord<I> element) throws Exception {
      super.processElement1(element);
      flushIfOverBudget(this, (WriteBehind) userFunction);
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
      ((WriteBehind) userFunction).flush(this::setCurrentKey);
      super.snapshotState(context);
    }
  }
}
