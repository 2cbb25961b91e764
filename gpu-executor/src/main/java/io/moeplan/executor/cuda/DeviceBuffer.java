package io.moeplan.executor.cuda;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;

import jcuda.driver.CUdeviceptr;

/** A device allocation that grows on demand (contents are not kept when it grows). */
final class DeviceBuffer implements AutoCloseable {

  private CUdeviceptr ptr;
  private long capacity;

  /** Makes sure the buffer holds at least the given bytes and returns its pointer. */
  CUdeviceptr ensure(long bytes) {
    long want = Math.max(bytes, 16);
    if (ptr == null || capacity < want) {
      close();
      ptr = new CUdeviceptr();
      cuMemAlloc(ptr, want);
      capacity = want;
    }
    return ptr;
  }

  /** The current pointer; ensure must have been called. */
  CUdeviceptr ptr() {
    if (ptr == null) {
      throw new IllegalStateException("buffer not allocated");
    }
    return ptr;
  }

  /** Current capacity in bytes. */
  long capacity() {
    return capacity;
  }

  @Override
  public void close() {
    if (ptr != null) {
      cuMemFree(ptr);
      ptr = null;
      capacity = 0;
    }
  }
}
