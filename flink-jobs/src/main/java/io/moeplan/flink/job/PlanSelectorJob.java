package io.moeplan.flink.job;

import io.moeplan.flink.calibration.ModelCalibrator;
import io.moeplan.flink.calibration.WorkerTimesDecoder;
import io.moeplan.flink.input.DeadLetters;
import io.moeplan.flink.input.ExpertLoadDecoder;
import io.moeplan.flink.input.PoolDecoder;
import io.moeplan.flink.input.RankGate;
import io.moeplan.flink.input.RankLoad;
import io.moeplan.flink.input.RawRecord;
import io.moeplan.flink.input.RawRecordDeserializer;
import io.moeplan.flink.input.TenantGuard;
import io.moeplan.flink.layer.LayerSample;
import io.moeplan.flink.layer.LayerWindowSelector;
import io.moeplan.flink.layer.RankWindowAggregator;
import io.moeplan.flink.state.WriteBehindOperators;
import io.moeplan.schemas.DeadLetter;
import io.moeplan.schemas.ModelFit;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.PlanPool;
import io.moeplan.schemas.Tenants;
import io.moeplan.schemas.Topic;
import io.moeplan.schemas.Topics;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Either;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The plan-selector job: expert loads, plan pools and measured worker times in, a decision per
 * window and (job, layer) and a calibrated model per job out, unusable records to the dead-letter
 * topic.
 *
 * <pre>
 * loads -> keyBy(job/rank) + pools: decode, validate, gate -> sum each rank's window, per layer
 *       -> keyBy(job/layer) + pools + fits: window statistics + selector -> decisions
 * worker times -> keyBy(job) + pools: decode, validate, calibrate -> fits (to the selector too)
 * </pre>
 */
public final class PlanSelectorJob {

  private static final Logger LOG = LoggerFactory.getLogger(PlanSelectorJob.class);

  /** Name of the job in the Flink dashboard. */
  public static final String JOB_NAME = "moeplan plan selector";

  private PlanSelectorJob() {}

  /** The outputs of the topology. */
  public record Outputs(
      DataStream<PlanDecision> decisions,
      DataStream<DeadLetter> deadLetters,
      DataStream<ModelFit> modelFits) {}

