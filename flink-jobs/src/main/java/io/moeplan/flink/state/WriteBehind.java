package io.moeplan.flink.state;

/**
 * A keyed function that keeps state it changes often in heap between checkpoints, in front of its
 * keyed state ({@link WriteBehindValue}, {@link WriteBehindMap}). Its operator ({@link
 * WriteBehindOperators}) calls {@link #flush} before each snapshot of the keyed state, so every
 * checkpoint and savepoint holds exactly what the heap held; between checkpoints nothing needs to
 * be durable, as a restore replays the input from the checkpoint's offsets.
 */
public interface WriteBehind {

  /** Sets the key that keyed state reads and writes apply to. */
  @FunctionalInterface
  interface KeyScope {
    /** Makes {@code key} the current key. */
    void setCurrentKey(Object key);
  }

  /** Writes every change since the last flush to keyed state, setting each key through scope. */
  void flush(KeyScope scope) throws Exception;
}
