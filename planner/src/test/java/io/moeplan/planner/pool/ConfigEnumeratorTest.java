package io.moeplan.planner.pool;

import static io.moeplan.planner.pool.PoolFixtures.cluster;
import static io.moeplan.planner.pool.PoolFixtures.tinyModel;
import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.planner.pool.RefusedConfig.Reason;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import org.junit.jupiter.api.Test;

class ConfigEnumeratorTest {
  private static final long AMPLE = 80_000_000_000L;

  private static PoolOptions noSpareSlots() {
    return PoolOptions.defaults().withMaxReplicationFactor(1.0);
  }

  @Test
  void enumeratesEveryDegreeTripleAndGroupSizeOfAFourGpuCluster() {
    // 2 nodes x 2 GPUs, 2 layers, 6 experts, no spare slots:
    // tp=1 pp=1 dp=4: ep 1 (6 slots), ep 2 (3 slots) valid; ep 4 neither divides 6 nor is a
    //   multiple of it.
    // tp=1 pp=2 dp=2: ep 1, ep 2 valid.   tp=1 pp=4: 4 stages for 2 layers.
    // tp=2 pp=1 dp=2: ep 1, ep 2 valid.   tp=2 pp=2 dp=1: ep 1 valid.
    // tp=4: does not divide the 2 GPUs of a node.
    ConfigEnumeration result =
        ConfigEnumerator.enumerate(cluster(2, 2, AMPLE), tinyModel(2, 6), noSpareSlots());

    assertThat(result.valid())
        .containsExactly(
            new ParallelConfig(1, 1, 4, 1, 6),
            new ParallelConfig(1, 1, 4, 2, 3),
            new ParallelConfig(1, 2, 2, 1, 6),
            new ParallelConfig(1, 2, 2, 2, 3),
            new ParallelConfig(2, 1, 2, 1, 6),
            new ParallelConfig(2, 1, 2, 2, 3),
            new ParallelConfig(2, 2, 1, 1, 6));
    assertThat(result.refused())
        .extracting(r -> r.tp() + "/" + r.pp() + "/" + r.dp() + "/" + r.ep() + " " + r.reason())
        .containsExactly(
            "1/1/4/4 " + Reason.EXPERT_GROUP_MISMATCH,
            "1/4/1/0 " + Reason.PIPELINE_DEEPER_THAN_LAYERS,
            "4/1/1/0 " + Reason.TENSOR_ACROSS_NODES);
  }

  @Test
  void aGivenConfigIsRefusedWithTheRuleItBreaksOrAcceptedWhenValid() {
    var cluster = cluster(2, 2, AMPLE);
    ModelSpec model = tinyModel(2, 6);
    PoolOptions options = noSpareSlots();
    ConfigEnumeration all = ConfigEnumerator.enumerate(cluster, model, options);

    assertThat(
            ConfigEnumerator.refusal(
                all, cluster, model, options, new ParallelConfig(1, 1, 4, 2, 3)))
        .isEmpty();
    assertThat(reason(all, cluster, model, options, new ParallelConfig(1, 1, 2, 2, 3)))
        .isEqualTo(Reason.NOT_THE_CLUSTERS_GPUS);
    assertThat(reason(all, cluster, model, options, new ParallelConfig(4, 1, 1, 1, 6)))
        .isEqualTo(Reason.TENSOR_ACROSS_NODES);
    assertThat(reason(all, cluster, model, options, new ParallelConfig(1, 4, 1, 1, 6)))
        .isEqualTo(Reason.PIPELINE_DEEPER_THAN_LAYERS);
    assertThat(reason(all, cluster, model, options, new ParallelConfig(1, 2, 2, 4, 2)))
        .isEqualTo(Reason.EXPERT_GROUP_SPLITS_DATA);
    assertThat(reason(all, cluster, model, options, new ParallelConfig(1, 1, 4, 4, 2)))
        .isEqualTo(Reason.EXPERT_GROUP_MISMATCH);
    assertThat(reason(all, cluster, model, options, new ParallelConfig(1, 1, 4, 2, 4)))
        .isEqualTo(Reason.SLOTS_OUT_OF_RANGE);
    var small = cluster(2, 2, 8192);
    assertThat(
            reason(
                ConfigEnumerator.enumerate(small, model, options),
                small,
                model,
                options,
                new ParallelConfig(1, 1, 4, 2, 3)))
        .isEqualTo(Reason.MEMORY);
  }

