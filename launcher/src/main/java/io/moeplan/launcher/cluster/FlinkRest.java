package io.moeplan.launcher.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The few calls of Flink's REST API the cluster needs: upload and run a jar, a job's state and
 * checkpoints, cancel.
 */
public final class FlinkRest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

  private final URI base;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** A client of the REST endpoint at {@code http://localhost:<port>}. */
  public FlinkRest(int port) {
    this("localhost", port);
  }

  /** A client of the REST endpoint at {@code http://<host>:<port>}. */
  public FlinkRest(String host, int port) {
    this.base = URI.create("http://" + host + ":" + port);
  }

  /** The dashboard's address. */
  public URI address() {
    return base;
  }

  /** Whether the endpoint answers {@code /overview}, and with how many TaskManagers. */
  public Optional<Integer> taskManagers() {
    try {
      return Optional.of(get("/overview").path("taskmanagers").asInt());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Uploads a jar; returns the id the run call takes. */
  public String upload(Path jar) throws IOException {
    String boundary = "moeplan-" + UUID.randomUUID();
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.writeBytes(
        ("--"
                + boundary
                + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\""
                + jar.getFileName()
                + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n")
            .getBytes(StandardCharsets.UTF_8));
    body.writeBytes(Files.readAllBytes(jar));
    body.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
    JsonNode answer =
        send(
            HttpRequest.newBuilder(base.resolve("/jars/upload"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
    String file = answer.path("filename").asText();
    if (file.isEmpty()) {
      throw new IOException("upload of " + jar + " answered without a file name: " + answer);
    }
    return Path.of(file).getFileName().toString();
  }

  /** Runs an uploaded jar's main class with these arguments; returns the job id. */
  public String run(String jarId, List<String> arguments, int parallelism) throws IOException {
    ObjectNode request = JSON.createObjectNode();
    request.putPOJO("programArgsList", arguments);
    request.put("parallelism", parallelism);
    JsonNode answer =
        send(
            HttpRequest.newBuilder(base.resolve("/jars/" + jarId + "/run"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(request))));
    String jobId = answer.path("jobid").asText();
    if (jobId.isEmpty()) {
      throw new IOException("running jar " + jarId + " answered without a job id: " + answer);
    }
    return jobId;
  }

  /** The job's state ({@code RUNNING}, {@code RESTARTING}, ...). */
  public String jobState(String jobId) throws IOException {
    return get("/jobs/" + jobId).path("state").asText();
  }

  /** The job's checkpoint statistics ({@code counts}, {@code latest.completed/restored}). */
  public JsonNode checkpoints(String jobId) throws IOException {
    return get("/jobs/" + jobId + "/checkpoints");
  }

  /** Completed checkpoints of the job so far. */
  public long completedCheckpoints(String jobId) throws IOException {
    return checkpoints(jobId).path("counts").path("completed").asLong();
  }

  /** Id of the checkpoint the job last restored from, if it restored. */
  public Optional<Long> restoredCheckpoint(String jobId) throws IOException {
    JsonNode restored = checkpoints(jobId).path("latest").path("restored");
    return restored.isMissingNode() || restored.isNull()
        ? Optional.empty()
        : Optional.of(restored.path("id").asLong());
  }

  /** Ids of the TaskManagers with at least one slot in use. */
  public List<String> busyTaskManagers() throws IOException {
    List<String> busy = new java.util.ArrayList<>();
    for (JsonNode taskManager : get("/taskmanagers").path("taskmanagers")) {
      if (taskManager.path("freeSlots").asInt() < taskManager.path("slotsNumber").asInt()) {
        busy.add(taskManager.path("id").asText());
      }
    }
    return busy;
  }

  /** Cancels the job. */
  public void cancel(String jobId) throws IOException {
    send(
        HttpRequest.newBuilder(base.resolve("/jobs/" + jobId + "?mode=cancel"))
            .method("PATCH", HttpRequest.BodyPublishers.noBody()));
  }

  private JsonNode get(String path) throws IOException {
    return send(HttpRequest.newBuilder(base.resolve(path)).GET());
  }

  private JsonNode send(HttpRequest.Builder request) throws IOException {
    HttpResponse<String> response;
    try {
      response =
          http.send(request.timeout(CALL_TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted calling " + base, e);
    }
    if (response.statusCode() / 100 != 2) {
      throw new IOException(
          response.request().method()
              + " "
              + response.uri()
              + " answered "
              + response.statusCode()
              + ": "
              + response.body());
    }
    return response.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(response.body());
  }
}
