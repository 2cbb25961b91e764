package io.moeplan.flink.job;

import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.schemas.DecisionWindows;
import io.moeplan.schemas.Topics;
import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * Every setting of {@link PlanSelectorJob}: a key, a default and a description. Read once into a
 * {@link PlanSelectorConfig}.
 */
public final class PlanSelectorOptions {

  /** Kafka bootstrap servers. */
  public static final ConfigOption<String> BOOTSTRAP_SERVERS =
      ConfigOptions.key("bootstrap-servers")
          .stringType()
          .defaultValue("localhost:9092")
          .withDescription("Kafka bootstrap servers, host:port[,host:port...].");

  /** Consumer group of the job's Kafka sources. */
  public static final ConfigOption<String> GROUP_ID =
      ConfigOptions.key("group-id")
          .stringType()
          .defaultValue("moeplan-plan-selector")
          .withDescription("Kafka consumer group of the job's sources.");

  /** Topic of the expert loads. */
  public static final ConfigOption<String> EXPERT_LOAD_TOPIC =
      ConfigOptions.key("expert-load-topic")
          .stringType()
          .defaultValue(Topics.EXPERT_LOAD.name())
          .withDescription("Topic the ranks publish ExpertLoad records to.");

  /** Topic of the plan pools. */
  public static final ConfigOption<String> PLAN_POOL_TOPIC =
      ConfigOptions.key("plan-pool-topic")
          .stringType()
          .defaultValue(Topics.PLAN_POOL.name())
          .withDescription("Compacted topic of PlanPool records, one per job.");

  /** Topic the decisions go to. */
  public static final ConfigOption<String> PLAN_DECISIONS_TOPIC =
      ConfigOptions.key("plan-decisions-topic")
          .stringType()
          .defaultValue(Topics.PLAN_DECISIONS.name())
          .withDescription("Compacted topic the PlanDecision records go to.");

  /** Topic the dead letters go to. */
  public static final ConfigOption<String> DEAD_LETTER_TOPIC =
      ConfigOptions.key("dead-letter-topic")
          .stringType()
          .defaultValue(Topics.EXPERT_LOAD_DLQ.name())
          .withDescription("Topic unusable ExpertLoad records go to, with the reason.");

  /** Topic of the executors' measured times. */
  public static final ConfigOption<String> WORKER_TIMES_TOPIC =
      ConfigOptions.key("worker-times-topic")
          .stringType()
          .defaultValue(Topics.WORKER_TIMES.name())
          .withDescription(
              "Topic the executors publish WorkerTimes records to; the job calibrates its"
                  + " performance model from them.");

  /** Topic the calibrated models go to. */
  public static final ConfigOption<String> MODEL_FIT_TOPIC =
      ConfigOptions.key("model-fit-topic")
          .stringType()
          .defaultValue(Topics.MODEL_FIT.name())
          .withDescription(
              "Compacted topic the ModelFit records go to: each job's calibrated constants and"
                  + " the model's measured error.");

  /** Tenant topic prefixes. */
  public static final ConfigOption<String> TOPIC_PREFIX =
      ConfigOptions.key("topic-prefix")
          .stringType()
          .defaultValue("")
          .withDescription(
              "Tenants sharing the job, as topic prefixes, comma separated (e.g. teamA,teamB)."
                  + " For each prefix P the job reads P.<expert-load-topic>, P.<plan-pool-topic>"
                  + " and P.<worker-times-topic>, writes the decisions, model fits and dead letters"
                  + " of P's jobs to P.<plan-decisions-topic>, P.<model-fit-topic> and"
                  + " P.<dead-letter-topic>, and requires every job id read from P's topics to"
                  + " start with 'P.': a load or worker-times record with another tenant's job id"
                  + " is dead-lettered to P's dead-letter topic, such a pool is ignored. Empty (the"
                  + " default): one tenant on the topics as named.");

