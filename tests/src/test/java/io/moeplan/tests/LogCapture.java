package io.moeplan.tests;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;

/**
 * Keeps every log line of this JVM at INFO and above (message and stack trace, every logger, Kafka
 * broker and clients and Flink included) while open; the console keeps showing only what the test
 * configuration's root level lets through (other loggers reach both through the root).
 */
final class LogCapture implements AutoCloseable {

  private final List<String> lines = new ArrayList<>();
  private final Appender appender;
  private final Level rootLevel;
  private final List<Appender> consoles = new ArrayList<>();

  private LogCapture() {
    LoggerContext context = (LoggerContext) LogManager.getContext(false);
    Configuration configuration = context.getConfiguration();
    LoggerConfig root = configuration.getRootLogger();
    rootLevel = root.getLevel();
    appender =
        new AbstractAppender("capture", null, null, true, Property.EMPTY_ARRAY) {
          @Override
          public void append(LogEvent event) {
            StringBuilder line = new StringBuilder();
            line.append(event.getLoggerName())
                .append(' ')
                .append(event.getMessage().getFormattedMessage());
            if (event.getThrown() != null) {
              StringWriter trace = new StringWriter();
              event.getThrown().printStackTrace(new PrintWriter(trace));
              line.append('\n').append(trace);
            }
            synchronized (lines) {
              lines.add(line.toString());
            }
          }
        };
    appender.start();
    // the console stays at the root's level; the capture sees INFO and above from every logger
    for (Appender console : root.getAppenders().values()) {
      consoles.add(console);
      root.removeAppender(console.getName());
      root.addAppender(console, rootLevel, null);
    }
    root.setLevel(Level.INFO);
    root.addAppender(appender, Level.INFO, null);
    context.updateLoggers();
  }

  /** Starts capturing. */
  static LogCapture start() {
    return new LogCapture();
  }

  /** Every line captured so far. */
  List<String> lines() {
    synchronized (lines) {
      return List.copyOf(lines);
    }
  }

  @Override
  public void close() {
    LoggerContext context = (LoggerContext) LogManager.getContext(false);
    context.reconfigure();
    appender.stop();
  }
}
