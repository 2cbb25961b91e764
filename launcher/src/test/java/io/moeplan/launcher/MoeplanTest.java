package io.moeplan.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeplan.schemas.DecisionWindows;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MoeplanTest {

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine commandLine = Moeplan.commandLine();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    return commandLine.execute(args);
  }

  @Test
  void helpListsTheSubcommands() {
    assertThat(run("--help")).isZero();

    assertThat(out.toString()).contains("Usage: moeplan").contains("broker").contains("rebalance");
  }

  @Test
  void everySubcommandHasItsOwnHelp() {
    for (String name : Moeplan.commandLine().getSubcommands().keySet()) {
      out.getBuffer().setLength(0);
      assertThat(run(name, "--help")).as(name).isZero();
      assertThat(out.toString()).as(name).contains("Usage: moeplan " + name);
    }
  }

  @Test
  void everyCommandWithADecisionWindowNamesItAsTheJobDoes() {
    for (String[] command :
        List.of(
            new String[] {"local"},
            new String[] {"executor"},
            new String[] {"bench", "pipeline"},
            new String[] {"bench", "loop"},
            new String[] {"replay"})) {
      out.getBuffer().setLength(0);
      String[] args = Arrays.copyOf(command, command.length + 1);
      args[command.length] = "--help";
      assertThat(run(args)).isZero();
      String help = out.toString();
      assertThat(help).as(command[0]).contains(DecisionWindows.WINDOW_ITERATIONS_FLAG + "=F");
      assertThat(help).as(command[0]).doesNotContainPattern("--window[ =,]|--lead[ =,]");
      if (!command[0].equals("replay")) {
        assertThat(help).as(command[0]).contains(DecisionWindows.LEAD_ITERATIONS_FLAG + "=L");
      }
    }
  }

  @Test
  void unknownSubcommandIsAUsageErrorNamingIt() {
    assertThat(run("teleport")).isEqualTo(2);

    assertThat(err.toString()).contains("teleport");
  }

  @Test
  void benchRefusesABadJobOptionBeforeItStarts() {
    assertThat(run("bench", "pipeline", "--job=--nonsense=1")).isEqualTo(2);
    assertThat(err.toString()).contains("--job: unknown option --nonsense");

    err.getBuffer().setLength(0);
    assertThat(run("bench", "pipeline", "--job=buffer-timeout")).isEqualTo(2);
    assertThat(err.toString()).contains("--job takes --KEY=VALUE, got 'buffer-timeout'");

    err.getBuffer().setLength(0);
    assertThat(run("bench", "pipeline", "--warmup-iterations", "-1")).isEqualTo(2);
    assertThat(err.toString()).contains("--warmup-iterations must be >= 0");
  }
}
