package io.moeplan.schemas;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Small, fully populated records of every topic, for tests in any module. */
public final class SampleRecords {

  /** A fixed producer time, so fixtures compare equal across runs. */
  public static final Instant AT = Instant.parse("2026-11-28T07:00:00Z");

  private SampleRecords() {}

  /** Counts of one layer: {@code experts} experts, expert e getting {@code base + e} tokens. */
  public static LayerLoad layerLoad(int layer, int experts, long base) {
    List<Long> counts = new ArrayList<>(experts);
    for (int e = 0; e < experts; e++) {
      counts.add(base + e);
    }
    return LayerLoad.newBuilder().setLayer(layer).setExpertCounts(counts).build();
  }

  /** The load one rank reports for one iteration of a two-layer, four-expert model. */
  public static ExpertLoad expertLoad(String jobId, int rank, long iteration) {
    return ExpertLoad.newBuilder()
        .setJobId(jobId)
        .setRank(rank)
        .setWorldSize(4)
        .setIteration(iteration)
        .setPlanVersion(0)
        .setLayers(List.of(layerLoad(0, 4, 100 * rank), layerLoad(1, 4, 7)))
        .setProducedAt(AT)
        .build();
  }

  /**
   * A pool of one plan for a job of 4 ranks (dp 4): 2 layers, 4 experts on 2 workers with 2 slots
   * each.
   */
  public static PlanPool planPool(String jobId) {
    return PlanPool.newBuilder()
        .setJobId(jobId)
        .setPoolVersion(3)
        .setCluster(
            ClusterSpec.newBuilder()
                .setNodes(1)
                .setGpusPerNode(2)
                .setGpuFlops(7.1e14)
                .setIntraNodeBandwidth(3.0e11)
                .setInterNodeBandwidth(4.5e10)
                .setLatencySeconds(2.5e-5)
                .setGpuMemoryBytes(80L << 30)
                .setExpertFixedSeconds(6e-4)
                .build())
        .setModel(model())
        .setPlans(
            List.of(
                Plan.newBuilder()
                    .setPlanId(0)
                    .setParallel(
                        ParallelConfig.newBuilder()
                            .setTp(1)
                            .setPp(1)
                            .setDp(4)
                            .setEp(2)
                            .setSlotsPerWorker(2)
                            .build())
                    .setLayers(
                        List.of(
                            LayerPlacement.newBuilder()
                                .setLayer(0)
                                .setSlotToExpert(List.of(0, 1, 2, 3))
                                .setPredictedSeconds(0.004)
                                .build(),
                            LayerPlacement.newBuilder()
                                .setLayer(1)
                                .setSlotToExpert(List.of(3, 0, 1, 2))
                                .setPredictedSeconds(0.005)
                                .build()))
                    .setPredictedIterationSeconds(0.009)
                    .build()))
        .setBuild(
            PoolBuild.newBuilder()
                .setBuiltAt(AT)
                .setSearchMillis(1234)
                .setLoadSource("synthetic")
                .setBuilder("moeplan test")
                .build())
        .build();
  }

  /** A two-layer model of 4 experts, top-2, at GPT-MoE's dimensions. */
  public static ModelSpec model() {
    return ModelSpec.newBuilder()
        .setMoeLayers(2)
        .setExpertCount(4)
        .setTopK(2)
        .setHidden(2560)
        .setFfnHidden(10240)
        .setBytesPerElement(2)
        .setOptimizerBytesPerParam(12)
        .setTokensPerRank(16384)
        .build();
  }

  /**
   * A switch decision for window {@code window} of layer 1 of a job with windows of 10 iterations
   * and a lead of 2, placing 4 experts on 2 workers with 2 slots each.
   */
  public static PlanDecision planDecision(String jobId, long window) {
    return PlanDecision.newBuilder()
        .setDecisionId(Topics.decisionId(jobId, 1, window))
        .setJobId(jobId)
        .setLayer(1)
        .setWindow(window)
        .setWindowFirstIteration(window * 10)
        .setWindowLastIteration(window * 10 + 9)
        .setEffectiveIteration(window * 10 + 9 + 2)
        .setAction(DecisionAction.SWITCH)
        .setSlotToExpert(List.of(2, 0, 3, 1))
        .setPlanVersion(window + 1)
        .setPoolVersion(3)
        .setPredictedCurrentSeconds(0.0052)
        .setPredictedNewSeconds(0.0047)
        .setMigrationBytes(734_003_200L)
        .setMigrationSeconds(0.0016)
        .setRanksReported(4)
        .setReason("gain 0.5 ms x 10 iterations pays the 1.6 ms migration")
        .setWorkers(2)
        .setSlotsPerWorker(2)
        .setWindowIterations(10)
        .setLeadIterations(2)
        .build();
  }

  /** Measured times of layer 1 on two workers at iteration 12. */
  public static WorkerTimes workerTimes(String jobId) {
    return WorkerTimes.newBuilder()
        .setJobId(jobId)
        .setExecutorId("host-a/0")
        .setIteration(12)
        .setLayer(1)
        .setPlanVersion(2)
        .setBackend("cpu")
        .setWorkers(
            List.of(
                WorkerTime.newBuilder()
                    .setWorker(0)
                    .setTokens(4096)
                    .setActiveSlots(2)
                    .setComputeSeconds(0.0031)
                    .build(),
                WorkerTime.newBuilder()
                    .setWorker(1)
                    .setTokens(1024)
                    .setActiveSlots(1)
                    .setComputeSeconds(0.0012)
                    .build()))
        .setMigratedBytes(734_003_200L)
        .setMigrationSeconds(0.0005)
        .setProducedAt(AT)
        .build();
  }

  /** A dead letter for garbage bytes read at partition 1, offset 42. */
  public static DeadLetter deadLetter() {
    return DeadLetter.newBuilder()
        .setSourceTopic(Topics.EXPERT_LOAD.name())
        .setPartition(1)
        .setOffset(42)
        .setKey(java.nio.ByteBuffer.wrap(new byte[] {'j', '/', '1'}))
        .setValue(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3}))
        .setReason(DeadLetterReason.UNDECODABLE)
        .setDetail("expected single-object marker C3 01, received 01 02 03 (3 bytes)")
        .setDeadLetteredAt(AT)
        .build();
  }
}
