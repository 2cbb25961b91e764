package io.moeplan.executor.process;

import io.moeplan.schemas.ExpertLoad;
import io.moeplan.schemas.WorkerTimes;

/** Where an executor's records go: the Kafka topics, or a test's lists. */
public interface ExecutorSink {

  /** One rank's loads of one iteration. */
  void expertLoad(ExpertLoad load);

  /** One layer's measured per-worker times of one iteration. */
  void workerTimes(WorkerTimes times);

  /** Sends what is buffered. */
  void flush();
}
