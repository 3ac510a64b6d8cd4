// A measurement for a decision, not part of the build: what an integer dot product instruction (AVX-512 VNNI,
// vpdpbusd, which the Vector API does not expose) would give the packed matrix-vector products of issue 5, on a
// machine that has it. One core, batch 1, y = W x with W [out, in]:
//   f32   float32 W, 8 rows per pass, FMA                                              (the baseline, as FloatMatVec)
//   w8a8  int8 codes (stored + 128 as unsigned bytes), g128 float scales, x quantized to int8 per group of 128,
//         vpdpbusd; the +128 is removed with 128 * sum(qx of the group), once per x
//   w4a8  int4 codes (two per byte: low nibbles columns 0-63 of a group, high nibbles 64-127), g128 scales,
//         x int8 per group, vpdpbusd on (b & 15) and (b >> 4); the symmetric zero 8 removed with 8 * sum(qx)
// Each is checked against a double-precision product of the same dequantized weights and quantized x.
// In cache: one W, repeated. Out of cache: distinct copies cycled through about 1 GiB, each variant's rounds
// alternating with float32 rounds (the machine's memory speed drifts), ratio = median of per-round ratios.
// It also measures one core's read bandwidth with 1-8 sequential streams. Options: -DR=8 (rows per pass of the
// integer kernels, default 4), -DFR=4 (of the float32 one, default 8), -DMISALIGN=4 (float32 rows start 16 bytes
// past a cache line, as the data of a Java float[] does, so every 64-byte load spans two lines).
// Build and run:  gcc -O3 -march=native -o /tmp/vnni src/bench/spikes/vnni/vnni_matvec.c -lm && /tmp/vnni
// Results: src/bench/results/2026-11-23/vnni-spike-zen4.txt; what they mean: README, "A second machine".
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define G 128
#ifndef R
#define R 4 // rows per pass of the integer kernels (-DR=8: eight)
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float hsum(__m512 v) { return _mm512_reduce_add_ps(v); }

// ------------------------------------------------------------------ float32: 8 rows share each x load
#ifndef FR
#define FR 8 // rows per pass of the float32 kernel (FloatMatVec: 4)
#endif
static void f32_matvec(const float *w, const float *x, float *y, int out, int in) {
    for (int o = 0; o < out; o += FR) {
        __m512 a[FR];
        for (int r = 0; r < FR; r++) a[r] = _mm512_setzero_ps();
        for (int k = 0; k < in; k += 16) {
            __m512 xv = _mm512_loadu_ps(x + k);
            for (int r = 0; r < FR; r++) a[r] = _mm512_fmadd_ps(_mm512_loadu_ps(w + (size_t)(o + r) * in + k), xv, a[r]);
        }
        for (int r = 0; r < FR; r++) y[o + r] = hsum(a[r]);
    }
}

// ------------------------------------------------------------------ x quantized to int8 per group of 128
typedef struct { int8_t *q; float *s; int32_t *sum; } QX;

static void quantize_x(const float *x, int in, QX *qx) {
    for (int g = 0; g < in / G; g++) {
        float m = 0;
        for (int k = 0; k < G; k++) m = fmaxf(m, fabsf(x[g * G + k]));
        float s = m / 127.0f, inv = s == 0 ? 0 : 1 / s;
        int32_t sum = 0;
        for (int k = 0; k < G; k++) {
            int q = (int)lrintf(x[g * G + k] * inv);
            qx->q[g * G + k] = (int8_t)q;
            sum += q;
        }
        qx->s[g] = s;
        qx->sum[g] = sum;
    }
}

// ------------------------------------------------------------------ W8A8: 4 rows share each x load
static void w8a8_matvec(const uint8_t *w, const float *scale, const QX *qx, float *y, int out, int in) {
    int groups = in / G;
    for (int o = 0; o < out; o += R) {
        __m512 acc[R];
        for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
        for (int g = 0; g < groups; g++) {
            __m512i x0 = _mm512_loadu_si512(qx->q + g * G), x1 = _mm512_loadu_si512(qx->q + g * G + 64);
            __m512i corr = _mm512_set1_epi32(-128 * qx->sum[g]);    // spread over 16 lanes below
            for (int r = 0; r < R; r++) {
                const uint8_t *p = w + (size_t)(o + r) * in + g * G;
                __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(p), x0);
                s = _mm512_dpbusd_epi32(s, _mm512_loadu_si512(p + 64), x1);
                // the correction is added to lane 0 only: sum over lanes of s, minus 128 sum(qx)
                s = _mm512_mask_add_epi32(s, 1, s, corr);
                acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps(scale[(size_t)(o + r) * groups + g] * qx->s[g]), acc[r]);
            }
        }
        for (int r = 0; r < R; r++) y[o + r] = hsum(acc[r]);
    }
}

