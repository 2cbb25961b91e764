package io.moeplan.launcher;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code moeplan} command line: one entry point that dispatches to the subcommands. */
@Command(
    name = "moeplan",
    mixinStandardHelpOptions = true,
    versionProvider = Moeplan.Version.class,
    description = "Plans expert placement for Mixture-of-Experts training from streamed loads.",
    subcommands = {
      CommandLine.HelpCommand.class,
      LocalCommand.class,
      ClusterCommand.class,
      BrokerCommand.class,
      SecurityCommand.class,
      ExecutorCommand.class,
      PoolCommand.class,
      RebalanceCommand.class,
      ReplayCommand.class,
      FitCommand.class,
      BenchCommand.class
    })
public final class Moeplan implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** Runs the command line and exits with the subcommand's exit code. */
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command line with every subcommand registered, for the launcher and for tests. */
  public static CommandLine commandLine() {
    return new CommandLine(new Moeplan())
        .setCaseInsensitiveEnumValuesAllowed(true)
        .setExecutionExceptionHandler(Moeplan::reportBadInput);
  }

  /**
   * Bad input found while a command runs (a spec file, a pool, sizes that do not fit) is the user's
   * to fix: one line naming it and exit code 2, no stack trace. Anything else is a bug and keeps
   * its stack trace.
   */
  private static int reportBadInput(
      Exception e, CommandLine commandLine, CommandLine.ParseResult parseResult) throws Exception {
    if (e instanceof IllegalArgumentException) {
      commandLine.getErr().println();
      commandLine.getErr().println(commandLine.getCommandName() + ": " + e.getMessage());
      return 2;
    }
    throw e;
  }

  /** Reports the version recorded in the launcher jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = Moeplan.class.getPackage().getImplementationVersion();
      return new String[] {"moeplan " + (version == null ? "(development build)" : version)};
    }
  }
}
