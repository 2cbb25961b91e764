package io.moeplan.executor.cuda;

import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuInit;

import java.util.Optional;
import jcuda.driver.JCudaDriver;

/** Whether a CUDA device is usable here: natives load, cuInit succeeds, at least one device. */
public final class CudaAvailability {

  private static final Optional<String> UNAVAILABLE = probe();

  private CudaAvailability() {}

  /** True when the CUDA backend can run on this machine. */
  public static boolean available() {
    return UNAVAILABLE.isEmpty();
  }

  /** Why CUDA is unusable, or "available". */
  public static String reason() {
    return UNAVAILABLE.orElse("available");
  }

  private static Optional<String> probe() {
    try {
      JCudaDriver.setExceptionsEnabled(true);
      cuInit(0);
      int[] count = new int[1];
      cuDeviceGetCount(count);
      return count[0] > 0 ? Optional.empty() : Optional.of("no CUDA device");
    } catch (LinkageError | RuntimeException e) {
      // natives missing (no libcuda), driver too old, or cuInit failing: all mean "no device"
      return Optional.of("CUDA unavailable: " + summary(e));
    }
  }

  /** The first line of the error and, where JCuda nests it, the missing shared object. */
  private static String summary(Throwable e) {
    String message = String.valueOf(e.getMessage());
    String first = message.lines().findFirst().orElse("");
    String missing =
        message
            .lines()
            .filter(l -> l.contains("cannot open shared object file"))
            .reduce((a, b) -> b)
            .map(l -> " (" + l.trim() + ")")
            .orElse("");
    return e.getClass().getSimpleName() + ": " + first + missing;
  }
}
