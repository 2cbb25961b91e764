package io.moeplan.executor.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.executor.backend.CpuMoeLayer;
import io.moeplan.executor.backend.ExpertCounts;
import io.moeplan.executor.backend.LayerShape;
import io.moeplan.executor.backend.Reference;
import io.moeplan.executor.backend.SlotLayout;
import io.moeplan.planner.placement.LoadMatrix;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceWorkloadTest {

  @Test
  void reproducesEachRanksTraceCountsWhenTheyMatchTheTokens(@TempDir Path dir) throws Exception {
    Path trace = dir.resolve("trace.csv");
    Files.writeString(
        trace,
        "iteration,rank,layer,e0,e1,e2,e3\n"
            + "0,0,0,8,0,5,3\n"
            + "0,1,0,1,7,4,4\n"
            + "1,0,0,2,6,4,4\n"
            + "1,1,0,4,4,4,4\n");
    WorkloadShape shape = new WorkloadShape(0, 2, 2, 1, 8, 16, 4, 2);
    TraceWorkload workload = new TraceWorkload(trace, shape, 2, 1);
    try (CpuMoeLayer layer = new CpuMoeLayer(new LayerShape(16, 8, 4, 2), new SlotLayout(2, 2))) {
      workload.advanceTo(0);
      assertThat(counts(workload.input(0, layer)).counts()).containsExactly(8, 0, 5, 3, 1, 7, 4, 4);
      workload.advanceTo(1);
      assertThat(counts(workload.input(0, layer)).counts()).containsExactly(8, 0, 5, 3, 1, 7, 4, 4);
      workload.advanceTo(2);
      LayerInput second = workload.input(0, layer);
      assertThat(counts(second).counts()).containsExactly(2, 6, 4, 4, 4, 4, 4, 4);
      for (int t = 0; t < second.routing().tokens(); t++) {
        Set<Integer> experts = new HashSet<>();
        experts.add(second.routing().experts()[2 * t]);
        experts.add(second.routing().experts()[2 * t + 1]);
        assertThat(experts).as("token %d picks two different experts", t).hasSize(2);
      }
    }
  }

  @Test
  void scalesARowToTheTokensKeepingItsShapeAndNoExpertAboveOnePerToken() {
    LoadMatrix load = LoadMatrix.of(new long[][] {{9000, 3000, 3000, 1384}});
    int[] counts = TraceWorkload.rankCounts(load, 0, 8, 2);
    assertThat(counts).containsExactly(8, 3, 3, 2);
    // expert 0 would get 110 of 200 assignments but 100 tokens can pick it at most 100 times
    assertThat(TraceWorkload.rankCounts(load, 0, 100, 2)).containsExactly(100, 40, 40, 20);
  }

  @Test
  void modelLayerLReplaysTheFilesLthLayerWhenTheTraceStartsAboveZero(@TempDir Path dir)
      throws Exception {
    // layers 5-7; layer l routes all 16 assignments of a rank to expert l - 5 + rank
    StringBuilder csv = new StringBuilder("iteration,rank,layer,e0,e1,e2,e3\n");
    for (int rank = 0; rank < 2; rank++) {
      for (int layer = 5; layer <= 7; layer++) {
        csv.append("0,").append(rank).append(',').append(layer);
        for (int e = 0; e < 4; e++) {
          csv.append(',').append(e == layer - 5 + rank ? 8 : e == 3 ? 8 : 0);
        }
        csv.append('\n');
      }
    }
    Path trace = dir.resolve("layers-5-7.csv.gz");
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(trace))) {
      out.write(csv.toString().getBytes(StandardCharsets.UTF_8));
    }
    WorkloadShape shape = new WorkloadShape(0, 2, 2, 2, 8, 16, 4, 2);
    TraceWorkload workload = new TraceWorkload(trace, shape, 1, 1);
    try (CpuMoeLayer layer = new CpuMoeLayer(new LayerShape(16, 8, 4, 2), new SlotLayout(2, 2))) {
      workload.advanceTo(0);
      // model layer 0 is trace layer 5, model layer 1 trace layer 6
      assertThat(counts(workload.input(0, layer)).counts()).containsExactly(8, 0, 0, 8, 0, 8, 0, 8);
      assertThat(counts(workload.input(1, layer)).counts()).containsExactly(0, 8, 0, 8, 0, 0, 8, 8);
    }

    WorkloadShape tooDeep = new WorkloadShape(0, 2, 2, 4, 8, 16, 4, 2);
    assertThatThrownBy(() -> new TraceWorkload(trace, tooDeep, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("layers-5-7.csv.gz")
        .hasMessageContaining("(5-7), fewer than the 4 the model needs");
  }

  private static ExpertCounts counts(LayerInput input) {
    return Reference.rankCounts(input.routing(), 2, 8, 4);
  }
}
