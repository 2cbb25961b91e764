package io.moeplan.flink.input;

import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.SampleRecords;
import io.moeplan.schemas.Topics;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Test vocabulary for expert-load records as they arrive from Kafka. */
public final class Loads {

  private static long nextOffset;

  private Loads() {}

  /** The sample load of a two-layer, four-expert job (world size 4) as a raw record. */
  static RawRecord raw(String jobId, int rank, long iteration) {
    return raw(SampleRecords.expertLoad(jobId, rank, iteration));
  }

  /** The sample load of run {@code runId}'s attempt {@code attempt} as a raw record. */
  static RawRecord raw(String jobId, int rank, long iteration, String runId, int attempt) {
    return raw(
        ExpertLoad.newBuilder(SampleRecords.expertLoad(jobId, rank, iteration))
            .setRunId(runId)
            .setAttempt(attempt)
            .build());
  }

  /** A load as the raw Kafka record a well-behaved producer sends. */
  static RawRecord raw(ExpertLoad load) {
    return raw(
        Topics.expertLoadKey(load.getJobId(), load.getRank()),
        Topics.EXPERT_LOAD.valueCodec().encode(load));
  }

  /** Arbitrary bytes under a key, at the next offset of partition 0. */
  static RawRecord raw(String key, byte[] value) {
    return new RawRecord(
        Topics.EXPERT_LOAD.name(),
        0,
        nextOffset++,
        key == null ? null : key.getBytes(StandardCharsets.UTF_8),
        value,
        1_000L);
  }

  /** The sample load with different counts in layer 1. */
  static ExpertLoad withOtherCounts(ExpertLoad load) {
    ExpertLoad copy = ExpertLoad.newBuilder(load).build();
    copy.setLayers(List.of(load.getLayers().get(0), SampleRecords.layerLoad(1, 4, 1000)));
    return copy;
  }

  /** {@code load} reporting only the given layers (of those it has). */
  static ExpertLoad withLayers(ExpertLoad load, int... layers) {
    ExpertLoad copy = ExpertLoad.newBuilder(load).build();
    List<LayerLoad> kept = new ArrayList<>();
    for (LayerLoad layer : load.getLayers()) {
      if (java.util.Arrays.stream(layers).anyMatch(l -> l == layer.getLayer())) {
        kept.add(layer);
      }
    }
    copy.setLayers(kept);
    return copy;
  }

  /** The sample load with one layer's counts replaced. */
  static ExpertLoad withLayer(ExpertLoad load, int index, LayerLoad layer) {
    ExpertLoad copy = ExpertLoad.newBuilder(load).build();
    List<LayerLoad> layers = new java.util.ArrayList<>(load.getLayers());
    layers.set(index, layer);
    copy.setLayers(layers);
    return copy;
  }

  /** A decoded load, as the decoder emits it. */
  static RankLoad decoded(String jobId, int rank, long iteration) {
    return decode(raw(jobId, rank, iteration));
  }

  /** Decodes a raw record that must be valid, as the gate does. */
  static RankLoad decode(RawRecord raw) {
    ExpertLoadDecoder.Decoded decoded = ExpertLoadDecoder.decode(raw);
    if (decoded.rejection() != null) {
      throw new IllegalArgumentException("not a valid load: " + decoded.rejection().detail());
    }
    return decoded.load();
  }
}
