package io.moeplan.launcher.local;

/** Where the simulated ranks' expert counts come from, one iteration at a time. */
interface Routing {

  /** Moves to the next iteration (the first call yields iteration 0) and returns its number. */
  long advance();

  /** Tokens rank {@code rank} routes to each expert of each layer this iteration. */
  long[][] counts(int rank);

  /** Says where the counts come from, for the console. */
  String describe();
}