  /** A Kafka client properties file. */
  public static final ConfigOption<String> KAFKA_CONFIG =
      ConfigOptions.key("kafka-config")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "Kafka client properties file (e.g. the moeplan-job.properties a secured moeplan"
                  + " broker writes: security.protocol, sasl.*, ssl.*) for the job's sources and"
                  + " sinks; --kafka.<setting> arguments override its settings, and"
                  + " --bootstrap-servers its bootstrap.servers.");

  /** Replan interval F. */
  public static final ConfigOption<Integer> WINDOW_ITERATIONS =
      ConfigOptions.key(DecisionWindows.WINDOW_ITERATIONS_FLAG.substring(2))
          .intType()
          .defaultValue(DecisionWindows.DEFAULT_WINDOW_ITERATIONS)
          .withDescription("Iterations per window (the replan interval F): one decision each.");

  /** Lead between the end of a window and the iteration a decision takes effect. */
  public static final ConfigOption<Integer> LEAD_ITERATIONS =
      ConfigOptions.key(DecisionWindows.LEAD_ITERATIONS_FLAG.substring(2))
          .intType()
          .defaultValue(DecisionWindows.DEFAULT_LEAD_ITERATIONS)
          .withDescription(
              "A decision takes effect at the window's last iteration plus this lead, giving"
                  + " the ranks time to receive it.");

  /** How long a window waits for missing ranks. */
  public static final ConfigOption<Duration> WINDOW_TIMEOUT =
      ConfigOptions.key("window-timeout")
          .durationType()
          .defaultValue(Duration.ofSeconds(30))
          .withDescription(
              "A window that has not heard from every rank this long after its first load"
                  + " closes as partial: its decision keeps the placement.");

  /** Loads held per rank while a job has no pool. */
  public static final ConfigOption<Integer> HOLD_MAX =
      ConfigOptions.key("hold-max")
          .intType()
          .defaultValue(1000)
          .withDescription(
              "Loads held per rank while its job has no plan pool; older ones are dead-lettered.");

  /** How long loads wait for their job's pool. */
  public static final ConfigOption<Duration> HOLD_TIMEOUT =
      ConfigOptions.key("hold-timeout")
          .durationType()
          .defaultValue(Duration.ofMinutes(2))
          .withDescription("Held loads whose job gets no plan pool this long are dead-lettered.");

  /** Switch margin of the selector. */
  public static final ConfigOption<Double> MARGIN =
      ConfigOptions.key("margin")
          .doubleType()
          .defaultValue(0.1)
          .withDescription(
              "A switch must save (1 + margin) times its migration cost over the horizon.");

  /** Horizon of the selector's switch rule. */
  public static final ConfigOption<Integer> HORIZON_ITERATIONS =
      ConfigOptions.key("horizon-iterations")
          .intType()
          .defaultValue(0)
          .withDescription(
              "Iterations a new placement is expected to hold, for the switch rule; 0 means the"
                  + " selector's default of "
                  + SelectorOptions.DEFAULT_HORIZON_WINDOWS
                  + " windows.");

  /** How far one rank's iteration may jump ahead before the gate asks its next load to confirm. */
  public static final ConfigOption<Integer> MAX_ITERATION_JUMP =
      ConfigOptions.key("max-iteration-jump")
          .intType()
          .defaultValue(1_000)
          .withDescription(
              "A load whose iteration is more than this ahead of its rank's latest one (or a"
                  + " rank's first load) is held until the rank's next load continues from it;"
                  + " one that the next load does not continue is dead-lettered, so a single"
                  + " absurd iteration cannot block the rank or the job.");

  /** Keep every layer on its start layout. */
  public static final ConfigOption<Boolean> STATIC_PLACEMENT =
      ConfigOptions.key("static")
          .booleanType()
          .defaultValue(false)
          .withDescription(
              "Keep every layer on the pool's start layout: every decision is KEEP. The baseline"
                  + " of an A/B run; the model is still calibrated and its error published.");

  /** Whether the selector scores with the calibrated model. */
  public static final ConfigOption<Boolean> CALIBRATE =
      ConfigOptions.key("calibrate")
          .booleanType()
          .defaultValue(true)
          .withDescription(
              "Score with the model calibrated from the executors' measured times once the fit"
                  + " has enough samples; false keeps the pool's constants (the fit and its error"
                  + " are still published).");

  /** Per-worker compute samples the fit keeps. */
  public static final ConfigOption<Integer> CALIBRATION_SAMPLES =
      ConfigOptions.key("calibration-samples")
          .intType()
          .defaultValue(4096)
          .withDescription(
              "Most recent per-worker compute samples (and migration samples) the fit of a job"
                  + " keeps, so it follows a change of hardware.");

  /** Samples the compute fit needs before it replaces the pool's constants. */
  public static final ConfigOption<Integer> CALIBRATION_MIN_SAMPLES =
      ConfigOptions.key("calibration-min-samples")
          .intType()
          .defaultValue(256)
          .withDescription(
              "Per-worker compute samples the fit must keep, outliers rejected, before its"
                  + " constants replace the pool's.");

  /** Samples the migration fit needs before it replaces the pool's bandwidth. */
  public static final ConfigOption<Integer> CALIBRATION_MIN_MIGRATIONS =
      ConfigOptions.key("calibration-min-migrations")
          .intType()
          .defaultValue(8)
          .withDescription(
              "Per-worker migration samples the fit must keep before the measured throughput"
                  + " prices migrations.");

  /** Windows the model's error covers. */
  public static final ConfigOption<Integer> CALIBRATION_ERROR_WINDOWS =
      ConfigOptions.key("calibration-error-windows")
          .intType()
          .defaultValue(10)
          .withDescription(
              "The model's published error (MAPE, Pearson r, step time) covers this many most"
                  + " recent windows of iterations.");

  /** Checkpoint interval. */
  public static final ConfigOption<Duration> CHECKPOINT_INTERVAL =
      ConfigOptions.key("checkpoint-interval")
          .durationType()
          .defaultValue(Duration.ofSeconds(10))
          .withDescription("Interval of the job's (RocksDB, incremental) checkpoints.");

  /** Checkpoint directory. */
  public static final ConfigOption<String> CHECKPOINT_DIR =
      ConfigOptions.key("checkpoint-dir")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "URI of the checkpoint directory, e.g. file:///var/lib/moeplan/checkpoints;"
                  + " the cluster's setting when not given.");

  /** Longest time a record waits in a network buffer between operators. */
  public static final ConfigOption<Duration> BUFFER_TIMEOUT =
      ConfigOptions.key("buffer-timeout")
          .durationType()
          .defaultValue(Duration.ZERO)
          .withDescription(
              "Longest time a record waits in a network buffer between operators. The default,"
                  + " 0, sends each record on at once: the lowest control-loop latency, and no"
                  + " flusher thread waking up every few milliseconds per operator.");

  /** Parallelism of the job. */
  public static final ConfigOption<Integer> PARALLELISM =
      ConfigOptions.key("parallelism")
          .intType()
          .defaultValue(2)
          .withDescription("Parallelism of every operator.");

  /** Every option, in the order --help lists them. */
  public static final List<ConfigOption<?>> ALL =
      List.of(
          BOOTSTRAP_SERVERS,
          GROUP_ID,
          EXPERT_LOAD_TOPIC,
          PLAN_POOL_TOPIC,
          PLAN_DECISIONS_TOPIC,
          DEAD_LETTER_TOPIC,
          WORKER_TIMES_TOPIC,
          MODEL_FIT_TOPIC,
          TOPIC_PREFIX,
          KAFKA_CONFIG,
          WINDOW_ITERATIONS,
          LEAD_ITERATIONS,
          WINDOW_TIMEOUT,
          HOLD_MAX,
          HOLD_TIMEOUT,
          MAX_ITERATION_JUMP,
          MARGIN,
          HORIZON_ITERATIONS,
          STATIC_PLACEMENT,
          CALIBRATE,
          CALIBRATION_SAMPLES,
          CALIBRATION_MIN_SAMPLES,
          CALIBRATION_MIN_MIGRATIONS,
          CALIBRATION_ERROR_WINDOWS,
          CHECKPOINT_INTERVAL,
          CHECKPOINT_DIR,
          BUFFER_TIMEOUT,
          PARALLELISM);

  private PlanSelectorOptions() {}
}
