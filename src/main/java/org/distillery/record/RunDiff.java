package org.distillery.record;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * What differs between two runs' {@code config.json} and {@code provenance.json}: one row per leaf (dotted key, e.g.
 * {@code options.bits}, {@code libraries.nd4j-api}) whose value differs or that only one run has, with columns
 * {@code file} (config or provenance), {@code key}, {@code a} and {@code b} (missing: empty).
 */
public final class RunDiff {
    private RunDiff() {}

    /** The differences of runs {@code a} and {@code b}. */
    public static Table of(Path a, Path b) {
        RunRecord ra = RunRecord.read(a), rb = RunRecord.read(b);
        StringColumn file = StringColumn.create("file"), key = StringColumn.create("key"),
                va = StringColumn.create("a"), vb = StringColumn.create("b");
        add("config", ra.config(), rb.config(), file, key, va, vb);
        add("provenance", ra.provenance(), rb.provenance(), file, key, va, vb);
        return Table.create("diff " + ra.dir().getFileName() + " / " + rb.dir().getFileName(), file, key, va, vb);
    }

    private static void add(String name, JsonNode a, JsonNode b, StringColumn file, StringColumn key, StringColumn va,
                            StringColumn vb) {
        Map<String, JsonNode> la = JsonLeaves.of(a, ""), lb = JsonLeaves.of(b, "");
        Set<String> keys = new LinkedHashSet<>(la.keySet());
        keys.addAll(lb.keySet());
        for (String k : keys) {
            JsonNode x = la.get(k), y = lb.get(k);
            if (Objects.equals(x, y)) continue;
            file.append(name);
            key.append(k);
            va.append(x == null ? "" : JsonLeaves.text(x));
            vb.append(y == null ? "" : JsonLeaves.text(y));
        }
    }
}
