/* The AVX2 port of ../shared/bench/peers/cpu_peak.c (fifteenth session, for a Zen 2 core
 * without AVX-512): (1) the core clock with a chain of dependent 1-cycle integer adds,
 * (2) the sustained AVX2 fp32 FMA throughput with 12 independent ymm accumulators (2 FMA
 * pipes x 5-cycle latency on Zen 2, with margin), on 1 and 2 threads.
 *   gcc -O2 -mavx2 -mfma -pthread cpu_peak_avx2.c -o cpu_peak_avx2 && ./cpu_peak_avx2
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* 100 dependent adds per iteration: one cycle each. */
static double add_chain_ghz(long iters) {
    unsigned long x = 0;
    double t0 = now();
    for (long i = 0; i < iters; i++) {
        __asm__ volatile(
            ".rept 100\n\t"
            "add $1, %0\n\t"
            ".endr\n\t"
            : "+r"(x));
    }
    double dt = now() - t0;
    if (x == 42) printf(" ");
    return 100.0 * iters / dt / 1e9;
}

/* FMA latency chain: 100 dependent vfmadd per iteration (Zen 5: 4 cycles). */
static double fma_latency_cycles_per_ns(long iters) {
    __m256 a = _mm256_set1_ps(1.0f), b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
    double t0 = now();
    for (long i = 0; i < iters; i++) {
        __asm__ volatile(
            ".rept 100\n\t"
            "vfmadd213ps %2, %1, %0\n\t"
            ".endr\n\t"
            : "+v"(a) : "v"(b), "v"(c));
    }
    double dt = now() - t0;
    float out[8];
    _mm256_storeu_ps(out, a);
    if (out[0] == 42.0f) printf(" ");
    return 100.0 * iters / dt / 1e9; /* FMAs per ns (latency-bound) */
}

#define NACC 12
typedef struct { long iters; double secs; } fma_arg;

/* 24 independent vfmadd231ps zmm per iteration, all operands in registers
 * (zeros, so no denormal penalties). */
static void *fma_throughput(void *p) {
    fma_arg *arg = p;
    long n = arg->iters;
    double t0 = now();
    __asm__ volatile(
        ".irp r,0,1,2,3,4,5,6,7,8,9,10,11,14,15\n\t"
        "vxorps %%ymm\\r, %%ymm\\r, %%ymm\\r\n\t"
        ".endr\n\t"
        "1:\n\t"
        ".irp r,0,1,2,3,4,5,6,7,8,9,10,11\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm\\r\n\t"
        ".endr\n\t"
        "dec %0\n\t"
        "jnz 1b\n\t"
        : "+r"(n)
        :
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
          "xmm10", "xmm11", "xmm14", "xmm15", "cc");
    arg->secs = now() - t0;
    return NULL;
}

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 20000000;
    double best_add = 0, best_lat = 0;
    for (int r = 0; r < 5; r++) {
        double g = add_chain_ghz(iters);
        if (g > best_add) best_add = g;
        double l = fma_latency_cycles_per_ns(iters / 4);
        if (l > best_lat) best_lat = l;
    }
    printf("{\"add_chain_ghz\": %.3f, \"fma_chain_fma_per_ns\": %.4f, \"fma_latency_cycles_at_add_clock\": %.2f}\n",
           best_add, best_lat, best_add / best_lat);
    for (int nt = 1; nt <= 2; nt++) {
        double best = 0;
        for (int r = 0; r < 5; r++) {
            pthread_t th[2];
            fma_arg a[2];
            double t0 = now();
            for (int t = 0; t < nt; t++) {
                a[t].iters = iters / 2;
                pthread_create(&th[t], NULL, fma_throughput, &a[t]);
            }
            for (int t = 0; t < nt; t++) pthread_join(th[t], NULL);
            double wall = now() - t0;
            double flops = (double)nt * (iters / 2) * NACC * 8 * 2;
            double g = flops / wall / 1e9;
            if (g > best) best = g;
        }
        printf("{\"threads\": %d, \"avx2_fma_gflops\": %.1f, \"flop_per_cycle_per_core_at_add_clock\": %.1f}\n",
               nt, best, best / nt / best_add);
    }
    return 0;
}
