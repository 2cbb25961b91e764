package io.moeplan.flink.job;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets an output record through to its sink only when it has a tenant topic to go to. The tenant
 * guards admit only the listed tenants' jobs, so fresh input always has one; state restored from a
 * job that ran with another tenant list may not (a tenant since removed, or records of the plain
 * topics). Such a record is logged and counted in {@value JobMetrics#UNROUTABLE}, so the sink never
 * meets a record it cannot place and the job never fails over it.
 */
final class TenantRouter<V> extends ProcessFunction<V, V> {

  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(TenantRouter.class);

  private final RegistrySerializer.TopicOf<V> topicOf;
  private final String what;
  private transient Counter unroutable;

  /**
   * A router of {@code what} (for the log), placing each record with {@code topicOf}, which returns
   * null for a record of no listed tenant.
   */
  TenantRouter(RegistrySerializer.TopicOf<V> topicOf, String what) {
    this.topicOf = topicOf;
    this.what = what;
  }

  @Override
  public void open(OpenContext openContext) {
    unroutable = getRuntimeContext().getMetricGroup().counter(JobMetrics.UNROUTABLE);
  }

  /** Records not passed on so far by this instance. */
  long unroutable() {
    return unroutable.getCount();
  }

  @Override
  public void processElement(V value, Context context, Collector<V> out) {
    if (topicOf.apply(value) != null) {
      out.collect(value);
      return;
    }
    unroutable.inc();
    LOG.warn("not writing {} of no tenant of this job (--topic-prefix): {}", what, value);
  }
}
