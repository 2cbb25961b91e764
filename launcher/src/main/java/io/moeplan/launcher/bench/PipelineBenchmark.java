package io.moeplan.launcher.bench;

import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.flink.job.PlanSelectorJob;
import io.moeplan.launcher.Directories;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.ParallelConfig;
import io.moeplan.poolloader.PoolPublisher;
import io.moeplan.poolloader.PoolRecords;
import io.moeplan.schemas.DecisionWindows;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.Topic;
import io.moeplan.schemas.Topics;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Measures the control loop on the embedded broker and, in the same run, Kafka's own baselines for
 * the same records: (a) sustained ExpertLoad records/s through Kafka, the plan-selector job and
 * back out as decisions, against Kafka's raw produce-and-consume rate; (b) the loop latency from a
 * rank publishing the last record of a window to the window's decision being received, against
 * Kafka's one-hop end-to-end latency at the same record rate.
 */
public final class PipelineBenchmark {

  /**
   * What to measure.
   *
   * @param ranks ranks producing loads
   * @param layers MoE layers per load record
   * @param experts experts per layer
   * @param throughputIterations iterations produced as fast as possible (ranks records each)
   * @param warmupIterations iterations sent through Kafka alone, and through the job, before each
   *     is measured, so that neither is measured while the JIT compiler is still busy with it
   * @param latencyIterationsPerSecond iteration rate of the latency phase
   * @param latencySeconds duration of the latency phase
   * @param latencyWarmupSeconds time at the latency rate before each latency phase is measured
   * @param windowIterations the job's replan interval
   * @param leadIterations the job's lead of a decision's effective iteration
   * @param parallelism the job's parallelism
   * @param jobOptions further job options, {@code --key=value} as the job's command line takes them
   */
  public record Settings(
      int ranks,
      int layers,
      int experts,
      int throughputIterations,
      int warmupIterations,
      double latencyIterationsPerSecond,
      int latencySeconds,
      int latencyWarmupSeconds,
      int windowIterations,
      int leadIterations,
      int parallelism,
      List<String> jobOptions) {

    /** Keeps its own copy of the job options. */
    public Settings {
      jobOptions = List.copyOf(jobOptions);
    }
  }

  /**
   * What was measured; {@code pipelineCpu} is where this JVM's CPU went while the job ran flat out
   * (empty where the JVM does not measure thread CPU time).
   */
  public record Result(
      long records,
      double pipelineRecordsPerSecond,
      double kafkaRecordsPerSecond,
      Percentiles loopLatency,
      Percentiles oneHopLatency,
      double latencyRecordsPerSecond,
      int latencyWarmupSeconds,
      Optional<CpuProfile.Result> pipelineCpu) {}

  private record Rate(double recordsPerSecond, Optional<CpuProfile.Result> cpu) {}

  private static final int CPU_GROUPS = 8;
  private static final AtomicInteger PRODUCERS = new AtomicInteger();
  private static final String TP_JOB = "bench-throughput";
  private static final String WARMUP_JOB = "bench-warmup";
  private static final String LAT_JOB = "bench-latency";

  private final Settings settings;
  private final PrintStream out;

  /** A benchmark with these settings, reporting progress to {@code out}. */
  public PipelineBenchmark(Settings settings, PrintStream out) {
    this.settings = settings;
    this.out = out;
  }

