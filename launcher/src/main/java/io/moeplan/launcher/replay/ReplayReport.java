package io.moeplan.launcher.replay;

import io.moeplan.planner.replay.PolicySummary;
import io.moeplan.planner.replay.ReplayEvaluator;
import io.moeplan.planner.replay.ReplayResult;
import io.moeplan.planner.replay.ReplayTimeline;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * A self-contained HTML report of a replay: the settings, the summary tables the text output
 * prints, and charts (PNG images embedded as data URIs, so the file opens offline with nothing
 * beside it) of the modelled time per iteration over the trace, the per-layer times and the
 * switches and migrated bytes of every policy.
 *
 * <p>Charts are drawn off screen by JFreeChart; the report sets {@code java.awt.headless=true}
 * unless the JVM was started with a value, so it works on servers without a display.
 */
public final class ReplayReport {
  private static final int WIDTH = 1000;
  private static final int HEIGHT = 420;

  /** Colours of the policies, in report order; further policies take JFreeChart's. */
  private static final Color[] COLOURS = {
    new Color(0x7f7f7f), // static
    new Color(0x1f77b4), // smartmoe
    new Color(0xff7f0e), // eplb
    new Color(0x2ca02c), // selector
    new Color(0x000000), // oracle
  };

  private ReplayReport() {}

  /**
   * Writes the report of {@code result} to {@code file}.
   *
   * @param title the page title (the trace's name, say)
   * @param settings the replay's settings in display order (name to value)
   */
  public static void write(
      Path file, String title, Map<String, String> settings, ReplayResult result)
      throws IOException {
    Files.writeString(file, html(title, settings, result), StandardCharsets.UTF_8);
  }

  /** The report as one HTML document. */
  public static String html(String title, Map<String, String> settings, ReplayResult result)
      throws IOException {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
    StringBuilder h = new StringBuilder(1 << 16);
    h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
        .append(escape("moeplan replay: " + title))
        .append("</title>\n<style>\n")
        .append("body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}\n")
        .append("table{border-collapse:collapse;margin:0.5em 0 1.5em}\n")
        .append("th,td{border:1px solid #ccc;padding:0.25em 0.6em}\n")
        .append("td.n{text-align:right;font-variant-numeric:tabular-nums}\n")
        .append("th{background:#f3f3f3}\nimg{max-width:100%;height:auto}\n")
        .append("</style>\n</head>\n<body>\n<h1>")
        .append(escape("moeplan replay: " + title))
        .append("</h1>\n");

    h.append("<h2>Settings</h2>\n<table>\n");
    for (Map.Entry<String, String> e : settings.entrySet()) {
      h.append("<tr><th>")
          .append(escape(e.getKey()))
          .append("</th><td>")
          .append(escape(e.getValue()))
          .append("</td></tr>\n");
    }
    h.append("</table>\n");

    List<ReplayResult.LayerResult> layers = result.layers();
    String layerRange =
        layers.isEmpty()
            ? "none"
            : layers.get(0).layer() + "-" + layers.get(layers.size() - 1).layer();
    h.append("<h2>Summary</h2>\n<p>")
        .append(result.windows())
        .append(" windows of ")
        .append(result.windowIterations())
        .append(" iterations, layers ")
        .append(layerRange)
        .append(". Overall (all layers; ms per iteration is the sum over layers):</p>\n");
    table(h, result.overall());

    h.append("<h2>Modelled time per iteration over the trace</h2>\n")
        .append("<p>Each point is a window: ms per iteration summed over the layers, the switch")
        .append(" costs paid in the window included.</p>\n<p>");
    image(
        h,
        timeChart(result.timeline()),
        "modelled ms per iteration by trace iteration",
        WIDTH,
        HEIGHT);

    h.append("</p>\n<h2>Per layer</h2>\n<p>");
    image(h, layerChart(result), "modelled ms per iteration by layer and policy", WIDTH, HEIGHT);

    h.append("</p>\n<h2>Switches and migrated bytes</h2>\n<p>");
    image(
        h,
        policyChart(result.overall(), "switches", "switches (all layers)", p -> p.switches()),
        "switches by policy",
        WIDTH / 2 - 4,
        HEIGHT * 3 / 4);
    h.append(' ');
    image(
        h,
        policyChart(
            result.overall(),
            "migrated GB",
            "migrated GB (all layers)",
            p -> p.migratedBytes() / 1e9),
        "migrated GB by policy",
        WIDTH / 2 - 4,
        HEIGHT * 3 / 4);
    h.append("</p>\n");

    h.append("<h2>Per-layer tables</h2>\n");
    for (ReplayResult.LayerResult layer : layers) {
      h.append("<h3>layer ").append(layer.layer()).append("</h3>\n");
      table(h, layer.policies());
    }
    h.append("</body>\n</html>\n");
    return h.toString();
  }

  /** The oracle's modelled ms per iteration among {@code rows}, or NaN when it is not there. */
  public static double oracleMs(List<PolicySummary> rows) {
    for (PolicySummary p : rows) {
      if (p.policy().equals(ReplayEvaluator.ORACLE)) {
        return p.modelledMsPerIteration();
      }
    }
    return Double.NaN;
  }

  /** A policy's distance to the oracle, e.g. {@code +0.25%}; {@code -} without an oracle. */
  public static String vsOracle(PolicySummary p, double oracleMs) {
    return Double.isNaN(oracleMs)
        ? "-"
        : String.format(Locale.ROOT, "%+.2f%%", 100 * (p.modelledMsPerIteration() / oracleMs - 1));
  }

