package io.moeplan.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code moeplan local}'s options: what external mode refuses, before anything starts. */
class LocalCommandTest {

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine commandLine = Moeplan.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }

  @Test
  void helpExplainsExternalMode() {
    assertThat(run("local", "--help")).isZero();
    assertThat(out.toString())
        .contains("--external")
        .contains("ready: bootstrap-servers=HOST:PORT")
        .contains("--parallel=tp=N,pp=N,dp=N,ep=N,slots=N")
        .contains("--start-layout")
        .contains("--duration")
        .contains("--pool=FILE");
  }

  @Test
  void externalModeRefusesTheExecutorsOptions() {
    assertThat(run("local", "--external", "--rate", "3", "--hidden", "16")).isEqualTo(2);
    assertThat(err.toString())
        .contains("--rate, --hidden: only for the in-process executor, which --external does not");
  }

  @Test
  void aPrebuiltPoolRefusesTheOptionsOfASearch() {
    assertThat(run("local", "--external", "--pool", "x.pool", "--layers", "4")).isEqualTo(2);
    assertThat(err.toString()).contains("--layers: describe the pool to search, but --pool x.pool");
  }

  @Test
  void theExternalOptionsNeedExternalMode() {
    assertThat(run("local", "--parallel", "tp=1,pp=1,dp=8,ep=8,slots=2", "--duration", "5s"))
        .isEqualTo(2);
    assertThat(err.toString()).contains("--duration, --parallel: only with --external");
  }

  @Test
  void aMissingPoolFileIsNamed() {
    assertThat(run("local", "--external", "--pool", "no-such.pool")).isEqualTo(2);
    assertThat(err.toString()).contains("--pool").contains("no-such.pool");
  }

  @Test
  void aTenantsJobIdMustStartWithItsPrefix() {
    assertThat(run("local", "--topic-prefix", "teamA", "--job", "teamB.x")).isEqualTo(2);
    assertThat(err.toString())
        .contains(
            "--job: job id 'teamB.x' must start with 'teamA.': the job ids of tenant"
                + " --topic-prefix");
  }

  @Test
  void aTopicPrefixWithADotIsRefused() {
    assertThat(run("local", "--topic-prefix", "team.a")).isEqualTo(2);
    assertThat(err.toString()).contains("--topic-prefix: topic prefix must be 1-100 letters");
  }

  @Test
  void helpExplainsSecureAndTopicPrefix() {
    assertThat(run("local", "--help")).isZero();
    assertThat(out.toString())
        .contains("--secure")
        .contains("SCRAM-SHA-512")
        .contains("--topic-prefix");
  }

  @Test
  void aJobOptionTheJobDoesNotKnowIsNamedBeforeAnythingStarts() {
    assertThat(run("local", "--job-option", "nonsense=1", "--iterations", "1")).isEqualTo(2);
    assertThat(err.toString()).contains("unknown option --nonsense");
  }
}