  /** Runs every phase and returns the measurements. */
  public Result run() throws Exception {
    Path work = Files.createTempDirectory("moeplan-bench-");
    try (EmbeddedKafkaBroker broker =
        EmbeddedKafkaBroker.builder().partitions(settings.parallelism()).build().start()) {
      broker.createTopics(
          List.of(
              renamed(Topics.EXPERT_LOAD, "bench.raw"), renamed(Topics.EXPERT_LOAD, "bench.hop")));
      ClusterSpec cluster =
          new ClusterSpec(1, settings.ranks(), 7.15e14, 3e11, 4e10, 30e-6, 80_000_000_000L, 6e-4);
      ModelSpec model =
          new ModelSpec(settings.layers(), settings.experts(), 2, 2560, 10240, 2, 12, 16384);
      ParallelConfig parallel =
          new ParallelConfig(
              1,
              1,
              settings.ranks(),
              settings.ranks(),
              Math.max(1, settings.experts() / settings.ranks()));
      Properties client = broker.clientProperties();
      for (String job : List.of(WARMUP_JOB, TP_JOB, LAT_JOB)) {
        PoolPublisher.publish(
            PoolRecords.staticPool(job, cluster, model, parallel, Instant.now()),
            Topics.PLAN_POOL.name(),
            client);
      }
      List<byte[]> records = encodedLoads(TP_JOB, settings.throughputIterations());
      out.printf(
          "%d records of %d ranks x %d layers x %d experts (%d bytes each)%n",
          records.size(),
          settings.ranks(),
          settings.layers(),
          settings.experts(),
          records.get(0).length);

      List<byte[]> warmup = encodedLoads(WARMUP_JOB, settings.warmupIterations());
      if (!warmup.isEmpty()) {
        out.printf("warm-up: %d records through Kafka alone%n", warmup.size());
        rawKafkaRate(broker, warmup);
      }
      double kafkaRate = rawKafkaRate(broker, records);
      out.printf("kafka raw produce+consume: %.0f records/s%n", kafkaRate);
      double latencyRecordRate = settings.latencyIterationsPerSecond() * settings.ranks();
      Percentiles oneHop = oneHopLatency(broker, latencyRecordRate);
      out.printf(
          "kafka one-hop latency at %.0f records/s: p99 %.2f ms%n",
          latencyRecordRate, oneHop.millis(0.99));

      JobClient job = submit(broker, work);
      try {
        if (!warmup.isEmpty()) {
          out.printf("warm-up: %d records through the job%n", warmup.size());
          pipelineRate(broker, WARMUP_JOB, warmup);
        }
        Rate measured = pipelineRate(broker, TP_JOB, records);
        double pipelineRate = measured.recordsPerSecond();
        out.printf("pipeline: %.0f records/s%n", pipelineRate);
        Percentiles loop = loopLatency(broker);
        out.printf(
            "loop latency at %.0f records/s: p99 %.2f ms%n", latencyRecordRate, loop.millis(0.99));
        return new Result(
            records.size(),
            pipelineRate,
            kafkaRate,
            loop,
            oneHop,
            latencyRecordRate,
            settings.latencyWarmupSeconds(),
            measured.cpu());
      } finally {
        job.cancel().get();
      }
    } finally {
      Directories.deleteRecursively(work);
    }
  }

  /** Prints the comparison table. */
  public static void print(Result result, PrintStream out) {
    out.println();
    out.printf("%-34s %14s %16s %8s%n", "measure", "moeplan", "kafka baseline", "ratio");
    out.printf(
        "%-34s %14.0f %16.0f %7.2fx%n",
        "throughput, records/s",
        result.pipelineRecordsPerSecond(),
        result.kafkaRecordsPerSecond(),
        result.pipelineRecordsPerSecond() / result.kafkaRecordsPerSecond());
    for (double q : new double[] {0.5, 0.99, 0.999}) {
      double loop = result.loopLatency().millis(q);
      double hop = result.oneHopLatency().millis(q);
      out.printf(
          "%-34s %14.2f %16.2f %7.2fx%n",
          String.format("latency p%s, ms", q == 0.5 ? "50" : q == 0.99 ? "99" : "99.9"),
          loop,
          hop,
          loop / hop);
    }
    out.printf(
        "(moeplan latency: last load of a window published -> its decision received, %d"
            + " decisions; kafka: one hop, %d records; both at %.0f records/s, measured after"
            + " %d s at that rate)%n",
        result.loopLatency().count(),
        result.oneHopLatency().count(),
        result.latencyRecordsPerSecond(),
        result.latencyWarmupSeconds());
    result
        .pipelineCpu()
        .ifPresent(
            cpu -> {
              out.printf(
                  "%nCPU of this JVM while the job ran flat out (%.2f cores busy on average):%n",
                  cpu.coresBusy());
              for (CpuProfile.Share share : cpu.shares()) {
                out.printf("  %5.1f%%  %s%n", share.fraction() * 100, share.group());
              }
            });
  }

