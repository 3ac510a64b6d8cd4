package org.distillery.model;

import org.distillery.quant.ActivationQuantizer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link GptAllocationTest}'s bound with W8A8's per-token activation quantizer as the linear-input hook: it
 * quantizes the input buffers in place and allocates nothing. A class of its own, so that its JVM (one per
 * allocation test class) has not compiled the forward without the hook first, and the other's has not with it.
 */
@Tag("allocation") // measured in a JVM of its own: see the surefire executions in pom.xml
class GptHookAllocationTest {

    @Test
    void aPerTokenActivationQuantizerAllocatesNothingMore() {
        GptAllocationTest.assertOnlyGemmCallsAllocate(ActivationQuantizer.perToken(8, GptTestSupport.L));
    }
}
