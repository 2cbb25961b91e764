package io.moeplan.flink.job;

import static io.moeplan.flink.job.PlanSelectorOptions.*;

import io.moeplan.planner.selector.SelectorOptions;
import io.moeplan.schemas.Tenants;
import io.moeplan.schemas.Topics;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.description.HtmlFormatter;

/**
 * The settings of one {@link PlanSelectorJob}, parsed and checked once.
 *
 * @param bootstrapServers Kafka bootstrap servers
 * @param groupId consumer group
 * @param expertLoadTopic input topic of loads
 * @param planPoolTopic input topic of pools
 * @param planDecisionsTopic output topic of decisions
 * @param deadLetterTopic output topic of dead letters
 * @param workerTimesTopic input topic of measured worker times
 * @param modelFitTopic output topic of calibrated models
 * @param topicPrefixes the tenants sharing the job, as topic prefixes; empty: the topics as named
 * @param windowIterations replan interval F
 * @param leadIterations effective iteration = last iteration of the window + lead
 * @param windowTimeout how long a window waits for missing ranks
 * @param holdMax loads held per rank before the pool arrives
 * @param holdTimeout how long loads wait for their pool
 * @param maxIterationJump how far a rank's iteration may jump before its next load must confirm it
 * @param margin switch margin
 * @param horizonIterations horizon of the switch rule (0 = the selector's default)
 * @param staticPlacement every decision keeps the start layout
 * @param calibration how the job calibrates its model from measured times
 * @param checkpointInterval checkpoint interval
 * @param checkpointDir checkpoint directory URI, if set
 * @param bufferTimeout longest wait of a record in a network buffer
 * @param parallelism operator parallelism
 * @param kafkaProperties further Kafka client settings for sources and sinks (security, ...)
 */
