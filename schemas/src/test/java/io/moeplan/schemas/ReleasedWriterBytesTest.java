package io.moeplan.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Decodes bytes that Avro's generic writer produced with the released v1 schemas (kept under test
 * resources, never regenerated), so a schema change that strands old producers fails here.
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
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in =
        ReleasedWriterBytesTest.class.getResourceAsStream("/io/moeplan/schemas/written/" + name)) {
      assertThat(in).as(name).isNotNull();
      return in.readAllBytes();
    }
  }
}