// ------------------------------------------------------------------ W4A8: 4 rows share each x load
static void w4a8_matvec(const uint8_t *w, const float *scale, const QX *qx, float *y, int out, int in) {
    int groups = in / G;
    __m512i lo = _mm512_set1_epi8(15);
    for (int o = 0; o < out; o += R) {
        __m512 acc[R];
        for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
        for (int g = 0; g < groups; g++) {
            __m512i x0 = _mm512_loadu_si512(qx->q + g * G), x1 = _mm512_loadu_si512(qx->q + g * G + 64);
            __m512i corr = _mm512_set1_epi32(-8 * qx->sum[g]);
            for (int r = 0; r < R; r++) {
                __m512i b = _mm512_loadu_si512(w + ((size_t)(o + r) * in + g * G) / 2);
                __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(b, lo), x0);
                s = _mm512_dpbusd_epi32(s, _mm512_and_si512(_mm512_srli_epi16(b, 4), lo), x1);
                s = _mm512_mask_add_epi32(s, 1, s, corr);
                acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps(scale[(size_t)(o + r) * groups + g] * qx->s[g]), acc[r]);
            }
        }
        for (int r = 0; r < R; r++) y[o + r] = hsum(acc[r]);
    }
}

// ------------------------------------------------------------------ data
static float frand(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((*s >> 40) / (double)(1 << 24)) * 2 - 1;
}

typedef struct { float *f32; uint8_t *c8, *c4; float *s8, *s4; } W;

static void make(W *m, int out, int in, uint64_t seed) {
    size_t n = (size_t)out * in;
    int groups = in / G;
#ifndef MISALIGN
#define MISALIGN 0 // floats: 4 puts every 64-byte load across two cache lines, as a Java float[] (16-byte header)
#endif
    m->f32 = (float *)aligned_alloc(64, n * 4 + 64) + MISALIGN;
    m->c8 = aligned_alloc(64, n);
    m->c4 = aligned_alloc(64, n / 2);
    m->s8 = malloc((size_t)out * groups * 4);
    m->s4 = malloc((size_t)out * groups * 4);
    for (size_t i = 0; i < n; i++) m->f32[i] = 0.05f * frand(&seed);
    for (int o = 0; o < out; o++) {
        for (int g = 0; g < groups; g++) {
            const float *w = m->f32 + (size_t)o * in + g * G;
            float mx = 0;
            for (int k = 0; k < G; k++) mx = fmaxf(mx, fabsf(w[k]));
            float s8 = mx / 127, s4 = mx / 7;
            m->s8[(size_t)o * groups + g] = s8;
            m->s4[(size_t)o * groups + g] = s4;
            uint8_t *c4 = m->c4 + ((size_t)o * in + g * G) / 2;
            for (int k = 0; k < G; k++) {
                m->c8[(size_t)o * in + g * G + k] = (uint8_t)(lrintf(w[k] / s8) + 128);
                int q4 = (int)fminf(7, fmaxf(-8, lrintf(w[k] / s4))) + 8;
                if (k < 64) c4[k] = (uint8_t)q4; else c4[k - 64] |= (uint8_t)(q4 << 4);
            }
        }
    }
}

static double check(const W *m, const QX *qx, const float *y8, const float *y4, int out, int in) {
    int groups = in / G;
    double worst = 0;
    for (int o = 0; o < out; o++) {
        double r8 = 0, r4 = 0, norm = 0;
        for (int k = 0; k < in; k++) {
            int g = k / G;
            double xq = (double)qx->q[k] * qx->s[g];
            r8 += ((int)m->c8[(size_t)o * in + k] - 128) * (double)m->s8[(size_t)o * groups + g] * xq;
            uint8_t b = m->c4[((size_t)o * in + g * G) / 2 + (k % G) % 64];
            int c = (k % G) < 64 ? (b & 15) : (b >> 4);
            r4 += (c - 8) * (double)m->s4[(size_t)o * groups + g] * xq;
            norm += fabs(xq) * 0.05;
        }
        worst = fmax(worst, fmax(fabs(r8 - y8[o]), fabs(r4 - y4[o])) / norm);
    }
    return worst;
}

static int cmpd(const void *a, const void *b) { double d = *(const double *)a - *(const double *)b; return (d > 0) - (d < 0); }

static double median(double *v, int n) { qsort(v, n, sizeof(double), cmpd); return v[n / 2]; }

enum { F32, W8, W4 };

static void run(int kind, W *ms, int copy, const float *x, const QX *qx, float *y, int out, int in) {
    W *m = ms + copy;
    if (kind == F32) f32_matvec(m->f32, x, y, out, in);
    else if (kind == W8) w8a8_matvec(m->c8, m->s8, qx, y, out, in);
    else w4a8_matvec(m->c4, m->s4, qx, y, out, in);
}

