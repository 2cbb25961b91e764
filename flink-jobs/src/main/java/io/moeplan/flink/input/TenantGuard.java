package io.moeplan.flink.input;

import io.moeplan.flink.calibration.WorkerTimesDecoder;
import io.moeplan.flink.job.JobMetrics;
import io.moeplan.schemas.LayerKey;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.RankKey;
import io.moeplan.schemas.Tenants;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.WorkerTimes;
import io.moeplan.schemas.wire.WireFormatException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets through only records whose job belongs to the tenant of the topic they were read from: a
 * tenant's job ids start with its topic prefix and a dot ({@link Tenants}). Tenant A may publish
 * anything to its own topics, but a record there naming tenant B's job would make the job decide
 * for B from A's data and send B the decision: such a load or worker-times record is dead-lettered
 * (to A's dead-letter topic, naming both tenants) and counted as in and dead-lettered; such a pool
 * is logged and counted as an invalid pool, like any unusable pool.
 *
 * <p>The job a record belongs to is read from its Kafka key where the key names one (the decoders
 * downstream require the key to match the value), else from its decoded value; a record whose job
 * cannot be told passes on, to be dead-lettered downstream for what it is.
 */
public class TenantGuard extends ProcessFunction<RawRecord, RawRecord> {

  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(TenantGuard.class);

  /** The kind of input a guard watches. */
  public enum Input {
    /** Expert loads, keyed {@code jobId/rank}. */
    LOADS,
    /** Plan pools, keyed by job; the value's job is what counts. */
    POOLS,
    /** Worker times, keyed {@code jobId/layer}. */
    WORKER_TIMES
  }

  private final Input input;
  private final HashMap<String, String> tenantOfTopic;
  private transient Counter in;
  private transient Counter rejected;

  /**
   * A guard of one kind of input.
   *
   * @param tenantOfTopic the tenant prefix of every topic the input is read from
   */
  public TenantGuard(Input input, Map<String, String> tenantOfTopic) {
    this.input = input;
    this.tenantOfTopic = new HashMap<>(tenantOfTopic);
  }

  @Override
  public void open(OpenContext openContext) {
    var metrics = getRuntimeContext().getMetricGroup();
    switch (input) {
      case LOADS -> {
        in = metrics.counter(JobMetrics.RECORDS_IN);
        rejected = metrics.counter(JobMetrics.DEAD_LETTERED);
      }
      case WORKER_TIMES -> {
        in = metrics.counter(JobMetrics.WORKER_TIMES_IN);
        rejected = metrics.counter(JobMetrics.WORKER_TIMES_DEAD_LETTERED);
      }
      case POOLS -> rejected = metrics.counter(JobMetrics.INVALID_POOLS);
    }
  }

  @Override
  public void processElement(RawRecord record, Context context, Collector<RawRecord> out) {
    String problem = problem(record);
    if (problem == null) {
      out.collect(record);
      return;
    }
    rejected.inc();
    if (input == Input.POOLS) {
      LOG.warn("ignoring plan pool at {}: {}", record, problem);
      return;
    }
    in.inc();
    context.output(DeadLetters.TAG, DeadLetters.of(record, Rejection.invalid(problem)));
  }

  /** Why the record's job is not one of its topic's tenant, or null when it is (or is unknown). */
  String problem(RawRecord record) {
    String tenant = tenantOfTopic.get(record.topic);
    if (tenant == null) {
      return "topic '" + record.topic + "' belongs to no tenant of the job";
    }
    String jobId = jobIdOf(record);
    if (jobId == null || Tenants.owns(tenant, jobId)) {
      return null;
    }
    String owner = Tenants.prefixOf(jobId);
    return "jobId '"
        + jobId
        + "' "
        + (owner == null ? "belongs to no tenant" : "belongs to tenant '" + owner + "'")
        + ", not to tenant '"
        + tenant
        + "' of topic '"
        + record.topic
        + "': job ids in the topics of tenant '"
        + tenant
        + "' must start with '"
        + tenant
        + ".'";
  }

  private String jobIdOf(RawRecord record) {
    if (input != Input.POOLS && record.key != null) {
      String key = new String(record.key, StandardCharsets.UTF_8);
      try {
        return input == Input.LOADS ? RankKey.jobIdOf(key) : LayerKey.parse(key).jobId();
      } catch (IllegalArgumentException e) {
        // a malformed key: the value tells, and downstream rejects the mismatch
      }
    }
    if (record.value == null) {
      return null;
    }
    try {
      return switch (input) {
        case LOADS -> {
          RankLoad load = ExpertLoadDecoder.decode(record).load();
          yield load == null ? null : load.jobId;
        }
        case POOLS -> {
          PlanPool pool = Topics.PLAN_POOL.valueCodec().decode(record.value);
          yield pool.getJobId();
        }
        case WORKER_TIMES -> {
          WorkerTimes times = WorkerTimesDecoder.decode(record).times();
          yield times == null ? null : times.getJobId();
        }
      };
    } catch (WireFormatException e) {
      return null;
    }
  }
}
