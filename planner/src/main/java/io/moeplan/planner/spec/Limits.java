package io.moeplan.planner.spec;

/** Upper bounds on sizes, checked before anything is allocated from a spec or a placement. */
public final class Limits {
  /** Largest number of experts per MoE layer accepted. */
  public static final int MAX_EXPERTS = 65_536;

  /** Largest number of workers (GPUs) accepted. */
  public static final int MAX_WORKERS = 1_000_000;

  /** Largest number of slots (workers times slots per worker) accepted. */
  public static final long MAX_SLOTS = 16L * 1024 * 1024;

  /** Largest number of slots on one worker accepted. */
  public static final int MAX_SLOTS_PER_WORKER = 65_536;

  /** Largest number of MoE layers accepted. */
  public static final int MAX_LAYERS = 65_536;

  private Limits() {}
}
