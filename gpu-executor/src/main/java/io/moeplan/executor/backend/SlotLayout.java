package io.moeplan.executor.backend;

import io.moeplan.planner.placement.Placement;

/** The expert slots of one process: worker-major, slot s lives on worker s / slotsPerWorker. */
public record SlotLayout(int workers, int slotsPerWorker) {

  /** Validates the counts. */
  public SlotLayout {
    if (workers <= 0 || slotsPerWorker <= 0) {
      throw new IllegalArgumentException(
          "workers and slotsPerWorker must be positive: " + workers + ", " + slotsPerWorker);
    }
  }

  /** The slots of {@code placement}. */
  public static SlotLayout of(Placement placement) {
    return new SlotLayout(placement.workerCount(), placement.slotsPerWorker());
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

  /** The placement of {@code experts} experts on these slots given slot by slot (validated). */
  public Placement placement(int[] slotToExpert, int experts) {
    return Placement.of(slotToExpert, workers, slotsPerWorker, experts);
  }

  /** The static layout on these slots: slot s serves expert s mod experts. */
  public Placement staticPlacement(int experts) {
    return Placement.staticLayout(workers, slotsPerWorker, experts);
  }

  /** Throws unless {@code placement} places {@code experts} experts on exactly these slots. */
  public void check(Placement placement, int experts) {
    if (placement.workerCount() != workers
        || placement.slotsPerWorker() != slotsPerWorker
        || placement.expertCount() != experts) {
      throw new IllegalArgumentException(
          "placement of "
              + placement.expertCount()
              + " experts on "
              + placement.workerCount()
              + " workers x "
              + placement.slotsPerWorker()
              + " slots does not fit a layer of "
              + experts
              + " experts on "
              + workers
              + " workers x "
              + slotsPerWorker
              + " slots");
    }
  }
}
