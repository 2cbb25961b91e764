package io.moeplan.planner.spec;

/**
 * The hardware a plan is made for. Field names match the Avro record {@code
 * io.moeplan.schemas.ClusterSpec}.
 *
 * @param nodes number of nodes
 * @param gpusPerNode GPUs (workers) per node
 * @param gpuFlops sustained FLOP/s one GPU reaches on the expert GEMMs (forward + backward)
 * @param intraNodeBandwidth bytes/s one GPU sends (and, at the same time, receives) inside a node
 * @param interNodeBandwidth bytes/s one GPU sends (and, at the same time, receives) across nodes
 * @param latencySeconds fixed cost of one all-to-all exchange
 * @param gpuMemoryBytes memory of one GPU
 * @param expertFixedSeconds fixed forward + backward cost of one expert replica per iteration
 */
public record ClusterSpec(
    int nodes,
    int gpusPerNode,
    double gpuFlops,
    double intraNodeBandwidth,
    double interNodeBandwidth,
    double latencySeconds,
    long gpuMemoryBytes,
    double expertFixedSeconds) {

  /**
   * Effective FLOP/s of one H100 on a GPT-MoE expert (hidden 2560, FFN 10240): forward + backward
   * costs 12 * 2560 * 10240 FLOPs per token and takes about 0.44 us per token beyond the fixed part
   * (measured on an H100, docs/performance-model.md), so 3.146e8 / 0.44e-6 = 7.15e14.
   */
  public static final double H100_GPU_FLOPS = 12.0 * 2560 * 10240 / 0.44e-6;

  /**
   * Fixed forward + backward cost of one expert with unfused kernels on an H100: 0.6 ms (0.65-0.9
   * ms measured at 128-1024 tokens, where the per-token part is below 0.45 ms).
   */
  public static final double H100_EXPERT_FIXED_SECONDS = 0.6e-3;

  /**
   * NVLink 4 moves 450 GB/s per direction per H100; an NCCL all-to-all at tens of megabytes per
   * peer reaches about two thirds of that: 3.0e11 bytes/s.
   */
  public static final double H100_INTRA_NODE_BANDWIDTH = 3.0e11;

  /**
   * One 400 Gb/s NDR InfiniBand adapter per GPU is 50 GB/s per direction; about 80% of the line
   * rate is reached by all-to-all traffic: 4.0e10 bytes/s.
   */
  public static final double H100_INTER_NODE_BANDWIDTH = 4.0e10;

  /** Latency of one all-to-all over two to eight InfiniBand-connected nodes: 30 us. */
  public static final double H100_LATENCY_SECONDS = 30e-6;

  /** The 80 GB of HBM3 of an H100 SXM. */
  public static final long H100_GPU_MEMORY_BYTES = 80_000_000_000L;

  /** Validates every field; the message names the first bad one. */
  public ClusterSpec {
    Checks.atLeast("nodes", nodes, 1);
    Checks.atLeast("gpusPerNode", gpusPerNode, 1);
    Checks.atMost("nodes", nodes, Limits.MAX_WORKERS);
    Checks.atMost("gpusPerNode", gpusPerNode, Limits.MAX_WORKERS);
    if ((long) nodes * gpusPerNode > Limits.MAX_WORKERS) {
      throw new SpecException(
          "field 'nodes' times 'gpusPerNode' must be <= "
              + Limits.MAX_WORKERS
              + ", got "
              + ((long) nodes * gpusPerNode));
    }
    Checks.positive("gpuFlops", gpuFlops);
    Checks.positive("intraNodeBandwidth", intraNodeBandwidth);
    Checks.positive("interNodeBandwidth", interNodeBandwidth);
    Checks.nonNegative("latencySeconds", latencySeconds);
    Checks.atLeast("gpuMemoryBytes", gpuMemoryBytes, 1);
    Checks.nonNegative("expertFixedSeconds", expertFixedSeconds);
  }

  /** H100 SXM nodes with the constants documented on this class. */
  public static ClusterSpec h100(int nodes, int gpusPerNode) {
    return new ClusterSpec(
        nodes,
        gpusPerNode,
        H100_GPU_FLOPS,
        H100_INTRA_NODE_BANDWIDTH,
        H100_INTER_NODE_BANDWIDTH,
        H100_LATENCY_SECONDS,
        H100_GPU_MEMORY_BYTES,
        H100_EXPERT_FIXED_SECONDS);
  }

  /** Total GPUs: nodes times GPUs per node. */
  public int gpus() {
    return nodes * gpusPerNode;
  }

  /** The same cluster with another node count and GPUs per node. */
  public ClusterSpec withShape(int newNodes, int newGpusPerNode) {
    return new ClusterSpec(
        newNodes,
        newGpusPerNode,
        gpuFlops,
        intraNodeBandwidth,
        interNodeBandwidth,
        latencySeconds,
        gpuMemoryBytes,
        expertFixedSeconds);
  }
}
