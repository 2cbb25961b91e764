package io.moeplan.flink.input;

import io.moeplan.planner.spec.Limits;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.JobIds;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.RunIds;
import io.moeplan.schemas.Topics;
import io.moeplan.schemas.wire.WireFormatException;
import java.nio.charset.StandardCharsets;
import java.util.BitSet;
import java.util.List;

/**
 * Decodes {@code moe.expert-load} records and checks what can be checked without the job's pool:
 * sizes, ranges, signs and the key. A record that fails gets the reason instead of a load; nothing
 * throws.
 */
public final class ExpertLoadDecoder {

  /** Key of records whose rank cannot be told: no Kafka key, and a value that does not decode. */
  static final String UNKNOWN_RANK_KEY = "";

  private ExpertLoadDecoder() {}

  /**
   * What a record decoded to: the load, or the reason it cannot be used.
   *
   * @param load the structurally valid load, null when rejected
   * @param rejection why the record cannot be used, null when it can
   */
  public record Decoded(RankLoad load, Rejection rejection) {}

  /** Decodes and checks one record. */
  public static Decoded decode(RawRecord record) {
    // most records: the current schema, valid; read without Avro's generic objects
    RankLoad fast = CurrentSchemaLoadReader.read(record);
    return fast != null ? new Decoded(fast, null) : decodeWithAvro(record);
  }

  /** Decodes through Avro's resolving reader: any released writer schema, exact rejections. */
  static Decoded decodeWithAvro(RawRecord record) {
    ExpertLoad load;
    try {
      load = Topics.EXPERT_LOAD.valueCodec().decode(record.value);
    } catch (WireFormatException e) {
      return new Decoded(null, Rejection.undecodable(e));
    }
    RankLoad rankLoad = toRankLoad(load, record);
    Rejection rejection = check(rankLoad, record.key);
    return rejection != null ? new Decoded(null, rejection) : new Decoded(rankLoad, null);
  }

  /**
   * The {@code jobId/rank} key a record is routed by before it is decoded: its Kafka key (which
   * {@link #check} later requires to match the value), or for a record without one the key of its
   * decoded value. Records that cannot be told apart share {@link #UNKNOWN_RANK_KEY}; they are
   * dead-lettered after the exchange.
   */
  public static String rankKeyOf(RawRecord record) {
    if (record.key != null) {
      return new String(record.key, StandardCharsets.UTF_8);
    }
    RankLoad load = decode(record).load();
    return load == null ? UNKNOWN_RANK_KEY : Topics.expertLoadKey(load.jobId, load.rank);
  }

  /**
   * The first problem of a decoded load, or null when it is structurally valid. Both readers apply
   * it: the Avro path for the rejection's wording, the current-schema reader as a yes or no.
   */
  static Rejection check(RankLoad load, byte[] key) {
    String jobId = load.jobId;
    String jobIdProblem = JobIds.problem(jobId);
    if (jobIdProblem != null) {
      return Rejection.invalid("jobId: " + jobIdProblem);
    }
    String runIdProblem = RunIds.problem(load.runId);
    if (runIdProblem != null) {
      return Rejection.invalid("runId: " + runIdProblem);
    }
    if (load.attempt < 0) {
      return Rejection.invalid("attempt must be >= 0, got " + load.attempt);
    }
    if (load.worldSize < 1 || load.worldSize > Limits.MAX_WORKERS) {
      return Rejection.invalid(
          "worldSize must be in 1.." + Limits.MAX_WORKERS + ", got " + load.worldSize);
    }
    if (load.rank < 0 || load.rank >= load.worldSize) {
      return Rejection.invalid(
          "rank "
              + load.rank
              + " is outside the world size "
              + load.worldSize
              + " (0.."
              + (load.worldSize - 1)
              + ")");
    }
    if (load.iteration < 0) {
      return Rejection.invalid("iteration must be >= 0, got " + load.iteration);
    }
    String expectedKey = Topics.expertLoadKey(jobId, load.rank);
    String actualKey = key == null ? null : new String(key, StandardCharsets.UTF_8);
    if (actualKey != null && !expectedKey.equals(actualKey)) {
      return Rejection.invalid(
          "key '" + actualKey + "' does not match jobId/rank '" + expectedKey + "'");
    }
    int layerCount = load.layers.length;
    if (layerCount == 0) {
      return Rejection.invalid("layers is empty");
    }
    if (layerCount > Limits.MAX_LAYERS) {
      return Rejection.invalid(
          "layers has " + layerCount + " entries, more than " + Limits.MAX_LAYERS);
    }
    BitSet seen = new BitSet();
    int experts = load.counts[0].length;
    for (int i = 0; i < layerCount; i++) {
      int layer = load.layers[i];
      if (layer < 0 || layer >= Limits.MAX_LAYERS) {
        return Rejection.invalid("layers[" + i + "].layer out of range: " + layer);
      }
      if (seen.get(layer)) {
        return Rejection.invalid("layers[" + i + "].layer " + layer + " repeats");
      }
      seen.set(layer);
      long[] counts = load.counts[i];
      if (counts.length == 0 || counts.length > Limits.MAX_EXPERTS) {
        return Rejection.invalid(
            "layers["
                + i
                + "].expertCounts has "
                + counts.length
                + " entries; expected 1.."
                + Limits.MAX_EXPERTS);
      }
      if (counts.length != experts) {
        return Rejection.invalid(
            "layers["
                + i
                + "].expertCounts has "
                + counts.length
                + " entries but layers[0] has "
                + experts);
      }
      for (int e = 0; e < counts.length; e++) {
        if (counts[e] < 0) {
          return Rejection.invalid(
              "layers[" + i + "].expertCounts[" + e + "] is negative: " + counts[e]);
        }
      }
    }
    return null;
  }

  /** The job's internal form of a decoded load. */
  static RankLoad toRankLoad(ExpertLoad load, RawRecord record) {
    RankLoad rankLoad = new RankLoad();
    rankLoad.jobId = load.getJobId();
    rankLoad.rank = load.getRank();
    rankLoad.worldSize = load.getWorldSize();
    rankLoad.iteration = load.getIteration();
    rankLoad.planVersion = load.getPlanVersion();
    rankLoad.producedAtMillis = load.getProducedAt().toEpochMilli();
    rankLoad.runId = load.getRunId();
    rankLoad.attempt = load.getAttempt();
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
