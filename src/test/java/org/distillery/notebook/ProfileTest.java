package org.distillery.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ProfileTest {
    @Test
    void parsesBothProfilesInAnyCase() {
        assertEquals(Profile.QUICK, Profile.parse("quick"));
        assertEquals(Profile.FULL, Profile.parse(" FULL "));
        assertEquals("full", Profile.FULL.id());
        assertEquals(3, Profile.QUICK.pick(3, 300));
        assertEquals(300, Profile.FULL.pick(3, 300));
    }

    @Test
    void rejectsAnUnknownProfileNamingTheAcceptedOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Profile.parse("fast"));
        assertEquals("unknown profile 'fast': expected one of quick, full", e.getMessage());
        assertEquals("unknown profile 'null': expected one of quick, full",
                assertThrows(IllegalArgumentException.class, () -> Profile.parse(null)).getMessage());
    }
}
