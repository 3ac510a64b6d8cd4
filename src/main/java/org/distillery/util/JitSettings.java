package org.distillery.util;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The one HotSpot setting the vector kernels need: {@code -XX:PerMethodTrapLimit}, raised from its default of 100 to
 * {@value #TRAP_LIMIT}.
 *
 * <p>Why (README, "Session 16"): C2 counts the uncommon traps of each kind recorded in the profiles of a method and of
 * every method it inlines. The Vector API's shared methods ({@code FloatVector.add}, {@code convertShape}, ...) are
 * inlined into every kernel, so their {@code class_check} traps add up over all the kernels a JVM runs: in notebook
 * 20's kernel JVM, C2 counted 102 to 136 for {@code Int8A8MatVec.rows4}. From the limit on, C2 no longer speculates
 * on a vector's class with a trap as the way out; it keeps a real virtual call as the other branch. The vector that
 * branch returns is an object, so C2 can no longer keep the vectors in registers: they are allocated, 170 KB per call
 * of a [192, 64] layer, 8x slower. Which compilation crosses the limit depends on what ran before, which is why
 * this looked like an effect of the order of first executions (sessions 12-15). With the limit raised, three runs of
 * the notebook's speed cells and {@code PackedBench} in its default order allocated nothing.
 *
 * <p>The launchers set it: {@code ./lab}, the notebook kernel ({@code environment/make_kernelspec.py}), the tests
 * ({@code pom.xml}) and the sweep's child JVMs ({@code Sweep.javaCommand}). A JVM started otherwise gets a warning on
 * standard error, once, from {@link #warnIfTrapLimitLow()}.
 */
public final class JitSettings {
    /** The value the launchers pass: high enough that no kernel's compilation reaches it. */
    public static final long TRAP_LIMIT = 100_000;
    /** The option as the launchers pass it. */
    public static final String TRAP_LIMIT_OPTION = "-XX:PerMethodTrapLimit=" + TRAP_LIMIT;

    private static volatile boolean checked;

    private JitSettings() {
    }

    /** This JVM's {@code PerMethodTrapLimit}, or empty where it cannot be read (not HotSpot). */
    public static OptionalLong perMethodTrapLimit() {
        try {
            HotSpotDiagnosticMXBean bean = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            return bean == null ? OptionalLong.empty()
                    : OptionalLong.of(Long.parseLong(bean.getVMOption("PerMethodTrapLimit").getValue()));
        } catch (RuntimeException e) {   // no such option or bean on this VM
            return OptionalLong.empty();
        }
    }

    /** The warning for a JVM whose limit is {@code limit}, or empty when it is at least {@link #TRAP_LIMIT}. */
    public static Optional<String> trapLimitWarning(long limit) {
        if (limit >= TRAP_LIMIT) return Optional.empty();
        return Optional.of("distillery: this JVM runs with -XX:PerMethodTrapLimit=" + limit + "; the vector kernels"
                + " need " + TRAP_LIMIT_OPTION + " (./lab and the notebook kernel pass it). Without it C2 may compile"
                + " them into code that allocates every vector, several times slower, depending on what ran before.");
    }

    /** Prints {@link #trapLimitWarning} to standard error, the first time it is called in a JVM only. */
    public static void warnIfTrapLimitLow() {
        if (checked) return;
        checked = true;
        OptionalLong limit = perMethodTrapLimit();
        if (limit.isPresent()) trapLimitWarning(limit.getAsLong()).ifPresent(System.err::println);
    }
}
