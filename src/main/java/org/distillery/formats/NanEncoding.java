package org.distillery.formats;

/** Which codes of a {@link FloatFormat} are NaN. */
public enum NanEncoding {
    /** IEEE 754: all-ones exponent with a non-zero mantissa is NaN (all-ones exponent, zero mantissa is infinity). */
    IEEE,
    /**
     * Only the code with all-ones exponent and all-ones mantissa ({@code S.1111.111} in FP8 E4M3, the OCP
     * "FN" formats) is NaN; the rest of the all-ones exponent holds ordinary finite values. No infinities.
     */
    ALL_ONES,
    /** No NaN code at all: every code is a finite number (e.g. FP4 E2M1). No infinities. */
    NONE
}
