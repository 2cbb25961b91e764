package io.moeplan.executor.process;

import io.moeplan.schemas.DecisionWindows;
import io.moeplan.schemas.JobIds;
import io.moeplan.schemas.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Everything one executor process runs with, parsed once.
 *
 * @param jobId the training job (see {@link JobIds})
 * @param ranks worker ranks this process hosts
 * @param firstRank the first of them
 * @param worldSize ranks of the whole job
 * @param backend compute backend
 * @param trace trace to replay as routing, or null for the synthetic stream through a real gate
 * @param traceSampleIterations iterations each trace sample stands for
 * @param iterations iterations to run (0: until stopped)
 * @param startIteration first iteration (a restarted executor resumes here)
 * @param iterationsPerSecond pacing (0: as fast as the compute allows)
 * @param windowIterations the job's replan interval F ({@link DecisionWindows})
 * @param leadIterations the job's lead L ({@link DecisionWindows})
 * @param decisionTimeout how long an effective iteration waits for its window's decisions
 * @param poolTimeout how long to wait for the job's pool at start
 * @param dims model dimensions overriding the pool's (0 keeps the pool's)
 * @param seed seed of weights, gate and tokens
 * @param topics topic names
 */
public record ExecutorSettings(
    String jobId,
    int ranks,
    int firstRank,
    int worldSize,
    BackendKind backend,
    Path trace,
    int traceSampleIterations,
    long iterations,
    long startIteration,
    double iterationsPerSecond,
    int windowIterations,
    int leadIterations,
    Duration decisionTimeout,
    Duration poolTimeout,
    DimOverrides dims,
    long seed,
    TopicNames topics) {

  /** Validates the settings; messages name the command-line option. */
  public ExecutorSettings {
    String jobProblem = JobIds.problem(jobId);
    require(jobProblem == null, "--job: " + jobProblem);
    require(ranks >= 1, "--workers must be >= 1, got " + ranks);
    require(firstRank >= 0, "--first-rank must be >= 0, got " + firstRank);
    require(
        firstRank + ranks <= worldSize,
        "--first-rank "
            + firstRank
            + " + --workers "
            + ranks
            + " exceeds --world-size "
            + worldSize);
    require(iterations >= 0, "--iterations must be >= 0, got " + iterations);
    require(startIteration >= 0, "--start-iteration must be >= 0, got " + startIteration);
    require(
        iterationsPerSecond >= 0 && Double.isFinite(iterationsPerSecond),
        "--rate must be >= 0, got " + iterationsPerSecond);
    require(
        windowIterations >= 1,
        DecisionWindows.WINDOW_ITERATIONS_FLAG + " must be >= 1, got " + windowIterations);
    require(
        leadIterations >= 0,
        DecisionWindows.LEAD_ITERATIONS_FLAG + " must be >= 0, got " + leadIterations);
    require(
        traceSampleIterations >= 1,
        "--trace-sample-iterations must be >= 1, got " + traceSampleIterations);
    require(!decisionTimeout.isNegative(), "--decision-timeout must be >= 0");
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  /** Which backend computes the layers. */
  public enum BackendKind {
    /** The plain-Java float32 reference. */
    CPU,
    /** JCuda kernels on the first CUDA device. */
    CUDA
  }

  /**
   * Model dimensions replacing the pool's, for small CPU demos; 0 keeps the pool's value.
   *
   * @param hidden model width
   * @param ffn expert FFN width
   * @param tokensPerRank tokens (not assignments) each rank routes per layer and iteration
   */
  public record DimOverrides(int hidden, int ffn, int tokensPerRank) {
    /** Keep every dimension of the pool. */
    public static final DimOverrides NONE = new DimOverrides(0, 0, 0);

    /** Validates that no value is negative. */
    public DimOverrides {
      if (hidden < 0 || ffn < 0 || tokensPerRank < 0) {
        throw new IllegalArgumentException(
            "--hidden, --ffn and --tokens-per-rank must be >= 0 (0 keeps the pool's)");
      }
    }
  }

  /** Names of the topics an executor reads and writes; {@link #DEFAULT} the registry's. */
  public record TopicNames(
      String expertLoad, String planPool, String planDecisions, String workerTimes) {
    /** The registry's topic names. */
    public static final TopicNames DEFAULT =
        new TopicNames(
            Topics.EXPERT_LOAD.name(),
            Topics.PLAN_POOL.name(),
            Topics.PLAN_DECISIONS.name(),
            Topics.WORKER_TIMES.name());

    /** The same names with a prefix and a dot before each, as tests create them. */
    public TopicNames prefixed(String prefix) {
      return new TopicNames(
          prefix + "." + expertLoad,
          prefix + "." + planPool,
          prefix + "." + planDecisions,
          prefix + "." + workerTimes);
    }
  }

  /** Defaults for a job and its hosted ranks; change them with the {@code with*} methods. */
  public static ExecutorSettings defaults(String jobId, int ranks) {
    return new ExecutorSettings(
        jobId,
        ranks,
        0,
        ranks,
        BackendKind.CPU,
        null,
        10,
        0,
        0,
        0,
        DecisionWindows.DEFAULT_WINDOW_ITERATIONS,
        DecisionWindows.DEFAULT_LEAD_ITERATIONS,
        Duration.ofSeconds(10),
        Duration.ofSeconds(30),
        DimOverrides.NONE,
        1,
        TopicNames.DEFAULT);
  }

  /** With the hosted ranks placed in a world. */
  public ExecutorSettings withRanks(int newFirstRank, int newWorldSize) {
    return copy(
        c -> {
          c.firstRank = newFirstRank;
          c.worldSize = newWorldSize;
        });
  }

  /** With another backend. */
  public ExecutorSettings withBackend(BackendKind value) {
    return copy(c -> c.backend = value);
  }

  /** Replaying a trace (null: the synthetic stream), each sample for some iterations. */
  public ExecutorSettings withTrace(Path file, int sampleIterations) {
    return copy(
        c -> {
          c.trace = file;
          c.traceSampleIterations = sampleIterations;
        });
  }

  /** Running iterations {@code [start, start + count)} (count 0: until stopped). */
  public ExecutorSettings withIterations(long start, long count) {
    return copy(
        c -> {
          c.startIteration = start;
          c.iterations = count;
        });
  }

  /** With another pacing (0: unpaced). */
  public ExecutorSettings withRate(double value) {
    return copy(c -> c.iterationsPerSecond = value);
  }

  /** With the job's window and lead, and the bound on waiting for a window's decisions. */
  public ExecutorSettings withWindow(int window, int lead, Duration timeout) {
    return copy(
        c -> {
          c.windowIterations = window;
          c.leadIterations = lead;
          c.decisionTimeout = timeout;
        });
  }

  /** With another bound on waiting for the pool. */
  public ExecutorSettings withPoolTimeout(Duration value) {
    return copy(c -> c.poolTimeout = value);
  }

  /** With model dimensions overriding the pool's. */
  public ExecutorSettings withDims(DimOverrides value) {
    return copy(c -> c.dims = value);
  }

  /** With another seed. */
  public ExecutorSettings withSeed(long value) {
    return copy(c -> c.seed = value);
  }

  /** With other topic names. */
  public ExecutorSettings withTopics(TopicNames value) {
    return copy(c -> c.topics = value);
  }

  /** A copy with the changes {@code edit} makes to the mutable view of these settings. */
  private ExecutorSettings copy(Consumer<Copy> edit) {
    Copy c = new Copy(this);
    edit.accept(c);
    return new ExecutorSettings(
        c.jobId,
        c.ranks,
        c.firstRank,
        c.worldSize,
        c.backend,
        c.trace,
        c.traceSampleIterations,
        c.iterations,
        c.startIteration,
        c.iterationsPerSecond,
        c.windowIterations,
        c.leadIterations,
        c.decisionTimeout,
        c.poolTimeout,
        c.dims,
        c.seed,
        c.topics);
  }

  /** The fields of a settings value, for {@link #copy}. */
  private static final class Copy {
    String jobId;
    int ranks;
    int firstRank;
    int worldSize;
    BackendKind backend;
    Path trace;
    int traceSampleIterations;
    long iterations;
    long startIteration;
    double iterationsPerSecond;
    int windowIterations;
    int leadIterations;
    Duration decisionTimeout;
    Duration poolTimeout;
    DimOverrides dims;
    long seed;
    TopicNames topics;

    Copy(ExecutorSettings s) {
      jobId = s.jobId;
      ranks = s.ranks;
      firstRank = s.firstRank;
      worldSize = s.worldSize;
      backend = s.backend;
      trace = s.trace;
      traceSampleIterations = s.traceSampleIterations;
      iterations = s.iterations;
      startIteration = s.startIteration;
      iterationsPerSecond = s.iterationsPerSecond;
      windowIterations = s.windowIterations;
      leadIterations = s.leadIterations;
      decisionTimeout = s.decisionTimeout;
      poolTimeout = s.poolTimeout;
      dims = s.dims;
      seed = s.seed;
      topics = s.topics;
    }
  }
}