  private JobClient submit(EmbeddedKafkaBroker broker, Path work) throws Exception {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--bootstrap-servers",
                broker.bootstrapServers(),
                DecisionWindows.WINDOW_ITERATIONS_FLAG,
                Integer.toString(settings.windowIterations()),
                DecisionWindows.LEAD_ITERATIONS_FLAG,
                Integer.toString(settings.leadIterations()),
                "--parallelism",
                Integer.toString(settings.parallelism()),
                "--checkpoint-dir",
                work.resolve("checkpoints").toUri().toString()));
    args.addAll(settings.jobOptions());
    PlanSelectorConfig config = PlanSelectorConfig.fromArgs(args.toArray(String[]::new));
    Configuration flink = PlanSelectorJob.flinkConfiguration(config);
    flink.set(TaskManagerOptions.NUM_TASK_SLOTS, settings.parallelism());
    flink.set(RocksDBOptions.LOCAL_DIRECTORIES, work.resolve("rocksdb").toString());
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(flink);
    PlanSelectorJob.attachKafka(env, config);
    return env.executeAsync(PlanSelectorJob.JOB_NAME);
  }

  /** Kafka alone: the same bytes produced and consumed concurrently, first send to last receipt. */
  private double rawKafkaRate(EmbeddedKafkaBroker broker, List<byte[]> records) throws Exception {
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(broker, "bench.raw")) {
      long start = System.nanoTime();
      Thread producing = new Thread(() -> produceAll(broker, "bench.raw", TP_JOB, records));
      producing.start();
      long received = 0;
      long deadline = start + Duration.ofMinutes(5).toNanos();
      while (received < records.size() && System.nanoTime() < deadline) {
        received += consumer.poll(Duration.ofMillis(100)).count();
      }
      long elapsed = System.nanoTime() - start;
      producing.join();
      return received * 1e9 / elapsed;
    }
  }

  /**
   * The job: all records produced as fast as possible, first send to the last window's decisions.
   */
  private Rate pipelineRate(EmbeddedKafkaBroker broker, String job, List<byte[]> records)
      throws Exception {
    // every window the records complete gets a decision per layer
    long windows =
        DecisionWindows.windowOf(records.size() / settings.ranks(), settings.windowIterations());
    long expected = windows * settings.layers();
    // the producer stays open until the CPU profile is read, so its network thread is in it; the
    // sending thread ends earlier and reports its own CPU time
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(broker, Topics.PLAN_DECISIONS.name());
        KafkaProducer<byte[], byte[]> producer = producer(broker)) {
      Optional<CpuProfile> cpu = CpuProfile.start();
      AtomicLong sendingCpu = new AtomicLong();
      long start = System.nanoTime();
      Thread producing =
          new Thread(
              () -> {
                sendAll(producer, Topics.EXPERT_LOAD.name(), job, records);
                sendingCpu.set(ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime());
              },
              "benchmark load sender");
      producing.start();
      Set<String> ids = new HashSet<>();
      long deadline = start + Duration.ofMinutes(10).toNanos();
      while (ids.size() < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
          PlanDecision decision = Topics.PLAN_DECISIONS.valueCodec().decode(record.value());
          if (decision.getJobId().equals(job)) {
            ids.add(decision.getDecisionId());
          }
        }
      }
      long elapsed = System.nanoTime() - start;
      producing.join();
      Optional<CpuProfile.Result> used =
          cpu.map(
              profile ->
                  profile.stop(CPU_GROUPS, Map.of("benchmark load sender", sendingCpu.get())));
      if (ids.size() < expected) {
        throw new IllegalStateException(
            "only " + ids.size() + " of " + expected + " decisions arrived within 10 minutes");
      }
      return new Rate(records.size() * 1e9 / elapsed, used);
    }
  }

  /**
   * Kafka alone at the latency phase's record rate: send to receipt of each record, after the
   * warm-up time at the same rate.
   */
  private Percentiles oneHopLatency(EmbeddedKafkaBroker broker, double recordsPerSecond)
      throws Exception {
    Percentiles latencies = new Percentiles();
    Percentiles warmup = new Percentiles();
    List<byte[]> records = encodedLoads(LAT_JOB, 1);
    long warm = (long) (recordsPerSecond * settings.latencyWarmupSeconds());
    long total = warm + (long) (recordsPerSecond * settings.latencySeconds());
    long period = (long) (1e9 / recordsPerSecond);
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(broker, "bench.hop");
        KafkaProducer<byte[], byte[]> producer = producer(broker)) {
      long next = System.nanoTime();
      long received = 0;
      for (long i = 0; i < total; i++) {
        byte[] value = records.get((int) (i % records.size()));
        // the key carries the send time, and whether the record is measured
        producer.send(
            new ProducerRecord<>(
                "bench.hop", null, null, stamp(System.nanoTime(), i >= warm), value));
        next += period;
        received += drain(consumer, latencies, warmup, next);
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (received < total && System.nanoTime() < deadline) {
        received += drain(consumer, latencies, warmup, System.nanoTime() + 100_000_000L);
      }
    }
    return latencies;
  }

  private static int drain(
      KafkaConsumer<byte[], byte[]> consumer,
      Percentiles latencies,
      Percentiles warmup,
      long untilNanos) {
    int received = 0;
    do {
      long wait = Math.max(0, untilNanos - System.nanoTime());
      for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofNanos(wait))) {
        ByteBuffer key = ByteBuffer.wrap(record.key());
        long latency = System.nanoTime() - key.getLong();
        (key.get() == 1 ? latencies : warmup).add(latency);
        received++;
      }
    } while (System.nanoTime() < untilNanos);
    return received;
  }

  /**
   * The job at the latency phase's rate: last load of each window to each of its decisions, for the
   * windows after the warm-up time.
   */
  private Percentiles loopLatency(EmbeddedKafkaBroker broker) throws Exception {
    Percentiles latencies = new Percentiles();
    ConcurrentHashMap<Long, Long> windowEnds = new ConcurrentHashMap<>();
    int warmupWindows =
        (int)
            Math.ceil(
                settings.latencyIterationsPerSecond()
                    * settings.latencyWarmupSeconds()
                    / settings.windowIterations());
    int iterations =
        (int) DecisionWindows.firstIteration(warmupWindows, settings.windowIterations())
            + (int) (settings.latencyIterationsPerSecond() * settings.latencySeconds());
    long period = (long) (1e9 / settings.latencyIterationsPerSecond());
    SyntheticCounts counts = new SyntheticCounts(settings, 11);
    Set<String> seen = new HashSet<>();
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(broker, Topics.PLAN_DECISIONS.name());
        KafkaProducer<byte[], byte[]> producer = producer(broker)) {
      long next = System.nanoTime();
      for (int iteration = 0; iteration < iterations; iteration++) {
        for (int rank = 0; rank < settings.ranks(); rank++) {
          producer.send(
              record(
                  Topics.EXPERT_LOAD.name(),
                  LAT_JOB,
                  rank,
                  load(LAT_JOB, rank, iteration, counts)));
        }
        producer.flush();
        long window = DecisionWindows.windowOf(iteration, settings.windowIterations());
        if (DecisionWindows.endsWindow(iteration, settings.windowIterations())
            && window >= warmupWindows) {
          windowEnds.put(window, System.nanoTime());
        }
        next += period;
        do {
          long wait = Math.max(0, next - System.nanoTime());
          collectDecisions(consumer.poll(Duration.ofNanos(wait)), windowEnds, seen, latencies);
        } while (System.nanoTime() < next);
      }
      long expected =
          DecisionWindows.windowOf(iterations, settings.windowIterations()) * settings.layers();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (seen.size() < expected && System.nanoTime() < deadline) {
        collectDecisions(consumer.poll(Duration.ofMillis(100)), windowEnds, seen, latencies);
      }
    }
    return latencies;
  }

  private static void collectDecisions(
      Iterable<ConsumerRecord<byte[], byte[]>> records,
      ConcurrentHashMap<Long, Long> windowEnds,
      Set<String> seen,
      Percentiles latencies) {
    long now = System.nanoTime();
    for (ConsumerRecord<byte[], byte[]> record : records) {
      PlanDecision decision = Topics.PLAN_DECISIONS.valueCodec().decode(record.value());
      Long end = windowEnds.get(decision.getWindow());
      if (decision.getJobId().equals(LAT_JOB)
          && seen.add(decision.getDecisionId())
          && end != null) {
        latencies.add(now - end);
      }
    }
  }

  private List<byte[]> encodedLoads(String job, int iterations) {
    SyntheticCounts counts = new SyntheticCounts(settings, 7);
    List<byte[]> records = new ArrayList<>(iterations * settings.ranks());
    for (int iteration = 0; iteration < iterations; iteration++) {
      for (int rank = 0; rank < settings.ranks(); rank++) {
        records.add(Topics.EXPERT_LOAD.valueCodec().encode(load(job, rank, iteration, counts)));
      }
    }
    return records;
  }

  private ExpertLoad load(String job, int rank, long iteration, SyntheticCounts counts) {
    List<LayerLoad> layers = new ArrayList<>(settings.layers());
    for (int layer = 0; layer < settings.layers(); layer++) {
      layers.add(new LayerLoad(layer, counts.row(rank, layer, iteration)));
    }
    return ExpertLoad.newBuilder()
        .setJobId(job)
        .setRank(rank)
        .setWorldSize(settings.ranks())
        .setIteration(iteration)
        .setPlanVersion(0)
        .setLayers(layers)
        .setProducedAt(Instant.now())
        .build();
  }

  private void produceAll(
      EmbeddedKafkaBroker broker, String topic, String job, List<byte[]> records) {
    try (KafkaProducer<byte[], byte[]> producer = producer(broker)) {
      sendAll(producer, topic, job, records);
    }
  }

  private void sendAll(
      KafkaProducer<byte[], byte[]> producer, String topic, String job, List<byte[]> records) {
    for (int i = 0; i < records.size(); i++) {
      int rank = i % settings.ranks();
      producer.send(
          new ProducerRecord<>(
              topic,
              Topics.EXPERT_LOAD.keyCodec().encode(Topics.expertLoadKey(job, rank)),
              records.get(i)));
    }
    producer.flush();
  }

  private static ProducerRecord<byte[], byte[]> record(
      String topic, String job, int rank, ExpertLoad load) {
    return new ProducerRecord<>(
        topic,
        Topics.EXPERT_LOAD.keyCodec().encode(Topics.expertLoadKey(job, rank)),
        Topics.EXPERT_LOAD.valueCodec().encode(load));
  }

  private static byte[] stamp(long nanos, boolean measured) {
    return ByteBuffer.allocate(Long.BYTES + 1)
        .putLong(nanos)
        .put((byte) (measured ? 1 : 0))
        .array();
  }

  private static KafkaProducer<byte[], byte[]> producer(EmbeddedKafkaBroker broker) {
    Properties properties = broker.clientProperties();
    // named apart from the job's producers, so the CPU profile tells them apart
    properties.put(
        ProducerConfig.CLIENT_ID_CONFIG, "benchmark-producer-" + PRODUCERS.incrementAndGet());
    properties.put(ProducerConfig.ACKS_CONFIG, "all");
    properties.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    return new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
  }

  private static KafkaConsumer<byte[], byte[]> consumer(EmbeddedKafkaBroker broker, String topic) {
    Properties properties = broker.clientProperties();
    properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
    properties.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "5");
    KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    List<TopicPartition> partitions = new ArrayList<>();
    consumer
        .partitionsFor(topic)
        .forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
    consumer.assign(partitions);
    consumer.seekToEnd(partitions);
    partitions.forEach(consumer::position);
    return consumer;
  }

  private static <K, V> Topic<K, V> renamed(Topic<K, V> topic, String name) {
    return new Topic<>(name, topic.keyCodec(), topic.valueCodec(), topic.compacted());
  }

  /**
   * Seeded skewed counts: each rank prefers a few experts of its own; the popularity drifts with
   * the iteration. Cheap to compute, so the producer is never the bottleneck.
   */
  static final class SyntheticCounts {
    private final Settings settings;
    private final int[][] favourite;

    SyntheticCounts(Settings settings, long seed) {
      this.settings = settings;
      Random random = new Random(seed);
      favourite = new int[settings.ranks()][4];
      for (int[] row : favourite) {
        for (int i = 0; i < row.length; i++) {
          row[i] = random.nextInt(settings.experts());
        }
      }
    }

    List<Long> row(int rank, int layer, long iteration) {
      Long[] row = new Long[settings.experts()];
      Arrays.fill(row, 256L);
      for (int i = 0; i < favourite[rank].length; i++) {
        int expert = (int) ((favourite[rank][i] + layer + iteration / 50) % settings.experts());
        row[expert] += 2048L * (i + 1);
      }
      return Arrays.asList(row);
    }
  }
}
