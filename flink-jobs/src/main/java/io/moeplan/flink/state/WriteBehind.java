package io.moeplan.flink.state;

/**
 * A keyed function that keeps state it changes often in heap between checkpoints, in front of its
 * keyed state ({@link WriteBehindValue}, {@link WriteBehindMap}). Its operator ({@link
 * WriteBehindOperators}) calls {@link #flush} before each snapshot of the keyed state, so every
 * checkpoint and savepoint holds exactly what the heap held; between checkpoints nothing needs to
 * be durable, as a restore replays the input from the checkpoint's offsets. The operator also
 * flushes between checkpoints when the function is {@link #overBudget}.
 */
public interface WriteBehind {

  /** Sets the key that keyed state reads and writes apply to. */
  @FunctionalInterface
  interface KeyScope {
    /** Makes {@code key} the current key. */
    void setCurrentKey(Object key);
  }

  /**
   * Writes every change since the last flush to keyed state, setting each key through scope, and
   * drops the heap copies of caches that hold more keys than they may keep.
   */
  void flush(KeyScope scope) throws Exception;

  /**
   * Whether a cache holds more keys than it may keep, so that its operator flushes now rather than
   * at the next checkpoint: this bounds the heap when many keys change between two checkpoints.
   */
  boolean overBudget();
}
