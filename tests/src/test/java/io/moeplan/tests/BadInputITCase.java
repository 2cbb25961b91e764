package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moeplan.flink.job.JobMetrics;
import io.moeplan.flink.job.PlanSelectorConfig;
import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;
import io.moeplan.planner.spec.Limits;
import io.moeplan.schemas.DeadLetter;
import io.moeplan.schemas.DeadLetterReason;
import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.LayerLoad;
import io.moeplan.schemas.PlanDecision;
import io.moeplan.schemas.SampleRecords;
import io.moeplan.schemas.Topics;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MetricOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every class of bad input interleaved with good loads: the job keeps running, each bad record is
 * dead-lettered with its reason (an exact redelivery is counted as a duplicate instead), used +
 * duplicate + dead-lettered equals the records sent, and the decisions equal those of the clean
 * input.
 */
class BadInputITCase {

  private static final int PARALLELISM = 2;
  private static final int WINDOW = 2;
  private static final int RANKS = 4;
  private static final long FIRST = 10;
  private static final long LAST = 15;
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension
  static final MiniClusterExtension FLINK =
      new MiniClusterExtension(
          new MiniClusterResourceConfiguration.Builder()
              .setNumberTaskManagers(1)
              .setNumberSlotsPerTaskManager(PARALLELISM)
              .setConfiguration(fastMetrics())
              .build());

  private final EmbeddedKafkaBroker broker = SharedBroker.get();
  private final KafkaIo io = new KafkaIo(broker);

  @Test
  void deadLettersEveryBadRecordWithItsReasonAndDecidesAsOnCleanInput(@TempDir Path directory)
      throws Exception {
    Map<String, PlanDecision> clean = run("bad-input-clean", directory.resolve("clean"), false);
    TestTopics topics = TestTopics.create(broker, "bad-input-dirty");
    PlanSelectorConfig config =
        withHoldTimeout(topics.jobConfig(broker, WINDOW, PARALLELISM, directory.resolve("dirty")));
    JobClient job = PlanSelectorJobITCase.submit(config);
    try {
      int sent = produce(topics, true);
      Map<String, PlanDecision> dirty =
          PlanSelectorJobITCase.byId(
              io.readAtLeast(topics.decisions(), Topics.PLAN_DECISIONS, clean.size()));
      List<DeadLetter> deadLetters =
          io.readAtLeast(topics.deadLetters(), Topics.EXPERT_LOAD_DLQ, 11);

      assertThat(dirty).isEqualTo(clean);
      assertThat(deadLetters)
          .extracting(DeadLetter::getReason)
          .containsExactlyInAnyOrder(
              DeadLetterReason.UNDECODABLE,
              DeadLetterReason.UNKNOWN_SCHEMA,
              DeadLetterReason.UNDECODABLE,
              DeadLetterReason.INVALID_FIELD,
              DeadLetterReason.INVALID_FIELD,
              DeadLetterReason.INVALID_FIELD,
              DeadLetterReason.INVALID_FIELD,
              DeadLetterReason.DUPLICATE,
              DeadLetterReason.OUT_OF_ORDER,
              DeadLetterReason.NO_POOL,
              DeadLetterReason.NO_POOL);
      assertThat(deadLetters)
          .extracting(DeadLetter::getDetail)
          .anySatisfy(d -> assertThat(d).contains("expertCounts has 5 entries but the pool"))
          .anySatisfy(d -> assertThat(d).contains("rank 7 is outside the world size 4"))
          .anySatisfy(d -> assertThat(d).contains("is negative: -3"))
          .anySatisfy(d -> assertThat(d).contains("65537 entries"))
          .anySatisfy(d -> assertThat(d).contains("no plan pool for job 'ghost'"));
      assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
      Map<String, Long> counts =
          awaitCounts(
              FLINK,
              job,
              sent,
              JobMetrics.RECORDS_USED,
              JobMetrics.DUPLICATES,
              JobMetrics.DEAD_LETTERED);
      assertThat(counts.get(JobMetrics.DUPLICATES)).isEqualTo(1);
      assertThat(counts.get(JobMetrics.DEAD_LETTERED)).isEqualTo(deadLetters.size());
      assertThat(
              counts.get(JobMetrics.RECORDS_USED)
                  + counts.get(JobMetrics.DUPLICATES)
                  + counts.get(JobMetrics.DEAD_LETTERED))
          .isEqualTo(sent);
      assertThat(counts.get(JobMetrics.RECORDS_IN)).isEqualTo(sent);
    } finally {
      PlanSelectorJobITCase.cancelAndAwait(job);
    }
  }

