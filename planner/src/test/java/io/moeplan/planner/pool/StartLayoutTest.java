package io.moeplan.planner.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StartLayoutTest {

  private static final ModelSpec MODEL = new ModelSpec(3, 8, 2, 256, 1024, 2, 12, 4096);
  private static final ParallelConfig FOUR_BY_TWO = new ParallelConfig(1, 1, 4, 4, 2);

  @Test
  void contiguousPutsExpertsWsToWsPlusSMinusOneOnWorkerW() {
    StartLayout layout = StartLayout.contiguous(FOUR_BY_TWO, MODEL);

    assertThat(layout.source()).isEqualTo(StartLayout.CONTIGUOUS);
    assertThat(layout.placements()).hasSize(3);
    assertThat(layout.placement(2).slotToExpert()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
  }

  @Test
  void contiguousRepeatsExpertsInSpareSlots() {
    StartLayout layout = StartLayout.contiguous(new ParallelConfig(1, 1, 4, 4, 3), MODEL);

    assertThat(layout.placement(0).slotToExpert())
        .containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3);
  }

  @Test
  void aFileGivesOneLinePerLayerOrOneLineForAll(@TempDir Path directory) throws Exception {
    Path perLayer =
        Files.writeString(
            directory.resolve("layers.txt"),
            "# layer 0, 1, 2\n1 0 3 2 5 4 7 6\n\n0,1,2,3,4,5,6,7\n7, 6, 5, 4, 3, 2, 1, 0\n");
    Path one = Files.writeString(directory.resolve("one.txt"), "1 0 3 2 5 4 7 6\n");

    StartLayout layers = StartLayout.read(perLayer, FOUR_BY_TWO, MODEL);
    StartLayout all = StartLayout.read(one, FOUR_BY_TWO, MODEL);

    assertThat(layers.source()).isEqualTo("layers.txt");
    assertThat(layers.placement(0).slotToExpert()).containsExactly(1, 0, 3, 2, 5, 4, 7, 6);
    assertThat(layers.placement(2).slotToExpert()).containsExactly(7, 6, 5, 4, 3, 2, 1, 0);
    assertThat(all.placements()).hasSize(3).allMatch(p -> p.equals(layers.placement(0)));
  }

  @Test
  void badFilesAreRefusedNamingTheLineAndProblem() {
    assertThatThrownBy(() -> parse("0 1 2 3"))
        .hasMessage("f.txt line 1: 4 experts, but the plan has 8 slots (4 workers x 2)");
    assertThatThrownBy(() -> parse("# c", "0 1 2 3 4 5 6 x"))
        .hasMessage("f.txt line 2: slot 7 holds 'x', not an expert number");
    assertThatThrownBy(() -> parse("0 1 2 3 4 5 6 6"))
        .hasMessageStartingWith("f.txt line 1: ")
        .hasMessageContaining("7");
    assertThatThrownBy(() -> parse("0 1 2 3 4 5 6 7", "0 1 2 3 4 5 6 7"))
        .hasMessageContaining("2 layouts, but the model has 3 MoE layers");
  }

  @Test
  void aPoolRefusesAStartLayoutOfAnotherShape() {
    Pool pool =
        new PoolSearch(
                io.moeplan.planner.spec.ClusterSpec.h100(1, 4), MODEL, PoolOptions.defaults())
            .search(ProgressListener.NONE);
    ParallelConfig other =
        new ParallelConfig(
            1,
            1,
            4,
            pool.startingPlan().parallel().ep(),
            pool.startingPlan().parallel().slotsPerWorker() + 1);

    assertThat(pool.startLayout().source()).isEqualTo(StartLayout.CONTIGUOUS);
    assertThatThrownBy(() -> pool.withStartLayout(StartLayout.contiguous(other, MODEL)))
        .hasMessageContaining("but the starting plan has");
  }

  private static StartLayout parse(String... lines) {
    return StartLayout.parse("f.txt", List.of(lines), FOUR_BY_TWO, MODEL);
  }
}