  /**
   * Builds the topology on given input streams (raw Kafka records of both topics), so tests can run
   * exactly what production runs with their own sources and sinks.
   */
  public static Outputs build(
      DataStream<RawRecord> loads,
      DataStream<RawRecord> pools,
      DataStream<RawRecord> workerTimes,
      PlanSelectorConfig config) {
    DataStream<DeadLetter> foreignJobs = null;
    if (config.tenanted()) {
      // tenant A's topics carry only A's jobs: anything else is refused before it is used
      SingleOutputStreamOperator<RawRecord> guardedLoads =
          guard(loads, TenantGuard.Input.LOADS, config, config.expertLoadTopic(), "loads");
      SingleOutputStreamOperator<RawRecord> guardedTimes =
          guard(
              workerTimes,
              TenantGuard.Input.WORKER_TIMES,
              config,
              config.workerTimesTopic(),
              "worker-times");
      pools = guard(pools, TenantGuard.Input.POOLS, config, config.planPoolTopic(), "pools");
      foreignJobs =
          guardedLoads
              .getSideOutput(DeadLetters.TAG)
              .union(guardedTimes.getSideOutput(DeadLetters.TAG));
      loads = guardedLoads;
      workerTimes = guardedTimes;
    }
    // every subtask of the gate, the calibrator and the selector sees every pool (broadcast state)
    SingleOutputStreamOperator<PlanPool> decodedPools =
        pools.process(new PoolDecoder()).uid("decode-plan-pool").name("Decode plan pools");
    DataStream<PlanPool> poolBroadcast = decodedPools.broadcast();
    SingleOutputStreamOperator<ModelFit> fits =
        workerTimes
            .keyBy(WorkerTimesDecoder::jobKeyOf)
            .connect(poolBroadcast)
            .transform(
                "Calibrate the model from measured times",
                TypeInformation.of(ModelFit.class),
                WriteBehindOperators.keyedBroadcast(
                    new ModelCalibrator(config.calibration(), config.windowIterations()),
                    List.of(PoolState.DESCRIPTOR)))
            .uid("model-calibrator");
    // the selector's broadcast: pools and calibrated models
    EitherTypeInfo<PlanPool, ModelFit> planningType =
        new EitherTypeInfo<>(
            TypeInformation.of(PlanPool.class), TypeInformation.of(ModelFit.class));
    DataStream<Either<PlanPool, ModelFit>> planningBroadcast =
        decodedPools
            .map(pool -> Either.<PlanPool, ModelFit>Left(pool))
            .returns(planningType)
            .uid("pools-for-selector")
            .name("Pools for the selector")
            .union(
                fits.map(fit -> Either.<PlanPool, ModelFit>Right(fit))
                    .returns(planningType)
                    .uid("fits-for-selector")
                    .name("Fits for the selector"))
            .broadcast();
    // the keyed operators keep the state each record changes in heap between checkpoints and write
    // it to RocksDB before each checkpoint (WriteBehindOperators)
    SingleOutputStreamOperator<RankLoad> admitted =
        loads
            .keyBy(ExpertLoadDecoder::rankKeyOf)
            .connect(poolBroadcast)
            .transform(
                "Decode, check against pool and drop redeliveries",
                TypeInformation.of(RankLoad.class),
                WriteBehindOperators.keyedBroadcast(
                    new RankGate(
                        config.holdMax(),
                        config.holdTimeout().toMillis(),
                        Math.max(1, Math.min(1_000, config.holdTimeout().toMillis())),
                        config.maxIterationJump(),
                        config.windowTimeout().toMillis()),
                    List.of(PoolState.DESCRIPTOR)))
            .uid("rank-gate");
    SingleOutputStreamOperator<PlanDecision> decisions =
        DataStreamUtils.reinterpretAsKeyedStream(admitted, PlanSelectorJob::rankKey)
            .transform(
                "Sum each rank's window",
                TypeInformation.of(LayerSample.class),
                WriteBehindOperators.keyed(
                    new RankWindowAggregator(
                        config.windowIterations(), config.windowTimeout().toMillis())))
            .uid("rank-window-sums")
            .keyBy(LayerSample::key)
            .connect(planningBroadcast)
            .transform(
                "Window statistics and selector",
                TypeInformation.of(PlanDecision.class),
                WriteBehindOperators.keyedBroadcast(
                    new LayerWindowSelector(
                        config.windowIterations(),
                        config.leadIterations(),
                        config.windowTimeout().toMillis(),
                        config.maxIterationJump(),
                        config.selectorOptions(),
                        config.staticPlacement()),
                    List.of(PoolState.DESCRIPTOR, PoolState.FITS)))
            .uid("layer-window-selector");
    DataStream<DeadLetter> deadLetters =
        admitted.getSideOutput(DeadLetters.TAG).union(fits.getSideOutput(DeadLetters.TAG));
    return new Outputs(
        decisions, foreignJobs == null ? deadLetters : deadLetters.union(foreignJobs), fits);
  }

  private static SingleOutputStreamOperator<RawRecord> guard(
      DataStream<RawRecord> input,
      TenantGuard.Input kind,
      PlanSelectorConfig config,
      String topic,
      String name) {
    Map<String, String> tenantOfTopic = new HashMap<>();
    for (String prefix : config.topicPrefixes()) {
      tenantOfTopic.put(Topics.prefixed(prefix, topic), prefix);
    }
    return input
        .process(new TenantGuard(kind, tenantOfTopic))
        .uid("tenant-guard-" + name)
        .name("Refuse other tenants' jobs (" + name + ")");
  }

  /**
   * The key of a rank's loads; the gate and the window sums share it, so no shuffle between. Equal
   * to the key the gate's input is routed by, {@link ExpertLoadDecoder#rankKeyOf}, for every load
   * the gate admits, as it checks the record's Kafka key against the load.
   */
  static String rankKey(RankLoad load) {
    return Topics.expertLoadKey(load.jobId, load.rank);
  }

