package io.moeplan.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.launcher.local.LocalStack;
import io.moeplan.launcher.local.SelectorStack;
import io.moeplan.planner.spec.ClusterSpec;
import io.moeplan.planner.spec.ModelSpec;
import io.moeplan.planner.spec.SpecLoader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code moeplan local --secure}: the whole loop on a secured broker, every part connecting as its
 * own principal, decides exactly as the plain loop with the same seed. The job's calibration is off
 * in both runs: with it on, decisions follow the executor's measured CPU times, which differ from
 * run to run whether secured or not.
 */
class SecureLocalStackITCase {

  private static final Pattern PASSWORD = Pattern.compile("password\\s*=\\s*\"?[A-Za-z0-9]{8,}");

  /**
   * What a generated password looks like wherever it is printed: 32 letters and digits with upper
   * case, lower case and a digit (Flink's ids are lower-case hex, and class names such as {@code
   * ControllerRegistrationsPublisher} have no digit). A password without a digit (about 0.4% of
   * them) would go unseen here; the other security tests look for the passwords themselves.
   */
  private static final Pattern GENERATED_SECRET =
      Pattern.compile(
          "(?<![A-Za-z0-9])(?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[A-Z])(?=[A-Za-z0-9]*[0-9])"
              + "[A-Za-z0-9]{32}(?![A-Za-z0-9])");

  @Test
  void securedLoopDecidesAsThePlainOneWithTheSameSeed() throws Exception {
    String plain;
    String secured;
    try (LogCapture logs = LogCapture.start()) {
      plain = run(SelectorStack.Access.PLAIN);
      secured = run(new SelectorStack.Access(true, ""));
      for (String line : logs.lines()) {
        assertThat(PASSWORD.matcher(line).find()).as("log line: %s", line).isFalse();
        assertThat(GENERATED_SECRET.matcher(line).find()).as("log line: %s", line).isFalse();
      }
    }

    assertThat(secured).contains("secured: SASL_SSL with SCRAM-SHA-512 users and ACLs");
    assertThat(PASSWORD.matcher(secured).find()).isFalse();
    assertThat(GENERATED_SECRET.matcher(secured).find()).as(secured).isFalse();
    for (String printed : List.of(plain, secured)) {
      // 120 iterations in windows of 5: 24 windows of each of the 4 layers
      assertThat(printed).contains("summary: 120 iterations, 96 of 96 decisions received");
      assertThat(printed).contains("0 Kafka sends failed, 0 records skipped");
    }
    List<String> plainDecisions = decisions(plain);
    assertThat(plainDecisions).isNotEmpty();
    assertThat(decisions(secured)).isEqualTo(plainDecisions);
  }

  private static String run(SelectorStack.Access access) throws Exception {
    ModelSpec model =
        SpecLoader.loadExample("model-gpt-moe.yaml", ModelSpec.class).withMoeLayers(4);
    LocalStack.Settings settings =
        LocalStack.Settings.builder(
                SpecLoader.loadExample("cluster-h100-2node.yaml", ClusterSpec.class), model)
            .jobId("secure-it")
            .iterations(120)
            .iterationsPerSecond(40)
            .windowIterations(5)
            .uiPort(freePort())
            .seed(7)
            .access(access)
            .jobArguments(List.of("--calibrate", "false"))
            .build();
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    new LocalStack(settings, new PrintStream(output, true, StandardCharsets.UTF_8)).run();
    return output.toString(StandardCharsets.UTF_8);
  }

  /** The printed switch decisions, in order of decision id. */
  private static List<String> decisions(String printed) {
    return printed.lines().filter(line -> line.startsWith("decision ")).sorted().toList();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
