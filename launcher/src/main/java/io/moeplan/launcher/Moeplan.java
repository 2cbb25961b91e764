package io.moeplan.launcher;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code moeplan} command line: one entry point that dispatches to the subcommands. */
@Command(
    name = "moeplan",
    mixinStandardHelpOptions = true,
    versionProvider = Moeplan.Version.class,
    description = "Plans expert placement for Mixture-of-Experts training from streamed loads.",
    subcommands = {CommandLine.HelpCommand.class, BrokerCommand.class, RebalanceCommand.class})
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
    return new CommandLine(new Moeplan()).setCaseInsensitiveEnumValuesAllowed(true);
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
