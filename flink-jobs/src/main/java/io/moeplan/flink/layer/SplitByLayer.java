package io.moeplan.flink.layer;

import io.moeplan.flink.input.RankLoad;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.util.Collector;

/** Splits a rank's load into one sample per MoE layer, to be keyed by (job, layer). */
public class SplitByLayer implements FlatMapFunction<RankLoad, LayerSample> {

  private static final long serialVersionUID = 1L;

  @Override
  public void flatMap(RankLoad load, Collector<LayerSample> out) {
    for (int i = 0; i < load.layers.length; i++) {
      LayerSample sample = new LayerSample();
      sample.jobId = load.jobId;
      sample.layer = load.layers[i];
      sample.rank = load.rank;
      sample.worldSize = load.worldSize;
      sample.iteration = load.iteration;
      sample.planVersion = load.planVersion;
      sample.counts = load.counts[i];
      sample.producedAtMillis = load.producedAtMillis;
      out.collect(sample);
    }
  }
}
