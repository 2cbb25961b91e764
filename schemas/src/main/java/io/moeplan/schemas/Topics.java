package io.moeplan.schemas;

import io.moeplan.schemas.wire.SingleObjectCodec;
import io.moeplan.schemas.wire.StringCodec;
import java.util.List;
import java.util.Optional;

/**
 * The registry of moeplan's topics: each name paired with its key and value codec. Values are Avro
 * single-object encoded; keys are UTF-8 strings built by the methods below.
 */
public final class Topics {

  /** Per-iteration expert token counts from every rank. Key: {@code jobId/rank}. */
  public static final Topic<String, ExpertLoad> EXPERT_LOAD =
      new Topic<>(
          "moe.expert-load",
          StringCodec.UTF8,
          SingleObjectCodec.forRecord(ExpertLoad.class),
          false);

  /** The latest plan pool of every job. Key: {@code jobId}. */
  public static final Topic<String, PlanPool> PLAN_POOL =
      new Topic<>(
          "moe.plan-pool", StringCodec.UTF8, SingleObjectCodec.forRecord(PlanPool.class), true);

  /** Keep/switch decisions per window. Key: {@code jobId/layer}. */
  public static final Topic<String, PlanDecision> PLAN_DECISIONS =
      new Topic<>(
          "moe.plan-decisions",
          StringCodec.UTF8,
          SingleObjectCodec.forRecord(PlanDecision.class),
          true);

  /**
   * Expert-load records that could not be used, with the reason. Key: {@code
   * topic/partition/offset}.
   */
  public static final Topic<String, DeadLetter> EXPERT_LOAD_DLQ =
      new Topic<>(
          "moe.expert-load.dlq",
          StringCodec.UTF8,
          SingleObjectCodec.forRecord(DeadLetter.class),
          false);

  /** Per-worker compute times measured by executors, for calibration. Key: {@code jobId/layer}. */
  public static final Topic<String, WorkerTimes> WORKER_TIMES =
      new Topic<>(
          "moe.worker-times",
          StringCodec.UTF8,
          SingleObjectCodec.forRecord(WorkerTimes.class),
          false);

  /**
   * The latest calibrated performance model of every job and its measured error. Key: {@code
   * jobId}.
   */
  public static final Topic<String, ModelFit> MODEL_FIT =
      new Topic<>(
          "moe.model-fit", StringCodec.UTF8, SingleObjectCodec.forRecord(ModelFit.class), true);

  /** Every topic, in a fixed order. */
  public static final List<Topic<?, ?>> ALL =
      List.of(EXPERT_LOAD, PLAN_POOL, PLAN_DECISIONS, EXPERT_LOAD_DLQ, WORKER_TIMES, MODEL_FIT);

  private Topics() {}

  /** The registered topic with this name, if any. */
  public static Optional<Topic<?, ?>> byName(String name) {
    return ALL.stream().filter(topic -> topic.name().equals(name)).findFirst();
  }

  /**
   * The name of a registered topic under a tenant's topic prefix: {@code prefix.name}, or {@code
   * name} itself for the empty prefix (moeplan's plain topics).
   */
  public static String prefixed(String prefix, String name) {
    return prefix == null || prefix.isEmpty() ? name : prefix + "." + name;
  }

  /** Every registered topic renamed under a tenant's topic prefix ({@link #prefixed}). */
  public static List<Topic<?, ?>> forPrefix(String prefix) {
    return ALL.stream()
        .<Topic<?, ?>>map(topic -> renamed(topic, prefixed(prefix, topic.name())))
        .toList();
  }

  private static <K, V> Topic<K, V> renamed(Topic<K, V> topic, String name) {
    return new Topic<>(name, topic.keyCodec(), topic.valueCodec(), topic.compacted());
  }

  /** Key of an {@link ExpertLoad} record. */
  public static String expertLoadKey(String jobId, int rank) {
    return RankKey.format(jobId, rank);
  }

  /** Key of a {@link PlanPool} record. */
  public static String planPoolKey(String jobId) {
    return jobId;
  }

  /** Key of a {@link PlanDecision} record. */
  public static String planDecisionKey(String jobId, int layer) {
    return LayerKey.format(jobId, layer);
  }

  /** Deterministic id of the decision for one window of one (job, layer). */
  public static String decisionId(String jobId, int layer, long window) {
    return new LayerKey(jobId, layer).decisionId(window);
  }

  /** Deterministic id of the decision for one window of one (job, layer) in one run epoch. */
  public static String decisionId(String jobId, int layer, long window, String runId, int attempt) {
    return new LayerKey(jobId, layer).decisionId(window, runId, attempt);
  }

  /** Key of a {@link WorkerTimes} record. */
  public static String workerTimesKey(String jobId, int layer) {
    return LayerKey.format(jobId, layer);
  }

  /** Key of a {@link ModelFit} record. */
  public static String modelFitKey(String jobId) {
    return jobId;
  }

  /** Key of a {@link DeadLetter} record: where the bad record was read. */
  public static String deadLetterKey(String sourceTopic, int partition, long offset) {
    return sourceTopic + "/" + partition + "/" + offset;
  }
}
