package io.moeplan.flink.calibration;

import io.moeplan.planner.model.ErrorStats;

/**
 * What the job keeps per job to calibrate its model: the most recent per-worker samples (bounded
 * rings), the fit in force, the model's error per recent window, and the latest iteration each
 * source (executor and layer) reported, to tell redeliveries. A Flink POJO: public fields, no-arg
 * constructor.
 */
public class CalibrationState {

  /** Hardware class the samples are of (the executors' backend); null before the first record. */
  public String workerClass;

  /** Version of the pool whose constants are the prior; -1 before the job has a pool. */
  public long poolVersion = -1;

  /** Compute samples: active slots, tokens and measured seconds of one worker in one record. */
  public double[] slots = new double[0];

  /** Tokens of each compute sample. */
  public double[] tokens = new double[0];

  /** Measured seconds of each compute sample. */
  public double[] seconds = new double[0];

  /** Next ring position of the compute samples. */
  public int computeNext;

  /** Compute samples held (at most the ring's length). */
  public int computeSize;

  /** Migration samples: bytes one worker received for one switch. */
  public double[] migrationBytes = new double[0];

  /** Measured seconds of each migration sample. */
  public double[] migrationSeconds = new double[0];

  /** Next ring position of the migration samples. */
  public int migrationNext;

  /** Migration samples held. */
  public int migrationSize;

  /** Whether the compute fit kept enough samples to stand. */
  public boolean fitted;

  /** Fitted seconds per active slot. */
  public double fixedSeconds;

  /** Fitted seconds per token assignment. */
  public double perTokenSeconds;

  /** Compute samples the latest fit kept. */
  public int computeKept;

  /** Compute samples the latest fit rejected. */
  public int computeRejected;

  /** Whether the migration fit kept enough samples to stand. */
  public boolean migrationFitted;

  /** Fitted migration throughput per receiving worker, bytes/s. */
  public double migrationBytesPerSecond;

  /** Migration samples the latest fit kept. */
  public int migrationKept;

  /** Version of the constants the selector scores with; 0 while they are the pool's. */
  public long modelVersion;

  /** Latest iteration measured. */
  public long lastIteration = -1;

  /** Window of iterations the latest fit was made at; -1 before the first. */
  public long fitWindow = -1;

  /** Window index of each error slot; -1 for an unused slot. */
  public long[] errorWindows = new long[0];

  /** Per-worker compute error of each error slot. */
  public ErrorStats[] computeErrors = new ErrorStats[0];

  /**
   * Per-worker compute error of each error slot with each record's predictions scaled by its
   * measured-over-predicted total (the machine's speed of the moment taken out).
   */
  public ErrorStats[] relativeErrors = new ErrorStats[0];

  /** Step time error (slowest worker of a record) of each error slot. */
  public ErrorStats[] stepErrors = new ErrorStats[0];

  /** Per-worker migration error of each error slot. */
  public ErrorStats[] migrationErrors = new ErrorStats[0];

  /** Sources ({@code executorId/layer}) in sorted order. */
  public String[] sources = new String[0];

  /** Latest iteration of each source. */
  public long[] sourceIterations = new long[0];

  /** Empty state. */
  public CalibrationState() {}
}
