package io.moeplan.flink.input;

import io.moeplan.flink.job.JobMetrics;
import io.moeplan.flink.layer.JobPlanning;
import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.wire.WireFormatException;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes {@code moe.plan-pool} records and lets through only pools the selector can use. A pool
 * that does not decode or whose specs or placements are invalid is logged with the reason and
 * counted ({@code moeplanInvalidPools}); the job keeps the job's previous pool. Tombstones (a
 * deleted pool) are ignored.
 */
public class PoolDecoder extends ProcessFunction<RawRecord, PlanPool> {

  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(PoolDecoder.class);

  private transient Counter invalidPools;

  @Override
  public void open(OpenContext openContext) {
    invalidPools = getRuntimeContext().getMetricGroup().counter(JobMetrics.INVALID_POOLS);
  }

  @Override
  public void processElement(RawRecord record, Context context, Collector<PlanPool> out) {
    if (record.value == null) {
      return;
    }
    PlanPool pool;
    try {
      pool = Topics.PLAN_POOL.valueCodec().decode(record.value);
      JobPlanning.of(pool, SelectorOptions.defaults(1));
    } catch (WireFormatException | IllegalArgumentException e) {
      invalidPools.inc();
      LOG.warn("ignoring unusable plan pool at {}: {}", record, e.getMessage());
      return;
    }
    out.collect(pool);
  }
}
