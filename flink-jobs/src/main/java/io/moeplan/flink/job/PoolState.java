package io.moeplan.flink.job;

import io.moeplan.schemas.PlanPool;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

/** The broadcast state holding the latest plan pool of every job, keyed by job id. */
public final class PoolState {

  /** Descriptor shared by every operator that reads the broadcast pools. */
  public static final MapStateDescriptor<String, PlanPool> DESCRIPTOR =
      new MapStateDescriptor<>("plan-pools", Types.STRING, TypeInformation.of(PlanPool.class));

  private PoolState() {}
}
