package io.moeplan.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.schemas.DecisionWindows;
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

  @Test
  void takesTheJobsWindowFlagsWithTheirDefaultsAndTheOldNamesStill() {
    String[] base = {"--job", "j", "--workers", "4", "--bootstrap-servers", "x:1"};
    ExecutorCommand defaults = parse(base);
    ExecutorCommand canonical =
        parse(append(base, "--window-iterations", "5", "--lead-iterations", "3"));
    ExecutorCommand old = parse(append(base, "--window", "7", "--lead", "1"));

    ExecutorCommand both =
        parse(append(base, "--window", "7", "--window-iterations", "5", "--lead", "1"));

    assertThat(defaults.windows.windowIterations(defaults.spec))
        .isEqualTo(DecisionWindows.DEFAULT_WINDOW_ITERATIONS);
    assertThat(defaults.windows.leadIterations(defaults.spec))
        .isEqualTo(DecisionWindows.DEFAULT_LEAD_ITERATIONS);
    assertThat(canonical.windows.windowIterations(canonical.spec)).isEqualTo(5);
    assertThat(canonical.windows.leadIterations(canonical.spec)).isEqualTo(3);
    assertThat(old.windows.windowIterations(old.spec)).isEqualTo(7);
    assertThat(old.windows.leadIterations(old.spec)).isEqualTo(1);
    assertThat(both.windows.windowIterations(both.spec)).isEqualTo(5);
  }

  @Test
  void rejectsAWindowBelowOneNamingTheFlag() {
    assertThat(executor("--window-iterations", "0")).isEqualTo(2);
    assertThat(err.toString()).contains("--window-iterations must be >= 1, got 0");
  }

  @Test
  void rejectsAJobIdWithASlash() {
    assertThat(run("executor", "--job", "a/b", "--workers", "4", "--bootstrap-servers", "x:1"))
        .isEqualTo(2);
    assertThat(err.toString()).contains("--job: job id must be non-blank without '/', got 'a/b'");
  }

  @Test
  void aTenantsJobIdMustStartWithItsPrefix() {
    assertThat(executor("--topic-prefix", "teamA")).isEqualTo(2);
    assertThat(err.toString()).contains("--job: job id 'j' must start with 'teamA.'");
  }

  private static ExecutorCommand parse(String... args) {
    ExecutorCommand command = new ExecutorCommand();
    new CommandLine(command).parseArgs(args);
    return command;
  }

  private static String[] append(String[] base, String... extra) {
    String[] args = new String[base.length + extra.length];
    System.arraycopy(base, 0, args, 0, base.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    return args;
  }
}
