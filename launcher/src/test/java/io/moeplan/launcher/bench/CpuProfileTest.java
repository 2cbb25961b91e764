package io.moeplan.launcher.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class CpuProfileTest {

  @Test
  void subtasksOfOneChainAndNumberedWorkersFallIntoOneGroup() {
    assertThat(CpuProfile.group("Sum each rank's window (1/2)#0"))
        .isEqualTo(CpuProfile.group("Sum each rank's window (2/2)#3"))
        .isEqualTo("Sum each rank's window");
    assertThat(CpuProfile.group("data-plane-kafka-request-handler-7"))
        .isEqualTo(CpuProfile.group("data-plane-kafka-request-handler-0"))
        .isEqualTo("data-plane-kafka-request-handler-#");
  }

  @Test
  void sharesAreOfTheWholeProcessLargestFirstAndCut() {
    List<CpuProfile.Share> shares =
        CpuProfile.shares(Map.of("selector", 300L, "gate", 100L, "decode", 50L), 550L, 3);

    assertThat(shares)
        .extracting(CpuProfile.Share::group)
        .containsExactly(CpuProfile.OTHER, "selector", "gate");
    assertThat(shares.get(0).fraction()).isCloseTo(0.55, within(1e-12));
    assertThat(shares.get(1).fraction()).isCloseTo(0.30, within(1e-12));
  }

  @Test
  void measuresTheCpuOfABusyThread() throws Exception {
    CpuProfile profile = CpuProfile.start().orElse(null);
    assumeTrue(profile != null, "no thread CPU time in this JVM");
    AtomicBoolean done = new AtomicBoolean();
    Thread busy =
        new Thread(
            () -> {
              long x = 0;
              while (!done.get()) {
                x += System.nanoTime() % 7;
              }
              if (x == 42) {
                System.out.print("");
              }
            },
            "cpu-profile-test-spinner-1");
    busy.start();

    CpuProfile.Result result;
    try {
      // until the spinner has used 50 ms of CPU (bounded), while its thread is still there
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (threads.getThreadCpuTime(busy.getId()) < 50_000_000L && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      result = profile.stop(20, Map.of("a thread that ended", 1_000_000L));
    } finally {
      done.set(true);
      busy.join();
    }

    assertThat(result.coresBusy()).isPositive();
    assertThat(result.shares())
        .extracting(CpuProfile.Share::group)
        .contains("cpu-profile-test-spinner-#", "a thread that ended");
  }
}
