package io.moeplan.launcher;

import java.util.concurrent.CountDownLatch;

/**
 * Lets Ctrl-C stop a long-running command cleanly: when the JVM shuts down it asks the work to
 * stop, then holds the shutdown until the work has cleaned up, which {@link #close()} signals.
 */
final class StopOnExit implements AutoCloseable {

  private final CountDownLatch finished = new CountDownLatch(1);

  /** A guard whose shutdown hook calls {@code stop}. */
  static StopOnExit on(String threadName, Runnable stop) {
    StopOnExit guard = new StopOnExit();
    guard.install(threadName, stop);
    return guard;
  }

  /** Registers the shutdown hook that calls {@code stop}, once the work to stop exists. */
  void install(String threadName, Runnable stop) {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  stop.run();
                  try {
                    finished.await();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                },
                threadName));
  }

  /** The work has cleaned up: a pending shutdown may go on. */
  @Override
  public void close() {
    finished.countDown();
  }
}
