package io.moeplan.tests;

import io.moeplan.launcher.kafka.EmbeddedKafkaBroker;

/**
 * One embedded broker for the whole test JVM: started on first use, closed (and its directory
 * deleted) when the JVM exits. Tests keep apart by using their own topics.
 */
final class SharedBroker {

  private static EmbeddedKafkaBroker broker;

  private SharedBroker() {}

  /** The running shared broker. */
  static synchronized EmbeddedKafkaBroker get() {
    if (broker == null) {
      broker = EmbeddedKafkaBroker.builder().build().start();
      EmbeddedKafkaBroker started = broker;
      Runtime.getRuntime().addShutdownHook(new Thread(started::close, "shared-broker-close"));
    }
    return broker;
  }
}
