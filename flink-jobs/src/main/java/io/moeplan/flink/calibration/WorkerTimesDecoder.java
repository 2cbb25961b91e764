package io.moeplan.flink.calibration;

import io.moeplan.flink.input.RawRecord;
import io.moeplan.flink.input.Rejection;
import io.moeplan.planner.spec.Limits;
import io.moeplan.schemas.JobIds;
import io.moeplan.schemas.LayerKey;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.WorkerTime;
import io.moeplan.schemas.WorkerTimes;
import io.moeplan.schemas.wire.WireFormatException;
import java.nio.charset.StandardCharsets;
import java.util.BitSet;

/**
 * Decodes {@code moe.worker-times} records and checks them: a record that fails gets the reason
 * instead of the times; nothing throws.
 */
public final class WorkerTimesDecoder {

  /** Key of records whose job cannot be told: no usable Kafka key and an undecodable value. */
  static final String UNKNOWN_JOB_KEY = "";

  private WorkerTimesDecoder() {}

  /**
   * What a record decoded to.
   *
   * @param times the valid measurements, null when rejected
   * @param rejection why the record cannot be used, null when it can
   */
  public record Decoded(WorkerTimes times, Rejection rejection) {}

  /** Decodes and checks one record. */
  public static Decoded decode(RawRecord record) {
    WorkerTimes times;
    try {
      times = Topics.WORKER_TIMES.valueCodec().decode(record.value);
    } catch (WireFormatException e) {
      return new Decoded(null, Rejection.undecodable(e));
    }
    String problem = problem(times, record.key);
    return problem == null
        ? new Decoded(times, null)
        : new Decoded(null, Rejection.invalid(problem));
  }

  /**
   * The job a record belongs to, for routing before it is decoded: the job of its {@code
   * jobId/layer} Kafka key (which {@link #decode} requires to match the value), else of its decoded
   * value, else {@link #UNKNOWN_JOB_KEY}.
   */
  public static String jobKeyOf(RawRecord record) {
    if (record.key != null) {
      try {
        return LayerKey.parse(new String(record.key, StandardCharsets.UTF_8)).jobId();
      } catch (IllegalArgumentException e) {
        return UNKNOWN_JOB_KEY;
      }
    }
    WorkerTimes times = decode(record).times();
    return times == null ? UNKNOWN_JOB_KEY : times.getJobId();
  }

  /** The first problem of decoded measurements, naming the field, or null when they are usable. */
  static String problem(WorkerTimes times, byte[] key) {
    String jobProblem = JobIds.problem(times.getJobId());
    if (jobProblem != null) {
      return "jobId: " + jobProblem;
    }
    if (times.getLayer() < 0 || times.getLayer() >= Limits.MAX_LAYERS) {
      return "layer must be in [0, " + Limits.MAX_LAYERS + "), got " + times.getLayer();
    }
    if (times.getIteration() < 0) {
      return "iteration must be >= 0, got " + times.getIteration();
    }
    if (key != null) {
      String expected = Topics.workerTimesKey(times.getJobId(), times.getLayer());
      String actual = new String(key, StandardCharsets.UTF_8);
      if (!actual.equals(expected)) {
        return "Kafka key '"
            + actual
            + "' does not match the record's jobId/layer '"
            + expected
            + "'";
      }
    }
    if (times.getWorkers().isEmpty()) {
      return "workers is empty";
    }
    if (times.getMigratedBytes() < 0) {
      return "migratedBytes must be >= 0, got " + times.getMigratedBytes();
    }
    if (!finiteNonNegative(times.getMigrationSeconds())) {
      return "migrationSeconds must be finite and >= 0, got " + times.getMigrationSeconds();
    }
    BitSet seen = new BitSet();
    for (int i = 0; i < times.getWorkers().size(); i++) {
      WorkerTime w = times.getWorkers().get(i);
      String at = "workers[" + i + "].";
      if (w.getWorker() < 0 || w.getWorker() >= Limits.MAX_WORKERS) {
        return at + "worker must be in [0, " + Limits.MAX_WORKERS + "), got " + w.getWorker();
      }
      if (seen.get(w.getWorker())) {
        return at + "worker " + w.getWorker() + " appears twice";
      }
      seen.set(w.getWorker());
      if (w.getTokens() < 0) {
        return at + "tokens must be >= 0, got " + w.getTokens();
      }
      if (w.getActiveSlots() < 0) {
        return at + "activeSlots must be >= 0, got " + w.getActiveSlots();
      }
      if (w.getActiveSlots() == 0 && w.getTokens() > 0) {
        return at + "activeSlots is 0 but tokens is " + w.getTokens();
      }
      if (!finiteNonNegative(w.getComputeSeconds())) {
        return at + "computeSeconds must be finite and >= 0, got " + w.getComputeSeconds();
      }
      if (w.getMigratedBytes() < 0) {
        return at + "migratedBytes must be >= 0, got " + w.getMigratedBytes();
      }
      if (!finiteNonNegative(w.getMigrationSeconds())) {
        return at + "migrationSeconds must be finite and >= 0, got " + w.getMigrationSeconds();
      }
    }
    return null;
  }

  private static boolean finiteNonNegative(double value) {
    return value >= 0 && Double.isFinite(value);
  }
}