  private Map<String, PlanDecision> run(String prefix, Path checkpoints, boolean bad)
      throws Exception {
    TestTopics topics = TestTopics.create(broker, prefix);
    JobClient job =
        PlanSelectorJobITCase.submit(
            withHoldTimeout(topics.jobConfig(broker, WINDOW, PARALLELISM, checkpoints)));
    try {
      produce(topics, bad);
      int windows = (int) ((LAST - FIRST + 1) / WINDOW);
      return PlanSelectorJobITCase.byId(
          io.readAtLeast(topics.decisions(), Topics.PLAN_DECISIONS, 2 * windows));
    } finally {
      PlanSelectorJobITCase.cancelAndAwait(job);
    }
  }

  /**
   * Sends the pool and the good loads, with every class of bad record woven in; returns the count
   * of load records.
   */
  private int produce(TestTopics topics, boolean bad) {
    io.send(topics.pools(), Topics.PLAN_POOL, "job", SampleRecords.planPool("job"));
    int sent = 0;
    for (long iteration = FIRST; iteration <= LAST; iteration++) {
      for (int rank = 0; rank < RANKS; rank++) {
        ExpertLoad good = SampleRecords.expertLoad("job", rank, iteration);
        io.send(topics.loads(), Topics.EXPERT_LOAD, key(rank), good);
        sent++;
        if (bad && iteration == FIRST + 1) {
          sent += sendBad(topics, rank, good);
        }
      }
    }
    return sent;
  }

  /** After rank's second good load: the bad records that belong to this rank. */
  private int sendBad(TestTopics topics, int rank, ExpertLoad good) {
    byte[] bytes = Topics.EXPERT_LOAD.valueCodec().encode(good);
    switch (rank) {
      case 0 -> {
        io.sendRaw(topics.loads(), key(0), new byte[] {0x7B, 0x22, 0x6A, 0x22});
        byte[] unknown = bytes.clone();
        unknown[4] ^= 0x5A;
        io.sendRaw(topics.loads(), key(0), unknown);
        io.sendRaw(topics.loads(), key(0), Arrays.copyOf(bytes, bytes.length - 5));
        return 3;
      }
      case 1 -> {
        io.send(topics.loads(), Topics.EXPERT_LOAD, key(1), good);
        io.send(
            topics.loads(),
            Topics.EXPERT_LOAD,
            key(1),
            withAllLayers(good, List.of(1L, 2L, 3L, 4L, 5L)));
        io.send(
            topics.loads(), Topics.EXPERT_LOAD, key(1), withLayer0(good, List.of(1L, 2L, -3L, 4L)));
        return 3;
      }
      case 2 -> {
        io.send(
            topics.loads(),
            Topics.EXPERT_LOAD,
            key(2),
            ExpertLoad.newBuilder(good).setIteration(3).build());
        io.send(
            topics.loads(),
            Topics.EXPERT_LOAD,
            key(7),
            ExpertLoad.newBuilder(good).setRank(7).build());
        io.send(
            topics.loads(),
            Topics.EXPERT_LOAD,
            key(2),
            withAllLayers(good, Collections.nCopies(Limits.MAX_EXPERTS + 1, 1L)));
        return 3;
      }
      default -> {
        ExpertLoad conflicting = withLayer0(good, List.of(9L, 9L, 9L, 9L));
        io.send(topics.loads(), Topics.EXPERT_LOAD, key(3), conflicting);
        ExpertLoad ghost = SampleRecords.expertLoad("ghost", 0, good.getIteration());
        io.send(topics.loads(), Topics.EXPERT_LOAD, Topics.expertLoadKey("ghost", 0), ghost);
        io.send(
            topics.loads(),
            Topics.EXPERT_LOAD,
            Topics.expertLoadKey("ghost", 0),
            ExpertLoad.newBuilder(ghost).setIteration(good.getIteration() + 1).build());
        return 3;
      }
    }
  }

  private static String key(int rank) {
    return Topics.expertLoadKey("job", rank);
  }

