package org.distillery.model;

import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/** A model's parameters as a table: one row per tensor (name, shape, count) and a total row. */
public final class ParameterTable {
    private ParameterTable() {}

    /** Rows in the map's order, then "total". */
    public static Table of(Map<String, FloatTensor> parameters) {
        StringColumn name = StringColumn.create("tensor");
        StringColumn shape = StringColumn.create("shape");
        LongColumn count = LongColumn.create("parameters");
        long total = 0;
        for (Map.Entry<String, FloatTensor> e : parameters.entrySet()) {
            name.append(e.getKey());
            shape.append(e.getValue().shapeString());
            count.append(e.getValue().size());
            total += e.getValue().size();
        }
        name.append("total");
        shape.append("");
        count.append(total);
        return Table.create("Parameters").addColumns(name, shape, count);
    }
}
