package io.moeplan.executor.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CudaAvailabilityTest {

  @Test
  void probingNeverThrowsAndExplainsAMissingDevice() {
    boolean available = CudaAvailability.available();

    if (available) {
      assertThat(CudaAvailability.reason()).isEqualTo("available");
    } else {
      assertThat(CudaAvailability.reason()).containsAnyOf("CUDA unavailable", "no CUDA device");
    }
  }
}