  /** Wires the Kafka sources and sinks of {@code config} around {@link #build}. */
  public static void attachKafka(StreamExecutionEnvironment env, PlanSelectorConfig config) {
    DataStream<RawRecord> loads =
        env.fromSource(
                source(config, config.expertLoadTopic(), config.groupId()),
                WatermarkStrategy.noWatermarks(),
                "Kafka: " + String.join(",", config.topicsOf(config.expertLoadTopic())))
            .uid("source-expert-load");
    DataStream<RawRecord> pools =
        env.fromSource(
                source(config, config.planPoolTopic(), config.groupId() + "-pools"),
                WatermarkStrategy.noWatermarks(),
                "Kafka: " + String.join(",", config.topicsOf(config.planPoolTopic())))
            .uid("source-plan-pool");
    DataStream<RawRecord> workerTimes =
        env.fromSource(
                source(config, config.workerTimesTopic(), config.groupId() + "-worker-times"),
                WatermarkStrategy.noWatermarks(),
                "Kafka: " + String.join(",", config.topicsOf(config.workerTimesTopic())))
            .uid("source-worker-times");
    Outputs outputs = build(loads, pools, workerTimes, config);
    RegistrySerializer.TopicOf<PlanDecision> decisionTopic =
        byJob(config, config.planDecisionsTopic(), PlanDecision::getJobId);
    routed(outputs.decisions(), decisionTopic, config, "decisions")
        .sinkTo(
            sink(
                config,
                Topics.PLAN_DECISIONS,
                decision -> Topics.planDecisionKey(decision.getJobId(), decision.getLayer()),
                decisionTopic))
        .uid("sink-plan-decisions")
        .name("Kafka: " + String.join(",", config.topicsOf(config.planDecisionsTopic())));
    RegistrySerializer.TopicOf<DeadLetter> deadLetterTopic = bySourceTopic(config);
    routed(outputs.deadLetters(), deadLetterTopic, config, "dead-letters")
        .sinkTo(
            sink(
                config,
                Topics.EXPERT_LOAD_DLQ,
                letter ->
                    Topics.deadLetterKey(
                        letter.getSourceTopic(), letter.getPartition(), letter.getOffset()),
                deadLetterTopic))
        .uid("sink-dead-letters")
        .name("Kafka: " + String.join(",", config.topicsOf(config.deadLetterTopic())));
    RegistrySerializer.TopicOf<ModelFit> fitTopic =
        byJob(config, config.modelFitTopic(), ModelFit::getJobId);
    routed(outputs.modelFits(), fitTopic, config, "model-fits")
        .sinkTo(sink(config, Topics.MODEL_FIT, fit -> Topics.modelFitKey(fit.getJobId()), fitTopic))
        .uid("sink-model-fits")
        .name("Kafka: " + String.join(",", config.topicsOf(config.modelFitTopic())));
  }

