package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moeplan.flink.job.JobMetrics;
import io.moeplan.launcher.local.LocalStack;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.SpecLoader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@code moeplan local} end to end: while it runs, the Flink dashboard's REST API shows the job
 * running with moeplan's metrics; when it ends, every window of every layer got its decision and
 * the in-process cpu executor applied the switches at their effective iterations.
 */
class LocalStackITCase {

  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void runsTheLoopAndShowsTheJobAndItsMetricsInTheDashboard() throws Exception {
    int uiPort = freePort();
    ModelSpec model =
        SpecLoader.loadExample("model-gpt-moe.yaml", ModelSpec.class).withMoeLayers(4);
    LocalStack.Settings settings =
        LocalStack.Settings.builder(
                SpecLoader.loadExample("cluster-h100-2node.yaml", ClusterSpec.class), model)
            .jobId("local-it")
            .iterations(400)
            .iterationsPerSecond(40)
            .windowIterations(5)
            .uiPort(uiPort)
            .seed(7)
            .build();
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    LocalStack stack =
        new LocalStack(settings, new PrintStream(output, true, StandardCharsets.UTF_8));
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread runner =
        new Thread(
            () -> {
              try {
                stack.run();
              } catch (Throwable e) {
                failure.set(e);
              }
            },
            "local-stack");
    runner.start();
    List<String> metricNames;
    try {
      String jobId = awaitRunningJob(uiPort);
      metricNames = awaitMetricNames(uiPort, jobId, "Window statistics and selector");
    } finally {
      runner.join(Duration.ofMinutes(3).toMillis());
    }

    assertThat(failure.get()).isNull();
    assertThat(runner.isAlive()).isFalse();
    assertThat(metricNames)
        .anySatisfy(name -> assertThat(name).contains(JobMetrics.DECISIONS))
        .anySatisfy(name -> assertThat(name).contains(JobMetrics.SELECTOR_MICROS))
        .anySatisfy(name -> assertThat(name).contains(JobMetrics.LOOP_LATENCY_MILLIS));
    String printed = output.toString(StandardCharsets.UTF_8);
    // 400 iterations in windows of 5: 80 windows of each of the 4 layers
    assertThat(printed).contains("summary: 400 iterations, 320 of 320 decisions received");
    assertThat(printed).contains("0 Kafka sends failed, 0 records skipped");
    // the in-process executor applied switches and measured its workers
    assertThat(printed)
        .containsPattern("applied local-it/\\d+/\\d+ at iteration \\d+ on ranks 0-7");
    assertThat(printed).containsPattern("\\d+ switches applied by every rank at their effective");
    assertThat(printed).contains("(0 decisions timed out, 0 late)");
    assertThat(printed).containsPattern("measured expert compute: slowest worker [0-9.]+ ms");
    assertThat(printed).contains("checkpoints: ");
    assertThat(printed).contains("Flink dashboard on http://localhost:" + uiPort);
  }

  private String awaitRunningJob(int port) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode overview = get(port, "/jobs/overview");
      if (overview != null) {
        for (JsonNode job : overview.path("jobs")) {
          if (job.path("state").asText().equals("RUNNING")) {
            return job.path("jid").asText();
          }
        }
      }
      Thread.sleep(200);
    }
    throw new AssertionError("no running job on the dashboard of port " + port);
  }

  private List<String> awaitMetricNames(int port, String jobId, String vertexName)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode job = get(port, "/jobs/" + jobId);
      if (job != null) {
        for (JsonNode vertex : job.path("vertices")) {
          if (vertex.path("name").asText().contains(vertexName)) {
            JsonNode metrics =
                get(
                    port,
                    "/jobs/" + jobId + "/vertices/" + vertex.path("id").asText() + "/metrics");
            List<String> names = new ArrayList<>();
            if (metrics != null) {
              metrics.forEach(metric -> names.add(metric.path("id").asText()));
            }
            if (names.stream().anyMatch(name -> name.contains("moeplan"))) {
              return names;
            }
          }
        }
      }
      Thread.sleep(200);
    }
    throw new AssertionError("no moeplan metrics on vertex '" + vertexName + "'");
  }

  private JsonNode get(int port, String path) throws InterruptedException {
    try {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                  .timeout(Duration.ofSeconds(5))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 ? JSON.readTree(response.body()) : null;
    } catch (IOException e) {
      return null;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
