package io.moeplan.flink.job;

import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.PlanPool;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

/** The broadcast states: the latest plan pool and calibrated model of every job, by job id. */
public final class PoolState {

  /** Descriptor shared by every operator that reads the broadcast pools. */
  public static final MapStateDescriptor<String, PlanPool> DESCRIPTOR =
      new MapStateDescriptor<>("plan-pools", Types.STRING, TypeInformation.of(PlanPool.class));

  /** The latest calibrated model of every job, keyed by job id (the selector's broadcast). */
  public static final MapStateDescriptor<String, ModelFit> FITS =
      new MapStateDescriptor<>("model-fits", Types.STRING, TypeInformation.of(ModelFit.class));

  private PoolState() {}
}
