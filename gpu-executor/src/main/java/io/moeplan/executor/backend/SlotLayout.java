package io.moeplan.executor.backend;

/** The expert slots of one process: worker-major, slot s lives on worker s / slotsPerWorker. */
public record SlotLayout(int workers, int slotsPerWorker) {

  /** Validates the counts. */
  public SlotLayout {
    if (workers <= 0 || slotsPerWorker <= 0) {
      throw new IllegalArgumentException(
          "workers and slotsPerWorker must be positive: " + workers + ", " + slotsPerWorker);
    }
  }

  /** Total number of slots. */
  public int slots() {
    return workers * slotsPerWorker;
  }

  /** The worker hosting a slot. */
  public int workerOf(int slot) {
    checkSlot(slot);
    return slot / slotsPerWorker;
  }

  /** The first slot of a worker; its slots are [firstSlot, firstSlot + slotsPerWorker). */
  public int firstSlot(int worker) {
    if (worker < 0 || worker >= workers) {
      throw new IllegalArgumentException("no worker " + worker + " among " + workers);
    }
    return worker * slotsPerWorker;
  }

  /** Throws if the slot does not exist. */
  public void checkSlot(int slot) {
    if (slot < 0 || slot >= slots()) {
      throw new IllegalArgumentException("no slot " + slot + " among " + slots());
    }
  }
}
