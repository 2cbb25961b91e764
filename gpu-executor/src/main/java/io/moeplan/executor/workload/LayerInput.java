package io.moeplan.executor.workload;

import io.moeplan.executor.backend.Routing;
import io.moeplan.executor.backend.TokenBatch;

/** The tokens entering one layer in one iteration and how the gate routed them. */
public record LayerInput(TokenBatch tokens, Routing routing) {}
