package org.distillery.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

class JitSettingsTest {

    @Test
    void warnsBelowTheLimitTheKernelsNeedWithTheValueAndTheOption() {
        String w = JitSettings.trapLimitWarning(100).orElseThrow();
        assertTrue(w.contains("-XX:PerMethodTrapLimit=100;"), w);
        assertTrue(w.contains("need -XX:PerMethodTrapLimit=100000"), w);
        assertTrue(JitSettings.trapLimitWarning(JitSettings.TRAP_LIMIT - 1).isPresent());
        assertTrue(JitSettings.trapLimitWarning(JitSettings.TRAP_LIMIT).isEmpty());
        assertTrue(JitSettings.trapLimitWarning(Long.MAX_VALUE).isEmpty());
    }

    @Test
    void theTestJvmRunsWithTheLimitThePomPasses() {
        assertEquals(JitSettings.TRAP_LIMIT, JitSettings.perMethodTrapLimit().orElseThrow());
    }

    @Test
    void theLaunchersPassTheOption() throws IOException {
        String option = JitSettings.TRAP_LIMIT_OPTION;
        assertEquals("-XX:PerMethodTrapLimit=100000", option);
        for (String file : new String[] {"lab", "pom.xml", "environment/make_kernelspec.py"}) {
            String text = Files.readString(ProjectPaths.root().resolve(file));
            assertTrue(text.contains(option), file + " does not pass " + option);
        }
    }
}
