package io.moeplan.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.schemas.wire.ReleasedSchemas;
import io.moeplan.schemas.wire.SingleObjectCodec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.junit.jupiter.api.Test;

/**
 * Decodes bytes that Avro's generic writer produced with released schemas (kept under test
 * resources, never regenerated), so a schema change that strands old producers fails here, and
 * reads the newest bytes with an older reader schema, so one that strands old consumers fails too.
 */
class ReleasedWriterBytesTest {

  @Test
  void decodesAnExpertLoadWrittenWithV1() throws IOException {
    ExpertLoad load = Topics.EXPERT_LOAD.valueCodec().decode(resource("ExpertLoad-v1.bin"));

    assertThat(load.getJobId()).isEqualTo("gpt-moe-v1");
    assertThat(load.getRank()).isEqualTo(3);
    assertThat(load.getWorldSize()).isEqualTo(16);
    assertThat(load.getIteration()).isEqualTo(4201L);
    assertThat(load.getPlanVersion()).isEqualTo(7L);
    assertThat(load.getLayers()).extracting(LayerLoad::getLayer).containsExactly(0, 1);
    assertThat(load.getLayers().get(0).getExpertCounts()).containsExactly(5L, 0L, 12L, 3L);
    assertThat(load.getLayers().get(1).getExpertCounts()).containsExactly(1L, 2L, 3L, 14L);
    assertThat(load.getProducedAt()).isEqualTo(Instant.ofEpochMilli(1764313200123L));
    assertThat(load.getRunId()).as("runId, not written by v1: the default run").isNull();
    assertThat(load.getAttempt()).as("attempt, not written by v1").isZero();
  }

  @Test
  void decodesAnExpertLoadWrittenWithV2() throws IOException {
    byte[] bytes = resource("ExpertLoad-v2.bin");
    ExpertLoad load = Topics.EXPERT_LOAD.valueCodec().decode(bytes);

    assertThat(writerFingerprint(bytes))
        .isEqualTo(SchemaNormalization.parsingFingerprint64(version("ExpertLoad", 2)));
    assertThat(load.getJobId()).isEqualTo("gpt-moe-v2");
    assertThat(load.getIteration()).isEqualTo(4201L);
    assertThat(load.getRunId()).isEqualTo("run-b");
    assertThat(load.getAttempt()).isEqualTo(2);
  }

  @Test
  void aV1ReaderReadsAnExpertLoadWrittenWithV2WithEveryV1FieldIntact() throws IOException {
    byte[] bytes = resource("ExpertLoad-v2.bin");

    GenericRecord old =
        readWithOlderReader(bytes, version("ExpertLoad", 2), version("ExpertLoad", 1));

    assertThat(old.getSchema().getFields())
        .extracting(Schema.Field::name)
        .doesNotContain("runId", "attempt");
    ExpertLoad current = Topics.EXPERT_LOAD.valueCodec().decode(bytes);
    for (Schema.Field field : version("ExpertLoad", 1).getFields()) {
      if (field.name().equals("producedAt")) {
        continue; // a long to the generic reader, an Instant to the generated class
      }
      assertThat(String.valueOf(old.get(field.name())))
          .as(field.name())
          .isEqualTo(String.valueOf(current.get(field.name())));
    }
    assertThat(old.get("jobId")).hasToString("gpt-moe-v2");
    assertThat(old.get("rank")).isEqualTo(3);
    assertThat(old.get("iteration")).isEqualTo(4201L);
    assertThat(old.get("producedAt")).isEqualTo(current.getProducedAt().toEpochMilli());
  }

  @Test
  void decodesAPlanDecisionWrittenWithV1() throws IOException {
    PlanDecision decision =
        Topics.PLAN_DECISIONS.valueCodec().decode(resource("PlanDecision-v1.bin"));

    assertThat(decision.getDecisionId()).isEqualTo("gpt-moe-v1/5/420");
    assertThat(decision.getAction()).isEqualTo(DecisionAction.SWITCH);
    assertThat(decision.getSlotToExpert()).isEqualTo(List.of(1, 0, 3, 2));
    assertThat(decision.getEffectiveIteration()).isEqualTo(4211L);
    assertThat(decision.getMigrationBytes()).isEqualTo(1468006400L);
    assertThat(decision.getRanksReported()).isEqualTo(16);
    assertThat(decision.getReason()).isEqualTo("written by the v1 schema");
    assertThat(decision.getWorkers()).as("workers, not written by v1").isNull();
    assertThat(decision.getSlotsPerWorker()).as("slotsPerWorker, not written by v1").isNull();
    assertThat(decision.getWindowIterations()).as("windowIterations, not written by v1").isNull();
    assertThat(decision.getLeadIterations()).as("leadIterations, not written by v1").isNull();
    assertThat(decision.getRunId()).as("runId, not written by v1").isNull();
    assertThat(decision.getAttempt()).as("attempt, not written by v1").isZero();
  }

