package org.distillery.report;

import static org.distillery.notebook.Notebook.escape;

import java.util.Map;

/**
 * Writes {@code reports/index.html}: one row per notebook with links to its HTML export, the executed
 * notebook and every CSV and PNG file it saved (the first PNG shown as a thumbnail), and the run's
 * provenance. A small script records how many images loaded in {@code body[data-images-loaded]}, which
 * the headless-browser check reads.
 */
final class ReportIndex {
    private ReportIndex() {}

    static String html(ReportManifest manifest) {
        StringBuilder sb = new StringBuilder();
        sb.append("""
                <!DOCTYPE html>
                <html lang="en"><head><meta charset="utf-8">
                <title>Distillery reports</title>
                <style>
                body { font-family: sans-serif; margin: 2em; color: #222; }
                table { border-collapse: collapse; margin: 1em 0; }
                th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
                th { background: #f3f3f3; }
                img.thumb { max-width: 360px; border: 1px solid #ddd; }
                code { font-size: 90%; }
                </style></head>
                <body>
                <h1>Distillery reports</h1>
                """);
        sb.append("<p>Each notebook was executed headless from top to bottom in the <code>")
                .append(escape(manifest.profile())).append("</code> profile (")
                .append(String.format("%.1f", manifest.totalSeconds()))
                .append(" s for this run");
        if (manifest.notebooks().stream().anyMatch(e -> !e.profile().equals(manifest.profile())
                || !String.valueOf(e.provenance().get("date")).equals(String.valueOf(manifest.provenance().get("date"))))) {
            sb.append("; the notebooks' own durations add up to ").append(String.format("%.1f", manifest.notebookSeconds()))
                    .append(" s, some of them from earlier runs");
        }
        sb.append("); its page shows every output. <code>./lab reproduce</code> makes the full-profile reports.</p>\n");
        sb.append("<h2>Summary</h2>\n<table id=\"summary\"><thead><tr><th>notebook</th><th>headline result</th>"
                + "<th>profile</th></tr></thead><tbody>\n");
        for (ReportManifest.Entry e : manifest.notebooks()) {
            sb.append("<tr><td><a href=\"").append(escape(e.name() + "/" + e.name() + ".html")).append("\">")
                    .append(escape(e.name())).append("</a></td><td>")
                    .append(e.headline() == null ? "<em>no headline recorded</em>" : escape(e.headline()))
                    .append("</td><td>").append(escape(e.profile())).append("</td></tr>\n");
        }
        sb.append("</tbody></table>\n");
        sb.append("<h2>Notebooks</h2>\n<table id=\"notebooks\"><thead><tr><th>notebook</th><th>chart</th>"
                + "<th>files</th><th>profile</th><th>duration</th><th>commit</th><th>machine</th><th>date</th></tr></thead><tbody>\n");
        for (ReportManifest.Entry e : manifest.notebooks()) {
            String dir = e.name() + "/";
            sb.append("<tr><td><a href=\"").append(escape(dir + e.name() + ".html")).append("\">")
                    .append(escape(e.name())).append("</a><br><small><a href=\"")
                    .append(escape(dir + e.name() + ".ipynb")).append("\">executed .ipynb</a></small></td><td>");
            String firstPng = e.files().stream().filter(f -> f.endsWith(".png")).findFirst().orElse(null);
            if (firstPng != null) {
                sb.append("<a href=\"").append(escape(dir + firstPng)).append("\"><img class=\"thumb\" src=\"")
                        .append(escape(dir + firstPng)).append("\" alt=\"").append(escape(firstPng)).append("\"></a>");
            }
            sb.append("</td><td>");
            for (String f : e.files()) {
                sb.append("<a href=\"").append(escape(dir + f)).append("\">").append(escape(f)).append("</a><br>");
            }
            Map<String, Object> p = e.provenance();
            String commit = String.valueOf(p.get("git_commit"));
            sb.append("</td><td>").append(escape(e.profile())).append("</td><td>")
                    .append(String.format("%.1f s", e.seconds())).append("</td><td><code>")
                    .append(escape(commit.length() > 12 ? commit.substring(0, 12) : commit))
                    .append(Boolean.TRUE.equals(p.get("git_dirty")) ? " (dirty)" : "")
                    .append("</code></td><td>").append(escape(machine(p)))
                    .append("</td><td>").append(escape(String.valueOf(p.get("date"))))
                    .append("</td></tr>\n");
        }
        sb.append("</tbody></table>\n<h2>Provenance of this run</h2>\n<table id=\"provenance\"><tbody>\n");
        for (Map.Entry<String, Object> kv : manifest.provenance().entrySet()) {
            sb.append("<tr><th>").append(escape(kv.getKey())).append("</th><td>")
                    .append(escape(String.valueOf(kv.getValue()))).append("</td></tr>\n");
        }
        sb.append("""
                </tbody></table>
                <script>
                window.addEventListener('load', function () {
                  var ok = Array.prototype.filter.call(document.images,
                      function (i) { return i.complete && i.naturalWidth > 0; }).length;
                  document.body.setAttribute('data-images-loaded', String(ok));
                });
                </script>
                </body></html>
                """);
        return sb.toString();
    }

    /**
     * The processor and JDK a notebook ran on, "AMD EPYC, JDK 17.0.15 (Debian)": a report may hold notebooks run on
     * different machines (only some re-run), and their timings are only comparable on the same one.
     */
    static String machine(Map<String, Object> provenance) {
        return provenance.get("cpu_model") + ", JDK " + provenance.get("jdk");
    }
}