public record PlanSelectorConfig(
    String bootstrapServers,
    String groupId,
    String expertLoadTopic,
    String planPoolTopic,
    String planDecisionsTopic,
    String deadLetterTopic,
    String workerTimesTopic,
    String modelFitTopic,
    List<String> topicPrefixes,
    int windowIterations,
    int leadIterations,
    Duration windowTimeout,
    int holdMax,
    Duration holdTimeout,
    int maxIterationJump,
    double margin,
    int horizonIterations,
    boolean staticPlacement,
    Calibration calibration,
    Duration checkpointInterval,
    Optional<String> checkpointDir,
    Duration bufferTimeout,
    int parallelism,
    Map<String, String> kafkaProperties) {

  /**
   * Prefix of arguments that pass a Kafka client setting through, e.g. {@code
   * --kafka.security.protocol SSL}.
   */
  public static final String KAFKA_PREFIX = "kafka.";

  /**
   * How the job calibrates its performance model.
   *
   * @param enabled whether the selector scores with the calibrated model once it is ready
   * @param samples most recent samples the fit keeps
   * @param minSamples compute samples kept before the fit replaces the pool's constants
   * @param minMigrations migration samples kept before the measured throughput prices migrations
   * @param errorWindows windows the published error covers
   */
  public record Calibration(
      boolean enabled, int samples, int minSamples, int minMigrations, int errorWindows)
      implements Serializable {
    /** Checks the values, naming the option of a bad one. */
    public Calibration {
      require(samples >= 16, CALIBRATION_SAMPLES, samples, ">= 16");
      require(
          minSamples >= 3 && minSamples <= samples,
          CALIBRATION_MIN_SAMPLES,
          minSamples,
          ">= 3 and <= --" + CALIBRATION_SAMPLES.key());
      require(
          minMigrations >= 1 && minMigrations <= samples,
          CALIBRATION_MIN_MIGRATIONS,
          minMigrations,
          ">= 1 and <= --" + CALIBRATION_SAMPLES.key());
      require(errorWindows >= 1, CALIBRATION_ERROR_WINDOWS, errorWindows, ">= 1");
    }
  }

  /** Checks the values, naming the option of a bad one. */
  public PlanSelectorConfig {
    require(windowIterations >= 1, WINDOW_ITERATIONS, windowIterations, ">= 1");
    require(leadIterations >= 0, LEAD_ITERATIONS, leadIterations, ">= 0");
    require(
        !windowTimeout.isNegative() && !windowTimeout.isZero(),
        WINDOW_TIMEOUT,
        windowTimeout,
        "> 0");
    require(holdMax >= 0, HOLD_MAX, holdMax, ">= 0");
    require(!holdTimeout.isNegative(), HOLD_TIMEOUT, holdTimeout, ">= 0");
    require(maxIterationJump >= 1, MAX_ITERATION_JUMP, maxIterationJump, ">= 1");
    require(margin >= 0 && Double.isFinite(margin), MARGIN, margin, "a finite number >= 0");
    require(horizonIterations >= 0, HORIZON_ITERATIONS, horizonIterations, ">= 0");
    require(
        !checkpointInterval.isNegative() && !checkpointInterval.isZero(),
        CHECKPOINT_INTERVAL,
        checkpointInterval,
        "> 0");
    require(!bufferTimeout.isNegative(), BUFFER_TIMEOUT, bufferTimeout, ">= 0");
    require(parallelism >= 1, PARALLELISM, parallelism, ">= 1");
    require(!bootstrapServers.isBlank(), BOOTSTRAP_SERVERS, bootstrapServers, "non-blank");
    for (String prefix : topicPrefixes) {
      String problem = Tenants.problem(prefix);
      if (problem != null) {
        throw new IllegalArgumentException("option --" + TOPIC_PREFIX.key() + ": " + problem);
      }
    }
    if (new HashSet<>(topicPrefixes).size() != topicPrefixes.size()) {
      throw new IllegalArgumentException(
          "option --" + TOPIC_PREFIX.key() + " repeats a prefix: " + topicPrefixes);
    }
    topicPrefixes = List.copyOf(topicPrefixes);
    kafkaProperties = Map.copyOf(new TreeMap<>(kafkaProperties));
  }

  /** Whether tenants share the job ({@code --topic-prefix} given). */
  public boolean tenanted() {
    return !topicPrefixes.isEmpty();
  }

  /**
   * The names of one kind of topic the job uses: {@code P.name} for every tenant prefix P, or
   * {@code name} alone without tenants.
   */
  public List<String> topicsOf(String name) {
    return tenanted()
        ? topicPrefixes.stream().map(prefix -> Topics.prefixed(prefix, name)).toList()
        : List.of(name);
  }

  /**
   * The settings with the values of Kafka client settings that carry secrets (passwords, JAAS
   * configurations, keys) hidden, so the config can be logged.
   */
  @Override
  public String toString() {
    StringBuilder text = new StringBuilder("PlanSelectorConfig[");
    RecordComponent[] components = PlanSelectorConfig.class.getRecordComponents();
    for (int i = 0; i < components.length; i++) {
      String name = components[i].getName();
      Object value;
      try {
        value = components[i].getAccessor().invoke(this);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(e);
      }
      if (name.equals("kafkaProperties")) {
        Map<String, String> shown = new TreeMap<>();
        kafkaProperties.forEach(
            (key, setting) -> shown.put(key, isSecret(key) ? "[hidden]" : setting));
        value = shown;
      }
      text.append(i == 0 ? "" : ", ").append(name).append('=').append(value);
    }
    return text.append(']').toString();
  }

  /** Whether a Kafka client setting's value is a secret. */
  static boolean isSecret(String key) {
    String lower = key.toLowerCase(Locale.ROOT);
    return lower.contains("password")
        || lower.contains("jaas")
        || lower.contains("secret")
        || lower.endsWith(".key")
        || lower.contains("credentials");
  }

  /** The defaults of every option. */
  public static PlanSelectorConfig defaults() {
    return from(new Configuration());
  }

  /** Reads the settings from a Flink configuration (keys as in {@link PlanSelectorOptions}). */
  public static PlanSelectorConfig from(Configuration configuration) {
    Map<String, String> kafka = new TreeMap<>();
    String bootstrapServers = configuration.get(BOOTSTRAP_SERVERS);
    Optional<String> kafkaConfig = configuration.getOptional(KAFKA_CONFIG);
    if (kafkaConfig.isPresent()) {
      Properties file = new Properties();
      try (InputStream in = Files.newInputStream(Path.of(kafkaConfig.get()))) {
        file.load(in);
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "option --" + KAFKA_CONFIG.key() + ": cannot read " + kafkaConfig.get() + ": " + e, e);
      }
      file.stringPropertyNames().forEach(key -> kafka.put(key, file.getProperty(key)));
      String inFile = kafka.remove("bootstrap.servers");
      if (inFile != null && configuration.getOptional(BOOTSTRAP_SERVERS).isEmpty()) {
        bootstrapServers = inFile.trim();
      }
    }
    configuration
        .toMap()
        .forEach(
            (key, value) -> {
              if (key.startsWith(KAFKA_PREFIX)) {
                kafka.put(key.substring(KAFKA_PREFIX.length()), value);
              }
            });
    try {
      return new PlanSelectorConfig(
          bootstrapServers,
          configuration.get(GROUP_ID),
          configuration.get(EXPERT_LOAD_TOPIC),
          configuration.get(PLAN_POOL_TOPIC),
          configuration.get(PLAN_DECISIONS_TOPIC),
          configuration.get(DEAD_LETTER_TOPIC),
          configuration.get(WORKER_TIMES_TOPIC),
          configuration.get(MODEL_FIT_TOPIC),
          topicPrefixes(configuration),
          configuration.get(WINDOW_ITERATIONS),
          configuration.get(LEAD_ITERATIONS),
          configuration.get(WINDOW_TIMEOUT),
          configuration.get(HOLD_MAX),
          configuration.get(HOLD_TIMEOUT),
          configuration.get(MAX_ITERATION_JUMP),
          configuration.get(MARGIN),
          configuration.get(HORIZON_ITERATIONS),
          configuration.get(STATIC_PLACEMENT),
          new Calibration(
              configuration.get(CALIBRATE),
              configuration.get(CALIBRATION_SAMPLES),
              configuration.get(CALIBRATION_MIN_SAMPLES),
              configuration.get(CALIBRATION_MIN_MIGRATIONS),
              configuration.get(CALIBRATION_ERROR_WINDOWS)),
          configuration.get(CHECKPOINT_INTERVAL),
          configuration.getOptional(CHECKPOINT_DIR),
          configuration.get(BUFFER_TIMEOUT),
          configuration.get(PARALLELISM),
          kafka);
    } catch (IllegalArgumentException e) {
      // Flink names neither key nor value when a string does not convert; find the culprit
      for (ConfigOption<?> option : ALL) {
        try {
          configuration.getOptional(option);
        } catch (IllegalArgumentException conversion) {
          throw new IllegalArgumentException(
              "option --"
                  + option.key()
                  + ": cannot read '"
                  + configuration.toMap().get(option.key())
                  + "': "
                  + conversion.getMessage(),
              conversion);
        }
      }
      throw e;
    }
  }

  private static List<String> topicPrefixes(Configuration configuration) {
    try {
      return Tenants.parse(configuration.get(TOPIC_PREFIX));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("option --" + TOPIC_PREFIX.key() + ": " + e.getMessage());
    }
  }

  /**
   * Parses {@code --key value} or {@code --key=value} arguments.
   *
   * @throws IllegalArgumentException naming an unknown option or a bad value
   */
  public static PlanSelectorConfig fromArgs(String... args) {
    Configuration configuration = new Configuration();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("--") || arg.length() == 2) {
        throw new IllegalArgumentException("expected --option value, got '" + arg + "'");
      }
      String key = arg.substring(2);
      String value;
      int equals = key.indexOf('=');
      if (equals >= 0) {
        value = key.substring(equals + 1);
        key = key.substring(0, equals);
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        throw new IllegalArgumentException("option --" + key + " needs a value");
      }
      String known = key;
      boolean passThrough = key.startsWith(KAFKA_PREFIX) && key.length() > KAFKA_PREFIX.length();
      if (!passThrough && ALL.stream().noneMatch(option -> option.key().equals(known))) {
        throw new IllegalArgumentException(
            "unknown option --" + key + "; run with --help for the options");
      }
      configuration.setString(key, value);
    }
    return from(configuration);
  }

  /** The usage text: every option with its default and description. */
  public static String usage() {
    StringBuilder text =
        new StringBuilder("Usage: PlanSelectorJob [--option value]...\n\nOptions:\n");
    for (ConfigOption<?> option : ALL) {
      text.append("  --").append(option.key());
      if (option.hasDefaultValue()) {
        text.append(" (default: ").append(option.defaultValue()).append(')');
      }
      text.append("\n      ")
          .append(new HtmlFormatter().format(option.description()).trim())
          .append('\n');
    }
    text.append("  --kafka.<setting> <value>\n")
        .append("      Any Kafka client setting for the job's sources and sinks, e.g.")
        .append(" --kafka.security.protocol SASL_SSL.\n");
    return text.toString();
  }

  /**
   * The selector's options: its defaults for the window length ({@link
   * SelectorOptions#DEFAULT_HORIZON_WINDOWS} windows of horizon), with this config's margin and,
   * when set, horizon.
   */
  public SelectorOptions selectorOptions() {
    SelectorOptions options = SelectorOptions.defaults(windowIterations).withMargin(margin);
    return horizonIterations == 0 ? options : options.withHorizon(horizonIterations);
  }

  private static void require(boolean ok, ConfigOption<?> option, Object value, String rule) {
    if (!ok) {
      throw new IllegalArgumentException(
          "option --" + option.key() + " must be " + rule + ", got " + value);
    }
  }
}