  private static Reason reason(
      ConfigEnumeration all,
      io.moeplan.planner.spec.ClusterSpec cluster,
      ModelSpec model,
      PoolOptions options,
      ParallelConfig config) {
    RefusedConfig refused =
        ConfigEnumerator.refusal(all, cluster, model, options, config).orElseThrow();
    assertThat(refused.detail()).isNotBlank();
    assertThat(refused.slotsPerWorker()).isEqualTo(config.slotsPerWorker());
    return refused.reason();
  }

  @Test
  void spareSlotsRunUpToTheReplicationFactor() {
    // 1 node x 4 GPUs, 1 layer, 4 experts, up to 2 x 4 = 8 slots per group
    ConfigEnumeration result =
        ConfigEnumerator.enumerate(cluster(1, 4, AMPLE), tinyModel(1, 4), PoolOptions.defaults());

    assertThat(result.valid())
        .filteredOn(c -> c.tp() == 1 && c.pp() == 1)
        .extracting(c -> c.ep() + "x" + c.slotsPerWorker())
        .containsExactly("1x4", "1x5", "1x6", "1x7", "1x8", "2x2", "2x3", "2x4", "4x1", "4x2");
  }

  @Test
  void aGroupLargerThanTheExpertCountReplicatesEveryExpert() {
    // 4 workers, 2 experts: ep 4 is a multiple of 2, one slot each, every expert twice
    ConfigEnumeration result =
        ConfigEnumerator.enumerate(cluster(1, 4, AMPLE), tinyModel(1, 2), noSpareSlots());

    assertThat(result.valid()).contains(new ParallelConfig(1, 1, 4, 4, 1));
    assertThat(result.refused()).extracting(RefusedConfig::reason).doesNotContain(Reason.MEMORY);
  }

  @Test
  void refusesTheFirstSlotCountWhoseExpertStateExceedsTheMemoryLeftAfterTheReserve() {
    // one GPU, 2 layers, 4 experts: 4096 bytes per slot and layer, so 8192 bytes per slot;
    // 100000 bytes with half reserved leaves 50000: 6 slots (49152) fit, 7 (57344) do not
    ModelSpec model = tinyModel(2, 4);
    PoolOptions options = PoolOptions.defaults().withMemoryReserveFraction(0.5);

    ConfigEnumeration result = ConfigEnumerator.enumerate(cluster(1, 1, 100_000), model, options);

    assertThat(MemoryBudget.bytesPerSlotAndLayer(model, 1)).isEqualTo(4096.0);
    assertThat(result.valid()).extracting(ParallelConfig::slotsPerWorker).containsExactly(4, 5, 6);
    assertThat(result.refused()).hasSize(1);
    RefusedConfig refused = result.refused().get(0);
    assertThat(refused.reason()).isEqualTo(Reason.MEMORY);
    assertThat(refused.slotsPerWorker()).isEqualTo(7);
    assertThat(refused.detail()).contains("7 slots x 2 layers");
  }

  @Test
  void pipelineStagesAndTensorShardsShrinkTheExpertStateOfAGpu() {
    ModelSpec model = tinyModel(4, 8);
    ParallelConfig whole = new ParallelConfig(1, 1, 4, 4, 2);
    ParallelConfig staged = new ParallelConfig(1, 2, 2, 2, 4);
    ParallelConfig sharded = new ParallelConfig(2, 1, 2, 2, 4);

    // 4096 bytes per slot and layer at tp 1
    assertThat(MemoryBudget.expertBytesPerGpu(model, whole)).isEqualTo(2 * 4 * 4096.0);
    assertThat(MemoryBudget.expertBytesPerGpu(model, staged)).isEqualTo(4 * 2 * 4096.0);
    assertThat(MemoryBudget.expertBytesPerGpu(model, sharded)).isEqualTo(4 * 4 * 2048.0);
  }
}
