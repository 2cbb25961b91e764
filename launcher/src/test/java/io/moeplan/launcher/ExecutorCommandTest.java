package io.moeplan.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ExecutorCommandTest {

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine commandLine = Moeplan.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }

  private int executor(String... extra) {
    String[] base = {"executor", "--job", "j", "--workers", "4", "--bootstrap-servers", "x:1"};
    String[] args = new String[base.length + extra.length];
    System.arraycopy(base, 0, args, 0, base.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    return run(args);
  }

  @Test
  void rejectsAnUnknownBackendNamingTheOption() {
    assertThat(executor("--backend", "tpu")).isEqualTo(2);
    assertThat(err.toString()).contains("--backend must be cpu or cuda, got 'tpu'");
  }

  @Test
  void rejectsAWorkloadThatIsNeitherSyntheticNorATrace() {
    assertThat(executor("--workload", "random")).isEqualTo(2);
    assertThat(err.toString()).contains("--workload must be synthetic or trace:FILE");
  }

  @Test
  void rejectsAMissingTraceFile() {
    assertThat(executor("--workload", "trace:/no/such/trace.csv")).isEqualTo(2);
    assertThat(err.toString()).contains("no such file /no/such/trace.csv");
  }

  @Test
  void rejectsRanksOutsideTheWorld() {
    assertThat(executor("--first-rank", "2", "--world-size", "4")).isEqualTo(2);
    assertThat(err.toString()).contains("--first-rank 2 + --workers 4 exceeds --world-size 4");
  }

  @Test
  void rejectsAnUnreadableDecisionTimeout() {
    assertThat(executor("--decision-timeout", "soon")).isEqualTo(2);
    assertThat(err.toString()).contains("--decision-timeout must be a number with ms, s or m");
  }
}
