package io.moeplan.launcher.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WorkloadChecksumTest {

  private static long[][][] counts(long value) {
    return new long[][][] {{{value, 2, 3}, {4, 5, 6}}, {{7, 8, 9}, {10, 11, 12}}};
  }

  @Test
  void theSameIterationsGiveTheSameChecksum() {
    WorkloadChecksum a = new WorkloadChecksum();
    WorkloadChecksum b = new WorkloadChecksum();
    for (long i = 0; i < 3; i++) {
      a.add(i, counts(1));
      b.add(i, counts(1));
    }
    assertThat(a.value()).isEqualTo(b.value());
    assertThat(a.hex()).hasSize(16).isEqualTo(b.hex());
    assertThat(a.iterations()).isEqualTo(3);
  }

  @Test
  void anyCountIterationOrOrderChangesIt() {
    WorkloadChecksum reference = new WorkloadChecksum();
    reference.add(0, counts(1));
    reference.add(1, counts(1));

    WorkloadChecksum otherCount = new WorkloadChecksum();
    otherCount.add(0, counts(1));
    otherCount.add(1, counts(2));
    WorkloadChecksum otherIteration = new WorkloadChecksum();
    otherIteration.add(0, counts(1));
    otherIteration.add(2, counts(1));
    WorkloadChecksum fewer = new WorkloadChecksum();
    fewer.add(0, counts(1));

    assertThat(otherCount.value()).isNotEqualTo(reference.value());
    assertThat(otherIteration.value()).isNotEqualTo(reference.value());
    assertThat(fewer.value()).isNotEqualTo(reference.value());
  }
}
