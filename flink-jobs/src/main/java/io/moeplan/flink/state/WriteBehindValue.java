package io.moeplan.flink.state;

import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.TypeSerializer;

/**
 * A keyed value kept in heap in front of a {@link ValueState}: a key's first read loads the state,
 * later reads and every write stay in heap until {@link #flush}. Every call names the key, which
 * must be the operator's current key (the state reads and writes apply to that one).
 *
 * <p>Values are held by reference: a caller that mutates a value it read must {@link #update} it so
 * that the change is flushed. A flush writes copies, so later changes in heap never reach a
 * snapshot still being written (a heap state backend keeps the objects it is given).
 */
public final class WriteBehindValue<V> {

  private final ValueState<V> state;
  private final TypeSerializer<V> serializer;
  private final int maxCleanKeys;
  // null values are known-absent keys
  private final Map<Object, V> values = new HashMap<>();
  // keys the state holds a value for
  private final Set<Object> stored = new HashSet<>();
  private final Set<Object> dirty = new HashSet<>();

  private WriteBehindValue(ValueState<V> state, TypeSerializer<V> serializer, int maxCleanKeys) {
    this.state = state;
    this.serializer = serializer;
    this.maxCleanKeys = maxCleanKeys;
  }

  /**
   * A cache in front of the state {@code descriptor} names, which drops its entries at a flush once
   * it holds more than {@code maxCleanKeys} keys ({@link #overBudget}, which the operator checks
   * after each element).
   */
  public static <V> WriteBehindValue<V> of(
      RuntimeContext context, ValueStateDescriptor<V> descriptor, int maxCleanKeys) {
    ValueState<V> state = context.getState(descriptor);
    return new WriteBehindValue<>(state, descriptor.getSerializer(), maxCleanKeys);
  }

  /** The value of {@code key}, null when it has none. */
  public V value(Object key) throws IOException {
    V value = values.get(key);
    if (value == null && !values.containsKey(key)) {
      value = state.value();
      values.put(key, value);
      if (value != null) {
        stored.add(key);
      }
    }
    return value;
  }

  /** Sets the value of {@code key}. */
  public void update(Object key, V value) {
    values.put(key, value);
    dirty.add(key);
  }

  /** Removes the value of {@code key}. */
  public void clear(Object key) {
    update(key, null);
  }

  /** Whether it holds more keys than it keeps after a flush. */
  public boolean overBudget() {
    return values.size() > maxCleanKeys;
  }

  /**
   * Writes every changed key's value to the state; a value set and cleared again since the last
   * flush costs the state nothing.
   */
  public void flush(WriteBehind.KeyScope scope) throws Exception {
    for (Object key : dirty) {
      V value = values.get(key);
      if (value != null) {
        scope.setCurrentKey(key);
        state.update(serializer.copy(value));
        stored.add(key);
      } else if (stored.remove(key)) {
        scope.setCurrentKey(key);
        state.clear();
      }
    }
    dirty.clear();
    if (values.size() > maxCleanKeys) {
      values.clear();
      stored.clear();
    }
  }
}
