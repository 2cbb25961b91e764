package io.moeplan.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moeplan.schemas.wire.Codec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden bytes shared with the Python client ({@code clients/python/tests/test_golden.py}): for
 * every record type, {@code golden/<Record>.bin} is the current codec's encoding of the record
 * built below and {@code golden/<Record>.json} the same record as plain JSON (a record an object
 * keyed by field name, an enum its symbol, a union its branch's value, a timestamp-millis its epoch
 * milliseconds, bytes a lowercase hex string). Both languages must write exactly these bytes and
 * read them back to these values.
 *
 * <p>The files are committed and only compared. After a deliberate schema change, regenerate them
 * with {@code mvn -o -pl schemas test -Dtest=GoldenBytesTest -Dgolden.write=true}, which writes
 * them into the source tree (run from the module directory, as Maven does) before comparing.
 */
class GoldenBytesTest {

  private static final Path GOLDEN = Path.of("src/test/resources/io/moeplan/schemas/golden");

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private static final Instant AT = Instant.ofEpochMilli(1764313200123L);

  static Stream<Arguments> records() {
    return Stream.of(
        Arguments.of("ExpertLoad", Topics.EXPERT_LOAD.valueCodec(), expertLoad()),
        Arguments.of("PlanDecision", Topics.PLAN_DECISIONS.valueCodec(), planDecision()),
        Arguments.of("PlanPool", Topics.PLAN_POOL.valueCodec(), planPool()),
        Arguments.of("WorkerTimes", Topics.WORKER_TIMES.valueCodec(), workerTimes()),
        Arguments.of("DeadLetter", Topics.EXPERT_LOAD_DLQ.valueCodec(), deadLetter()),
        Arguments.of("ModelFit", Topics.MODEL_FIT.valueCodec(), modelFit()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("records")
  <T extends SpecificRecord> void encodesToTheGoldenBytesAndDecodesThemBack(
      String name, Codec<T> codec, T record) throws IOException {
    Path bin = GOLDEN.resolve(name + ".bin");
    Path json = GOLDEN.resolve(name + ".json");
    if (Boolean.getBoolean("golden.write")) {
      Files.createDirectories(GOLDEN);
      Files.write(bin, codec.encode(record));
      Files.writeString(json, JSON.writeValueAsString(toJson(record.getSchema(), record)) + "\n");
    }

    byte[] golden = Files.readAllBytes(bin);

    assertThat(codec.encode(record)).as(bin.toString()).isEqualTo(golden);
    assertThat(codec.decode(golden)).isEqualTo(record);
    assertThat(JSON.readTree(json.toFile()))
        .as(json.toString())
        .isEqualTo(JSON.readTree(JSON.writeValueAsString(toJson(record.getSchema(), record))));
  }

  /** The plain JSON of a value of {@code schema}, as the Python client represents it. */
  private static JsonNode toJson(Schema schema, Object value) {
    JsonNodeFactory nodes = JsonNodeFactory.instance;
    switch (schema.getType()) {
      case RECORD -> {
        ObjectNode object = nodes.objectNode();
        IndexedRecord record = (IndexedRecord) value;
        for (Schema.Field field : schema.getFields()) {
          object.set(field.name(), toJson(field.schema(), record.get(field.pos())));
        }
        return object;
      }
      case ARRAY -> {
        ArrayNode array = nodes.arrayNode();
        for (Object item : (Collection<?>) value) {
          array.add(toJson(schema.getElementType(), item));
        }
        return array;
      }
      case MAP -> {
        ObjectNode object = nodes.objectNode();
        for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
          object.set(entry.getKey().toString(), toJson(schema.getValueType(), entry.getValue()));
        }
        return object;
      }
      case UNION -> {
        return toJson(schema.getTypes().get(SpecificData.get().resolveUnion(schema, value)), value);
      }
      case NULL -> {
        return nodes.nullNode();
      }
      case BOOLEAN -> {
        return nodes.booleanNode((Boolean) value);
      }
      case INT -> {
        return nodes.numberNode((Integer) value);
      }
      case LONG -> {
        long millisOrLong =
            value instanceof Instant instant ? instant.toEpochMilli() : (Long) value;
        return nodes.numberNode(millisOrLong);
      }
      case FLOAT -> {
        return nodes.numberNode((Float) value);
      }
      case DOUBLE -> {
        return nodes.numberNode((Double) value);
      }
      case BYTES -> {
        ByteBuffer buffer = ((ByteBuffer) value).duplicate();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return nodes.textNode(HexFormat.of().formatHex(bytes));
      }
      default -> {
        return nodes.textNode(value.toString()); // STRING and ENUM
      }
    }
  }

  private static ExpertLoad expertLoad() {
    return ExpertLoad.newBuilder()
        .setJobId("gpt-moe-ünï/λ-🚀")
        .setRank(7)
        .setWorldSize(64)
        .setIteration(3_000_000_123L)
        .setPlanVersion(12)
        .setLayers(
            List.of(
                LayerLoad.newBuilder()
                    .setLayer(0)
                    .setExpertCounts(
                        List.of(0L, 1L, -1L, 63L, 64L, 5_000_000_000L, -5_000_000_000L))
                    .build(),
                LayerLoad.newBuilder()
                    .setLayer(1)
                    .setExpertCounts(List.of(Long.MAX_VALUE, Long.MIN_VALUE, 2_147_483_648L))
                    .build(),
                LayerLoad.newBuilder().setLayer(11).setExpertCounts(List.of()).build()))
        .setProducedAt(AT)
        .setRunId("run-ß")
        .setAttempt(3)
        .build();
  }

  private static PlanDecision planDecision() {
    return PlanDecision.newBuilder()
        .setDecisionId("gpt-moe/5/420@run-β.1")
        .setJobId("gpt-moe")
        .setLayer(5)
        .setWindow(420)
        .setWindowFirstIteration(4200)
        .setWindowLastIteration(4209)
        .setEffectiveIteration(4211)
        .setAction(DecisionAction.SWITCH)
        .setSlotToExpert(List.of(1, 0, 3, 2, 5, 4))
        .setPlanVersion(9)
        .setPoolVersion(2)
        .setPredictedCurrentSeconds(0.0125)
        .setPredictedNewSeconds(0.011093750000000001)
        .setMigrationBytes(-1)
        .setMigrationSeconds(3.1e-3)
        .setRanksReported(15)
        .setReason("gain ≥ 1.4 ms × 10 iterations pays the migration — switch")
        .setWorkers(3)
        .setSlotsPerWorker(2)
        .setWindowIterations(null)
        .setLeadIterations(2)
        .setRunId("run-β")
        .setAttempt(1)
        .setModelVersion(7)
        .build();
  }

  private static PlanPool planPool() {
    return PlanPool.newBuilder()
        .setJobId("gpt-moe")
        .setPoolVersion(4_294_967_296L)
        .setCluster(
            ClusterSpec.newBuilder()
                .setNodes(2)
                .setGpusPerNode(8)
                .setGpuFlops(7.1e14)
                .setIntraNodeBandwidth(3.0e11)
                .setInterNodeBandwidth(4.5e10)
                .setLatencySeconds(2.5e-5)
                .setGpuMemoryBytes(80L << 30)
                .setExpertFixedSeconds(6e-4)
                .build())
        .setModel(SampleRecords.model())
        .setPlans(
            List.of(
                plan(0, 2, List.of(0, 1, 2, 3), List.of(3, 0, 1, 2), 0.009),
                plan(1, 4, List.of(0, 2, 1, 3), List.of(1, 3, 0, 2), 0.0087)))
        .setBuild(
            PoolBuild.newBuilder()
                .setBuiltAt(AT)
                .setSearchMillis(1234)
                .setLoadSource("trace-2026-11-28.jsonl")
                .setBuilder("moeplan pool-loader 0.1 (Müller)")
                .build())
        .setStartLayout(List.of(List.of(0, 1, 2, 3), List.of(3, 2, 1, 0)))
        .setStartLayoutSource("contiguous")
        .build();
  }

  private static Plan plan(int id, int ep, List<Integer> layer0, List<Integer> layer1, double t) {
    return Plan.newBuilder()
        .setPlanId(id)
        .setParallel(
            ParallelConfig.newBuilder()
                .setTp(1)
                .setPp(1)
                .setDp(16 / ep)
                .setEp(ep)
                .setSlotsPerWorker(4 / ep)
                .build())
        .setLayers(
            List.of(
                LayerPlacement.newBuilder()
                    .setLayer(0)
                    .setSlotToExpert(layer0)
                    .setPredictedSeconds(0.0041)
                    .build(),
                LayerPlacement.newBuilder()
                    .setLayer(1)
                    .setSlotToExpert(layer1)
                    .setPredictedSeconds(t - 0.0041)
                    .build()))
        .setPredictedIterationSeconds(t)
        .build();
  }

  private static WorkerTimes workerTimes() {
    return WorkerTimes.newBuilder()
        .setJobId("gpt-moe")
        .setExecutorId("host-ä/0")
        .setIteration(9_000_000_000L)
        .setLayer(3)
        .setPlanVersion(2)
        .setBackend("cuda")
        .setWorkers(
            List.of(
                workerTime(0, 4096, 2, 0.0031, 0, 0.0),
                workerTime(1, 3_000_000_000L, 1, 0.0012, 734_003_200L, 0.0005),
                workerTime(2, 0, 0, 0.0, 0, 0.0)))
        .setMigratedBytes(734_003_200L)
        .setMigrationSeconds(0.0005)
        .setProducedAt(AT)
        .build();
  }

  private static WorkerTime workerTime(
      int worker, long tokens, int active, double seconds, long migrated, double migration) {
    return WorkerTime.newBuilder()
        .setWorker(worker)
        .setTokens(tokens)
        .setActiveSlots(active)
        .setComputeSeconds(seconds)
        .setMigratedBytes(migrated)
        .setMigrationSeconds(migration)
        .build();
  }

  private static ModelFit modelFit() {
    return ModelFit.newBuilder()
        .setJobId("gpt-moe")
        .setWorkerClass("cpu")
        .setPoolVersion(4_294_967_296L)
        .setModelVersion(7)
        .setCalibrated(true)
        .setLastIteration(9_000_000_000L)
        .setComputeSamples(4096)
        .setComputeOutliers(12)
        .setFixedSeconds(4.5e-6)
        .setPerTokenSeconds(1.25e-7)
        .setPoolFixedSeconds(5e-6)
        .setPoolPerTokenSeconds(1.0e-7)
        .setMigrationCalibrated(false)
        .setMigrationSamples(3)
        .setMigrationBytesPerSecond(5e9)
        .setPoolMigrationBytesPerSecond(5e9)
        .setErrorWindows(10)
        .setErrorSamples(3200)
        .setComputeMape(0.031)
        .setComputePearson(0.991)
        .setComputeRelativeMape(0.008)
        .setStepMape(0.024)
        .setPredictedStepSeconds(0.0121)
        .setMeasuredStepSeconds(0.0124)
        .setMigrationMape(null)
        .setUpdatedAt(AT)
        .build();
  }

  private static DeadLetter deadLetter() {
    return DeadLetter.newBuilder()
        .setSourceTopic(Topics.EXPERT_LOAD.name())
        .setPartition(11)
        .setOffset(5_000_000_000L)
        .setKey(null)
        .setValue(ByteBuffer.wrap(new byte[] {0, 0, 0, 0, 42, (byte) 0xC3, (byte) 0xFF, 1}))
        .setReason(DeadLetterReason.UNDECODABLE)
        .setDetail("expected single-object marker C3 01, received 00 00 00 00 2A … (8 bytes)")
        .setDeadLetteredAt(AT)
        .build();
  }
}