  /** The columns of the text output's tables, with the same figures. */
  private static void table(StringBuilder h, List<PolicySummary> rows) {
    double oracle = oracleMs(rows);
    h.append("<table>\n<tr><th>policy</th><th>ms/iter</th><th>vs oracle</th><th>switches</th>")
        .append("<th>migrated GB</th><th>switch ms/it</th><th>decision us50</th></tr>\n");
    for (PolicySummary p : rows) {
      String vsOracle = vsOracle(p, oracle);
      h.append("<tr><td>")
          .append(escape(p.policy()))
          .append("</td>")
          .append(cell(String.format(Locale.ROOT, "%.3f", p.modelledMsPerIteration())))
          .append(cell(vsOracle))
          .append(cell(Long.toString(p.switches())))
          .append(cell(String.format(Locale.ROOT, "%.2f", p.migratedBytes() / 1e9)))
          .append(cell(String.format(Locale.ROOT, "%.4f", p.switchMsPerIteration())))
          .append(cell(String.format(Locale.ROOT, "%.1f", p.decisionMicrosP50())))
          .append("</tr>\n");
    }
    h.append("</table>\n");
  }

  private static String cell(String value) {
    return "<td class=\"n\">" + escape(value) + "</td>";
  }

  private static JFreeChart timeChart(ReplayTimeline timeline) {
    XYSeriesCollection data = new XYSeriesCollection();
    for (String policy : timeline.policies()) {
      XYSeries series = new XYSeries(policy, false, true);
      double[] ms = timeline.msPerIteration(policy);
      for (int w = 0; w < ms.length; w++) {
        series.add(timeline.iteration(w), ms[w]);
      }
      data.addSeries(series);
    }
    JFreeChart chart =
        ChartFactory.createXYLineChart(
            null,
            "trace iteration",
            "modelled ms per iteration",
            data,
            PlotOrientation.VERTICAL,
            true,
            false,
            false);
    XYPlot plot = chart.getXYPlot();
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
    for (int s = 0; s < data.getSeriesCount(); s++) {
      int series = s;
      renderer.setSeriesStroke(series, new BasicStroke(1.4f));
      colour(series, c -> renderer.setSeriesPaint(series, c));
    }
    plot.setRenderer(renderer);
    ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
    style(chart);
    return chart;
  }

  private static JFreeChart layerChart(ReplayResult result) {
    DefaultCategoryDataset data = new DefaultCategoryDataset();
    for (ReplayResult.LayerResult layer : result.layers()) {
      for (PolicySummary p : layer.policies()) {
        data.addValue(p.modelledMsPerIteration(), p.policy(), "layer " + layer.layer());
      }
    }
    JFreeChart chart =
        ChartFactory.createBarChart(
            null,
            "layer",
            "modelled ms per iteration",
            data,
            PlotOrientation.VERTICAL,
            true,
            false,
            false);
    CategoryPlot plot = chart.getCategoryPlot();
    if (result.layers().size() > 12) {
      plot.getDomainAxis().setCategoryLabelPositions(CategoryLabelPositions.UP_45);
    }
    barColours(plot, data);
    style(chart);
    return chart;
  }

  private static JFreeChart policyChart(
      List<PolicySummary> rows,
      String valueLabel,
      String series,
      ToDoubleFunction<PolicySummary> value) {
    DefaultCategoryDataset data = new DefaultCategoryDataset();
    for (PolicySummary p : rows) {
      data.addValue(value.applyAsDouble(p), p.policy(), series);
    }
    JFreeChart chart =
        ChartFactory.createBarChart(
            null, null, valueLabel, data, PlotOrientation.VERTICAL, true, false, false);
    barColours(chart.getCategoryPlot(), data);
    style(chart);
    return chart;
  }

  private static void barColours(CategoryPlot plot, DefaultCategoryDataset data) {
    BarRenderer renderer = (BarRenderer) plot.getRenderer();
    renderer.setBarPainter(new StandardBarPainter());
    renderer.setShadowVisible(false);
    renderer.setItemMargin(0.02);
    for (int r = 0; r < data.getRowCount(); r++) {
      int row = r;
      colour(r, c -> renderer.setSeriesPaint(row, c));
    }
  }

  private static void colour(int series, Consumer<Color> set) {
    if (series < COLOURS.length) {
      set.accept(COLOURS[series]);
    }
  }

  private static void style(JFreeChart chart) {
    chart.setBackgroundPaint(Color.WHITE);
    chart.getPlot().setBackgroundPaint(Color.WHITE);
    if (chart.getPlot() instanceof XYPlot xy) {
      xy.setDomainGridlinePaint(Color.LIGHT_GRAY);
      xy.setRangeGridlinePaint(Color.LIGHT_GRAY);
    } else if (chart.getPlot() instanceof CategoryPlot cat) {
      cat.setRangeGridlinePaint(Color.LIGHT_GRAY);
    }
  }

  /** Appends the chart as an {@code img} holding its PNG as a data URI. */
  private static void image(StringBuilder h, JFreeChart chart, String alt, int width, int height)
      throws IOException {
    BufferedImage image = chart.createBufferedImage(width, height);
    byte[] png = ChartUtils.encodeAsPNG(image);
    h.append("<img alt=\"")
        .append(escape(alt))
        .append("\" width=\"")
        .append(width)
        .append("\" height=\"")
        .append(height)
        .append("\" src=\"data:image/png;base64,")
        .append(Base64.getEncoder().encodeToString(png))
        .append("\">");
  }

  /** Escapes text for HTML element content and attribute values. */
  static String escape(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }
}