  @Test
  void decodesAPlanDecisionWrittenWithV2() throws IOException {
    byte[] bytes = resource("PlanDecision-v2.bin");
    PlanDecision decision = Topics.PLAN_DECISIONS.valueCodec().decode(bytes);

    assertThat(writerFingerprint(bytes))
        .isEqualTo(SchemaNormalization.parsingFingerprint64(planDecisionVersion(2)));
    assertThat(decision.getDecisionId()).isEqualTo("gpt-moe-v2/5/420");
    assertThat(decision.getSlotToExpert()).isEqualTo(List.of(1, 0, 3, 2, 5, 4));
    assertThat(decision.getEffectiveIteration()).isEqualTo(4211L);
    assertThat(decision.getReason()).isEqualTo("written by the v2 schema");
    assertThat(decision.getWorkers()).isEqualTo(3);
    assertThat(decision.getSlotsPerWorker()).isEqualTo(2);
    assertThat(decision.getWindowIterations()).isEqualTo(10);
    assertThat(decision.getLeadIterations()).isEqualTo(2);
    assertThat(decision.getRunId()).as("runId, not written by v2").isNull();
    assertThat(decision.getAttempt()).as("attempt, not written by v2").isZero();
  }

  @Test
  void decodesAPlanDecisionWrittenWithV3() throws IOException {
    byte[] bytes = resource("PlanDecision-v3.bin");
    PlanDecision decision = Topics.PLAN_DECISIONS.valueCodec().decode(bytes);

    assertThat(writerFingerprint(bytes))
        .isEqualTo(SchemaNormalization.parsingFingerprint64(planDecisionVersion(3)));
    assertThat(decision.getDecisionId()).isEqualTo("gpt-moe-v3/5/420@run-b.2");
    assertThat(decision.getWorkers()).isEqualTo(3);
    assertThat(decision.getRunId()).isEqualTo("run-b");
    assertThat(decision.getAttempt()).isEqualTo(2);
  }

  @Test
  void aV2ReaderReadsAPlanDecisionWrittenWithV3WithEveryV2FieldIntact() throws IOException {
    byte[] bytes = resource("PlanDecision-v3.bin");

    GenericRecord old = readWithOlderReader(bytes, planDecisionVersion(3), planDecisionVersion(2));

    assertThat(old.getSchema().getFields())
        .extracting(Schema.Field::name)
        .doesNotContain("runId", "attempt");
    PlanDecision current = Topics.PLAN_DECISIONS.valueCodec().decode(bytes);
    for (Schema.Field field : planDecisionVersion(2).getFields()) {
      assertThat(String.valueOf(old.get(field.name())))
          .as(field.name())
          .isEqualTo(String.valueOf(current.get(field.name())));
    }
    assertThat(old.get("decisionId")).hasToString("gpt-moe-v3/5/420@run-b.2");
    assertThat(old.get("windowIterations")).isEqualTo(10);
  }

  private static GenericRecord readWithOlderReader(byte[] bytes, Schema writer, Schema reader)
      throws IOException {
    BinaryDecoder body =
        DecoderFactory.get()
            .binaryDecoder(
                bytes,
                SingleObjectCodec.HEADER_LENGTH,
                bytes.length - SingleObjectCodec.HEADER_LENGTH,
                null);
    GenericRecord old = new GenericDatumReader<GenericRecord>(writer, reader).read(null, body);
    assertThat(body.isEnd()).as("the whole body consumed").isTrue();
    return old;
  }

  private static Schema version(String record, int version) {
    return ReleasedSchemas.of(record).get(version - 1);
  }

  @Test
  void aV1ReaderReadsAPlanDecisionWrittenWithV2WithEveryV1FieldIntact() throws IOException {
    byte[] bytes = resource("PlanDecision-v2.bin");
    Schema v1 = planDecisionVersion(1);
    BinaryDecoder body =
        DecoderFactory.get()
            .binaryDecoder(
                bytes,
                SingleObjectCodec.HEADER_LENGTH,
                bytes.length - SingleObjectCodec.HEADER_LENGTH,
                null);

    GenericRecord old =
        new GenericDatumReader<GenericRecord>(planDecisionVersion(2), v1).read(null, body);

    assertThat(body.isEnd()).as("the whole v2 body consumed").isTrue();
    assertThat(old.getSchema().getFields())
        .extracting(Schema.Field::name)
        .doesNotContain("workers", "slotsPerWorker", "windowIterations", "leadIterations");
    PlanDecision current = Topics.PLAN_DECISIONS.valueCodec().decode(bytes);
    for (Schema.Field field : v1.getFields()) {
      assertThat(String.valueOf(old.get(field.name())))
          .as(field.name())
          .isEqualTo(String.valueOf(current.get(field.name())));
    }
    assertThat(old.get("decisionId")).hasToString("gpt-moe-v2/5/420");
    assertThat(old.get("effectiveIteration")).isEqualTo(4211L);
    assertThat(old.get("slotToExpert")).isEqualTo(List.of(1, 0, 3, 2, 5, 4));
  }

  private static Schema planDecisionVersion(int version) {
    return ReleasedSchemas.of("PlanDecision").get(version - 1);
  }

  private static long writerFingerprint(byte[] bytes) {
    return ByteBuffer.wrap(bytes, SingleObjectCodec.MAGIC.length, Long.BYTES)
        .order(ByteOrder.LITTLE_ENDIAN)
        .getLong();
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in =
        ReleasedWriterBytesTest.class.getResourceAsStream("/io/moeplan/schemas/written/" + name)) {
      assertThat(in).as(name).isNotNull();
      return in.readAllBytes();
    }
  }
}
