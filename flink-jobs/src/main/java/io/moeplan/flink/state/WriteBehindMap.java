package io.moeplan.flink.state;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeutils.TypeSerializer;

/**
 * A keyed map kept in heap in front of a {@link MapState}: a key's first access loads all its
 * entries, later reads and every write stay in heap until {@link #flush}, which writes only the
 * entries that changed. Every call names the key, which must be the operator's current key.
 *
 * <p>Values are held by reference: a caller that mutates a value it read must {@link #put} it so
 * that the change is flushed. A flush writes copies, so later changes in heap never reach a
 * snapshot still being written (a heap state backend keeps the objects it is given).
 */
public final class WriteBehindMap<K, V> {

  private final MapState<K, V> state;
  private final TypeSerializer<V> serializer;
  private final int maxCleanKeys;
  private final Map<Object, KeyEntries<K, V>> byKey = new HashMap<>();
  private final Set<Object> dirtyKeys = new HashSet<>();

  /** One key's entries, which of them the state holds, and which changed since the last flush. */
  private static final class KeyEntries<K, V> {
    final Map<K, V> live = new HashMap<>();
    final Set<K> stored = new HashSet<>();
    final Set<K> changed = new HashSet<>();
  }

  private WriteBehindMap(MapState<K, V> state, TypeSerializer<V> serializer, int maxCleanKeys) {
    this.state = state;
    this.serializer = serializer;
    this.maxCleanKeys = maxCleanKeys;
  }

  /**
   * A cache in front of the state {@code descriptor} names, which drops its entries at a flush once
   * it holds more than {@code maxCleanKeys} keys ({@link #overBudget}, which the operator checks
   * after each element). User keys must be immutable.
   */
  public static <K, V> WriteBehindMap<K, V> of(
      RuntimeContext context, MapStateDescriptor<K, V> descriptor, int maxCleanKeys) {
    MapState<K, V> state = context.getMapState(descriptor);
    return new WriteBehindMap<>(state, descriptor.getValueSerializer(), maxCleanKeys);
  }

  private KeyEntries<K, V> load(Object key) throws Exception {
    KeyEntries<K, V> entries = byKey.get(key);
    if (entries == null) {
      entries = new KeyEntries<>();
      for (Map.Entry<K, V> entry : state.entries()) {
        entries.live.put(entry.getKey(), entry.getValue());
        entries.stored.add(entry.getKey());
      }
      byKey.put(key, entries);
    }
    return entries;
  }

  /** All entries of {@code key}, live: read it, change it only through this class. */
  public Map<K, V> entries(Object key) throws Exception {
    return load(key).live;
  }

  /** The value under {@code userKey} of {@code key}, null when none. */
  public V get(Object key, K userKey) throws Exception {
    return load(key).live.get(userKey);
  }

  /** Puts a value under {@code userKey} of {@code key}. */
  public void put(Object key, K userKey, V value) throws Exception {
    KeyEntries<K, V> entries = load(key);
    entries.live.put(userKey, value);
    entries.changed.add(userKey);
    dirtyKeys.add(key);
  }

  /** Removes {@code userKey} of {@code key}. */
  public void remove(Object key, K userKey) throws Exception {
    KeyEntries<K, V> entries = load(key);
    if (entries.live.remove(userKey) != null) {
      entries.changed.add(userKey);
      dirtyKeys.add(key);
    }
  }

  /** Whether it holds more keys than it keeps after a flush. */
  public boolean overBudget() {
    return byKey.size() > maxCleanKeys;
  }

  /**
   * Writes every changed entry to the state; an entry added and removed again since the last flush
   * costs the state nothing (no delete marker for a key it never held).
   */
  public void flush(WriteBehind.KeyScope scope) throws Exception {
    for (Object key : dirtyKeys) {
      scope.setCurrentKey(key);
      KeyEntries<K, V> entries = byKey.get(key);
      for (K userKey : entries.changed) {
        V value = entries.live.get(userKey);
        if (value != null) {
          state.put(userKey, serializer.copy(value));
          entries.stored.add(userKey);
        } else if (entries.stored.remove(userKey)) {
          state.remove(userKey);
        }
      }
      entries.changed.clear();
    }
    dirtyKeys.clear();
    if (byKey.size() > maxCleanKeys) {
      byKey.clear();
    }
  }
}