  private static ExpertLoad withLayer0(ExpertLoad load, List<Long> counts) {
    List<LayerLoad> layers = new ArrayList<>(load.getLayers());
    layers.set(0, new LayerLoad(0, counts));
    return ExpertLoad.newBuilder(load).setLayers(layers).build();
  }

  private static ExpertLoad withAllLayers(ExpertLoad load, List<Long> counts) {
    List<LayerLoad> layers = new ArrayList<>();
    for (LayerLoad layer : load.getLayers()) {
      layers.add(new LayerLoad(layer.getLayer(), counts));
    }
    return ExpertLoad.newBuilder(load).setLayers(layers).build();
  }

  private static PlanSelectorConfig withHoldTimeout(PlanSelectorConfig config) {
    return new PlanSelectorConfig(
        config.bootstrapServers(),
        config.groupId(),
        config.expertLoadTopic(),
        config.planPoolTopic(),
        config.planDecisionsTopic(),
        config.deadLetterTopic(),
        config.workerTimesTopic(),
        config.modelFitTopic(),
        config.topicPrefixes(),
        config.windowIterations(),
        config.leadIterations(),
        config.windowTimeout(),
        config.holdMax(),
        Duration.ofSeconds(2),
        config.maxIterationJump(),
        config.margin(),
        config.horizonIterations(),
        config.staticPlacement(),
        config.calibration(),
        config.checkpointInterval(),
        config.checkpointDir(),
        config.bufferTimeout(),
        config.parallelism(),
        config.kafkaProperties());
  }

  /**
   * Sums each moeplan counter of {@code names} and records-in over every operator and subtask
   * through the dashboard's REST API, polling (bounded) until records-in reaches {@code sent} and
   * every record is used, counted as a duplicate or dead-lettered.
   */
  static Map<String, Long> awaitCounts(
      MiniClusterExtension flink, JobClient job, int sent, String... names) throws Exception {
    Configuration client = flink.getClientConfiguration();
    String base = "http://" + client.get(RestOptions.ADDRESS) + ":" + client.get(RestOptions.PORT);
    HttpClient http = HttpClient.newHttpClient();
    List<String> wanted = new ArrayList<>(List.of(names));
    wanted.add(JobMetrics.RECORDS_IN);
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    Map<String, Long> totals = Map.of();
    while (System.nanoTime() < deadline) {
      totals = sumCounters(http, base, job.getJobID().toString(), wanted);
      if (totals.getOrDefault(JobMetrics.RECORDS_IN, 0L) >= sent
          && totals.getOrDefault(JobMetrics.RECORDS_USED, 0L)
                  + totals.getOrDefault(JobMetrics.DUPLICATES, 0L)
                  + totals.getOrDefault(JobMetrics.DEAD_LETTERED, 0L)
              >= sent) {
        return totals;
      }
      Thread.sleep(250);
    }
    return totals;
  }

  /** Each counter of {@code wanted}, summed over every operator and subtask of the job. */
  static Map<String, Long> sumCounters(
      HttpClient http, String base, String jobId, List<String> wanted) throws Exception {
    Map<String, Long> totals = new java.util.TreeMap<>();
    JsonNode job = get(http, base + "/jobs/" + jobId);
    if (job == null) {
      return totals;
    }
    for (JsonNode vertex : job.path("vertices")) {
      String vertexPath = base + "/jobs/" + jobId + "/vertices/" + vertex.path("id").asText();
      JsonNode available = get(http, vertexPath + "/subtasks/metrics");
      if (available == null) {
        continue;
      }
      for (JsonNode metric : available) {
        String id = metric.path("id").asText();
        for (String name : wanted) {
          if (id.endsWith("." + name)) {
            JsonNode sum = get(http, vertexPath + "/subtasks/metrics?get=" + id + "&agg=sum");
            if (sum != null && sum.size() > 0) {
              totals.merge(name, (long) sum.get(0).path("sum").asDouble(), Long::sum);
            }
          }
        }
      }
    }
    return totals;
  }

  private static JsonNode get(HttpClient http, String url) throws InterruptedException {
    try {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 ? JSON.readTree(response.body()) : null;
    } catch (IOException e) {
      return null;
    }
  }

  /** A MiniCluster configuration whose dashboard refreshes metrics every 500 ms. */
  static Configuration fastMetrics() {
    Configuration configuration = new Configuration();
    configuration.set(MetricOptions.METRIC_FETCHER_UPDATE_INTERVAL, Duration.ofMillis(500));
    return configuration;
  }
}
