package io.moeplan.flink.input;

import io.moeplan.planner.spec.Limits;
import io.moeplan.schemas.DeadLetterReason;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.wire.WireFormatException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Decodes {@code moe.expert-load} records and checks what can be checked without the job's pool:
 * sizes, ranges, signs and the key. Everything else goes to {@link DeadLetters#TAG} with the
 * reason; nothing is dropped and nothing throws.
 */
public class ExpertLoadDecoder extends ProcessFunction<RawRecord, RankLoad> {

  private static final long serialVersionUID = 1L;

  private transient Counter recordsIn;
  private transient Counter deadLettered;

  @Override
  public void open(OpenContext openContext) {
    recordsIn = getRuntimeContext().getMetricGroup().counter("moeplanRecordsIn");
    deadLettered = getRuntimeContext().getMetricGroup().counter("moeplanDeadLettered");
  }

  @Override
  public void processElement(RawRecord record, Context context, Collector<RankLoad> out) {
    recordsIn.inc();
    ExpertLoad load;
    try {
      load = Topics.EXPERT_LOAD.valueCodec().decode(record.value);
    } catch (WireFormatException e) {
      DeadLetterReason reason =
          e instanceof WireFormatException.UnknownFingerprint
              ? DeadLetterReason.UNKNOWN_SCHEMA
              : DeadLetterReason.UNDECODABLE;
      deadLetter(context, record, new Rejection(reason, e.getMessage()));
      return;
    }
    Rejection rejection = check(load, record.key);
    if (rejection != null) {
      deadLetter(context, record, rejection);
      return;
    }
    out.collect(toRankLoad(load, record));
  }

  private void deadLetter(Context context, RawRecord record, Rejection rejection) {
    context.output(DeadLetters.TAG, DeadLetters.of(record, rejection));
    deadLettered.inc();
  }

  /** The first problem of a decoded load, or null when it is structurally valid. */
  static Rejection check(ExpertLoad load, byte[] key) {
    String jobId = load.getJobId();
    if (jobId.isBlank() || jobId.indexOf('/') >= 0) {
      return Rejection.invalid("jobId must be non-blank without '/', got '" + jobId + "'");
    }
    if (load.getWorldSize() < 1 || load.getWorldSize() > Limits.MAX_WORKERS) {
      return Rejection.invalid(
          "worldSize must be in 1.." + Limits.MAX_WORKERS + ", got " + load.getWorldSize());
    }
    if (load.getRank() < 0 || load.getRank() >= load.getWorldSize()) {
      return Rejection.invalid(
          "rank "
              + load.getRank()
              + " is outside the world size "
              + load.getWorldSize()
              + " (0.."
              + (load.getWorldSize() - 1)
              + ")");
    }
    if (load.getIteration() < 0) {
      return Rejection.invalid("iteration must be >= 0, got " + load.getIteration());
    }
    String expectedKey = Topics.expertLoadKey(jobId, load.getRank());
    String actualKey = key == null ? null : new String(key, StandardCharsets.UTF_8);
    if (actualKey != null && !expectedKey.equals(actualKey)) {
      return Rejection.invalid(
          "key '" + actualKey + "' does not match jobId/rank '" + expectedKey + "'");
    }
    List<LayerLoad> layers = load.getLayers();
    if (layers.isEmpty()) {
      return Rejection.invalid("layers is empty");
    }
    if (layers.size() > Limits.MAX_LAYERS) {
      return Rejection.invalid(
          "layers has " + layers.size() + " entries, more than " + Limits.MAX_LAYERS);
    }
    Set<Integer> seen = new HashSet<>();
    int experts = layers.get(0).getExpertCounts().size();
    for (int i = 0; i < layers.size(); i++) {
      LayerLoad layer = layers.get(i);
      if (layer.getLayer() < 0 || layer.getLayer() >= Limits.MAX_LAYERS) {
        return Rejection.invalid("layers[" + i + "].layer out of range: " + layer.getLayer());
      }
      if (!seen.add(layer.getLayer())) {
        return Rejection.invalid("layers[" + i + "].layer " + layer.getLayer() + " repeats");
      }
      List<Long> counts = layer.getExpertCounts();
      if (counts.isEmpty() || counts.size() > Limits.MAX_EXPERTS) {
        return Rejection.invalid(
            "layers["
                + i
                + "].expertCounts has "
                + counts.size()
                + " entries; expected 1.."
                + Limits.MAX_EXPERTS);
      }
      if (counts.size() != experts) {
        return Rejection.invalid(
            "layers["
                + i
                + "].expertCounts has "
                + counts.size()
                + " entries but layers[0] has "
                + experts);
      }
      for (int e = 0; e < counts.size(); e++) {
        if (counts.get(e) < 0) {
          return Rejection.invalid(
              "layers[" + i + "].expertCounts[" + e + "] is negative: " + counts.get(e));
        }
      }
    }
    return null;
  }

  /** The job's internal form of a structurally valid load. */
  static RankLoad toRankLoad(ExpertLoad load, RawRecord record) {
    RankLoad rankLoad = new RankLoad();
    rankLoad.jobId = load.getJobId();
    rankLoad.rank = load.getRank();
    rankLoad.worldSize = load.getWorldSize();
    rankLoad.iteration = load.getIteration();
    rankLoad.planVersion = load.getPlanVersion();
    rankLoad.producedAtMillis = load.getProducedAt().toEpochMilli();
    List<LayerLoad> layers = load.getLayers();
    rankLoad.layers = new int[layers.size()];
    rankLoad.counts = new long[layers.size()][];
    for (int i = 0; i < layers.size(); i++) {
      rankLoad.layers[i] = layers.get(i).getLayer();
      List<Long> counts = layers.get(i).getExpertCounts();
      long[] row = new long[counts.size()];
      for (int e = 0; e < row.length; e++) {
        row[e] = counts.get(e);
      }
      rankLoad.counts[i] = row;
    }
    rankLoad.source = record;
    return rankLoad;
  }
}