  /**
   * The Flink settings the job needs: RocksDB state with incremental checkpoints at the configured
   * interval (and directory, when given), and the job's parallelism.
   */
  public static Configuration flinkConfiguration(PlanSelectorConfig config) {
    Configuration flink = new Configuration();
    flink.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
    flink.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
    flink.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, config.checkpointInterval());
    config
        .checkpointDir()
        .ifPresent(
            dir -> {
              flink.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
              flink.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, dir);
            });
    flink.set(ExecutionOptions.BUFFER_TIMEOUT, config.bufferTimeout());
    flink.set(CoreOptions.DEFAULT_PARALLELISM, config.parallelism());
    // operators never keep or mutate their input objects, so chained ones may share them
    flink.set(PipelineOptions.OBJECT_REUSE, true);
    flink.set(PipelineOptions.NAME, JOB_NAME);
    return flink;
  }

  /** Runs the job against Kafka; {@code --help} lists the options. */
  public static void main(String[] args) throws Exception {
    if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
      System.out.print(PlanSelectorConfig.usage());
      return;
    }
    PlanSelectorConfig config = PlanSelectorConfig.fromArgs(args);
    LOG.info("Starting {} with {}", JOB_NAME, config);
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.getExecutionEnvironment(flinkConfiguration(config));
    attachKafka(env, config);
    env.execute(JOB_NAME);
  }

  /**
   * With tenants, only the records with a tenant topic go on to the sink ({@link TenantRouter}).
   */
  private static <V> DataStream<V> routed(
      DataStream<V> records,
      RegistrySerializer.TopicOf<V> topicOf,
      PlanSelectorConfig config,
      String what) {
    if (!config.tenanted()) {
      return records;
    }
    return records
        .process(new TenantRouter<>(topicOf, what))
        .returns(records.getType())
        .uid("tenant-route-" + what)
        .name("Route to tenants (" + what + ")");
  }

  /**
   * Where an output record goes: the topic as named, or with tenants the topic of the listed tenant
   * its job id names; null for a job of no listed tenant, which {@link #routed} keeps from the sink
   * (the tenant guards admit only the listed tenants' jobs).
   */
  static <V> RegistrySerializer.TopicOf<V> byJob(
      PlanSelectorConfig config, String topic, RegistrySerializer.KeyOf<V> jobIdOf) {
    if (!config.tenanted()) {
      return value -> topic;
    }
    Set<String> tenants = new HashSet<>(config.topicPrefixes());
    return value -> {
      String prefix = Tenants.prefixOf(jobIdOf.apply(value));
      return prefix != null && tenants.contains(prefix) ? Topics.prefixed(prefix, topic) : null;
    };
  }

  /** Dead letters go to the dead-letter topic of the tenant whose topic the record came from. */
  static RegistrySerializer.TopicOf<DeadLetter> bySourceTopic(PlanSelectorConfig config) {
    String topic = config.deadLetterTopic();
    if (!config.tenanted()) {
      return letter -> topic;
    }
    HashMap<String, String> deadLetterTopicOf = new HashMap<>();
    for (String prefix : config.topicPrefixes()) {
      String target = Topics.prefixed(prefix, topic);
      for (String input :
          List.of(config.expertLoadTopic(), config.planPoolTopic(), config.workerTimesTopic())) {
        deadLetterTopicOf.put(Topics.prefixed(prefix, input), target);
      }
    }
    // null for a topic of no listed tenant, which routed() keeps from the sink
    return letter -> deadLetterTopicOf.get(letter.getSourceTopic());
  }

  private static KafkaSource<RawRecord> source(
      PlanSelectorConfig config, String topic, String groupId) {
    return KafkaSource.<RawRecord>builder()
        .setBootstrapServers(config.bootstrapServers())
        .setTopics(config.topicsOf(topic))
        .setGroupId(groupId)
        .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
        .setDeserializer(new RawRecordDeserializer())
        .setProperties(kafkaProperties(config))
        .build();
  }

  private static <V> KafkaSink<V> sink(
      PlanSelectorConfig config,
      Topic<String, V> topic,
      RegistrySerializer.KeyOf<V> key,
      RegistrySerializer.TopicOf<V> target) {
    return KafkaSink.<V>builder()
        .setBootstrapServers(config.bootstrapServers())
        .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .setRecordSerializer(new RegistrySerializer<>(topic, target, key))
        .setKafkaProducerConfig(producerProperties(config))
        .build();
  }

  /**
   * A window's decisions (one per layer) are made within a millisecond or two of each other: the
   * producer waits up to 2 ms to send them together, so a consumer gets them in one fetch rather
   * than in several round trips; {@code --kafka.linger.ms} overrides it.
   */
  private static Properties producerProperties(PlanSelectorConfig config) {
    Properties properties = new Properties();
    properties.put("linger.ms", "2");
    properties.putAll(config.kafkaProperties());
    return properties;
  }

  private static Properties kafkaProperties(PlanSelectorConfig config) {
    Properties properties = new Properties();
    properties.putAll(config.kafkaProperties());
    return properties;
  }
}
