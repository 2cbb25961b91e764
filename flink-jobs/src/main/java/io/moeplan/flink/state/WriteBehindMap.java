package io.moeplan.flink.state;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.state.MapState;

/**
 * A keyed map kept in heap in front of a {@link MapState}: a key's first access loads all its
 * entries, later reads and every write stay in heap until {@link #flush}, which writes only the
 * entries that changed. Every call names the key, which must be the operator's current key.
 *
 * <p>Values are held by reference: a caller that mutates a value it read must {@link #put} it so
 * that the change is flushed.
 */
public final class WriteBehindMap<K, V> {

  private final MapState<K, V> state;
  private final int maxCleanKeys;
  // per key: its entries, and the user keys changed since the last flush (removed ones map to null)
  private final Map<Object, Map<K, V>> entries = new HashMap<>();
  private final Map<Object, Set<K>> dirty = new HashMap<>();

  /**
   * A cache in front of {@code state} that drops its clean keys at a flush once it holds more than
   * {@code maxCleanKeys} keys.
   */
  public WriteBehindMap(MapState<K, V> state, int maxCleanKeys) {
    this.state = state;
    this.maxCleanKeys = maxCleanKeys;
  }

  /** All entries of {@code key}, live: read it, change it only through this class. */
  public Map<K, V> entries(Object key) throws Exception {
    Map<K, V> map = entries.get(key);
    if (map == null) {
      map = new HashMap<>();
      for (Map.Entry<K, V> entry : state.entries()) {
        map.put(entry.getKey(), entry.getValue());
      }
      entries.put(key, map);
    }
    return map;
  }

  /** The value under {@code userKey} of {@code key}, null when none. */
  public V get(Object key, K userKey) throws Exception {
    return entries(key).get(userKey);
  }

  /** Puts a value under {@code userKey} of {@code key}. */
  public void put(Object key, K userKey, V value) throws Exception {
    entries(key).put(userKey, value);
    dirty.computeIfAbsent(key, k -> new HashSet<>()).add(userKey);
  }

  /** Removes {@code userKey} of {@code key}. */
  public void remove(Object key, K userKey) throws Exception {
    if (entries(key).remove(userKey) != null) {
      dirty.computeIfAbsent(key, k -> new HashSet<>()).add(userKey);
    }
  }

  /** Writes every changed entry to the state. */
  public void flush(WriteBehind.KeyScope scope) throws Exception {
    for (Map.Entry<Object, Set<K>> changed : dirty.entrySet()) {
      scope.setCurrentKey(changed.getKey());
      Map<K, V> map = entries.get(changed.getKey());
      for (K userKey : changed.getValue()) {
        V value = map.get(userKey);
        if (value == null) {
          state.remove(userKey);
        } else {
          state.put(userKey, value);
        }
      }
    }
    dirty.clear();
    if (entries.size() > maxCleanKeys) {
      entries.clear();
    }
  }
}