// time per product of `kind`, cycling `copies` copies, one round; x quantized inside for the integer kinds
static double round_time(int kind, W *ms, int copies, const float *x, QX *qx, float *y, int out, int in, int reps) {
    double t0 = now();
    for (int r = 0; r < reps; r++) {
        for (int c = 0; c < copies; c++) {
            if (kind != F32) quantize_x(x, in, qx);
            run(kind, ms, c, x, qx, y, out, in);
        }
    }
    return (now() - t0) / ((double)reps * copies);
}

// one core's read bandwidth over 1 GiB: `streams` sequential streams read side by side (a float sum per stream)
static double bandwidth(const float *a, size_t n, int streams) {
    size_t len = n / streams / 64 * 64;
    double t[5];
    float sink = 0;
    for (int p = 0; p < 5; p++) {
        double t0 = now();
        __m512 s[8];
        for (int j = 0; j < streams; j++) s[j] = _mm512_setzero_ps();
        for (size_t i = 0; i < len; i += 16) {
            for (int j = 0; j < streams; j++) s[j] = _mm512_add_ps(s[j], _mm512_load_ps(a + j * len + i));
        }
        for (int j = 0; j < streams; j++) sink += hsum(s[j]);
        t[p] = now() - t0;
    }
    return (sink == 42 ? 1 : 0) + 4.0 * len * streams / median(t, 5) / 1e9;
}

int main(void) {
    {
        size_t n = (1UL << 30) / 4;
        float *a = aligned_alloc(64, n * 4);
        for (size_t i = 0; i < n; i++) a[i] = 1;
        printf("read bandwidth, one core, 1 GiB:");
        for (int st = 1; st <= 8; st *= 2) printf("  %d stream%s %.1f GB/s", st, st > 1 ? "s" : "", bandwidth(a, n, st));
        printf("\n");
        free(a);
    }
    int shapes[][2] = {{768, 3072}, {3072, 768}};
    const char *names[] = {"f32", "w8a8 vnni", "w4a8 vnni"};
    for (int sh = 0; sh < 2; sh++) {
        int out = shapes[sh][0], in = shapes[sh][1];
        size_t n = (size_t)out * in;
        int copies = (int)((1UL << 30) / (n * 4)) + 1;        // float32 copies in 1 GiB
        W *ms = malloc(sizeof(W) * copies);
        for (int c = 0; c < copies; c++) make(ms + c, out, in, 7 + c);
        float *x = malloc(in * 4), *y = malloc(out * 4), *y8 = malloc(out * 4), *y4 = malloc(out * 4);
        uint64_t seed = 99;
        for (int k = 0; k < in; k++) x[k] = frand(&seed);
        QX qx = {malloc(in), malloc(in / G * 4), malloc(in / G * 4)};
        quantize_x(x, in, &qx);
        w8a8_matvec(ms[0].c8, ms[0].s8, &qx, y8, out, in);
        w4a8_matvec(ms[0].c4, ms[0].s4, &qx, y4, out, in);
        printf("W [%d, %d]: largest |error| / sum |w x| against double precision: %.2g\n", out, in, check(ms, &qx, y8, y4, out, in));
        // in cache: copy 0 only; 9 rounds of enough repetitions for ~20 ms
        double tin[3];
        for (int kind = 0; kind < 3; kind++) {
            double t[9];
            for (int r = 0; r < 9; r++) t[r] = round_time(kind, ms, 1, x, &qx, y, out, in, 200);
            tin[kind] = median(t, 9);
        }
        printf("  in cache (one W, repeated):       f32 %7.1f us | w8a8 %7.1f us %5.2fx | w4a8 %7.1f us %5.2fx\n",
               tin[0] * 1e6, tin[1] * 1e6, tin[0] / tin[1], tin[2] * 1e6, tin[0] / tin[2]);
        // out of cache: paired rounds
        for (int kind = 1; kind < 3; kind++) {
            double ratio[7], tk[7], tf[7];
            round_time(kind, ms, copies, x, &qx, y, out, in, 1);
            for (int r = 0; r < 7; r++) {
                tf[r] = round_time(F32, ms, copies, x, &qx, y, out, in, 1);
                tk[r] = round_time(kind, ms, copies, x, &qx, y, out, in, 1);
                ratio[r] = tf[r] / tk[r];
            }
            double bytes = kind == W8 ? n + n / G * 4.0 : n / 2 + n / G * 4.0;
            double mk = median(tk, 7);
            printf("  out of cache (%d copies cycled):  f32 %7.1f us | %s %7.1f us %5.2fx (median of per-round ratios), %.1f GB/s\n",
                   copies, median(tf, 7) * 1e6, names[kind], mk * 1e6, median(ratio, 7), bytes / mk / 1e9);
        }
    }
    return 0;
}
