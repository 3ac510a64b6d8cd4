#!/usr/bin/python3
"""PyTorch side of `./lab bench gptq`: GPTQ (Frantar et al. 2022, Algorithm 1) on one linear layer.

Usage: torch_gptq_bench.py OUT IN SEQUENCES TOKENS [--bits 4] [--threads 2] [--data DIR]
Prints one JSON line: hessian_s, quantize_s, total_s, relative_output_error, peak_rss_mb, torch version.

Written from the paper for this benchmark, in the structure of the reference implementation (fp32 throughout):
H = (2/n) X^T X accumulated per calibration sequence, dead columns, dampening 0.01 * mean(diag H),
Hinv = cholesky(cholesky_inverse(cholesky(H)), upper), blocks of 128 columns with the eager updates inside
a block and one lazy GEMM update per block; 4-bit asymmetric per-channel min-max quantizer. To give PyTorch
its best CPU time, two steps use in-place BLAS calls instead of the reference code's allocating matmuls
(same arithmetic): the Hessian sum is H.addmm_(X^T, X) scaled by 2/n at the end (the reference rescales H
per batch and adds inp @ inp.T: 1.7x slower here), and the eager update is W1[:, i:].addr_(err, Hinv1[i, i:],
alpha=-1) (the reference's err.unsqueeze(1).matmul(...) outer product: about 5x slower on this CPU).
Data: the distribution of org.distillery.bench.GptqBenchmark (W ~ N(0, 1/in); a pool of 8 batches of
correlated features x = (z M + 0.1 e) * s_j, 32 latent factors, s_j = exp(N(0, 0.5)); sequence k adds
pool batch k mod 8), made before the clock starts; with --data DIR, the exact W (w.f32) and pool
(x0.f32, ...) written by the Java run (raw little-endian fp32), so that the errors are comparable.
"""
import argparse
import json
import math
import os
import resource
import time

import numpy
import torch


def find_params(w, maxq):
    """Per-row asymmetric min-max parameters (range widened to contain 0): scale, zero  [rows, 1]."""
    xmin = torch.clamp(w.min(1).values, max=0)
    xmax = torch.clamp(w.max(1).values, min=0)
    both0 = (xmin == 0) & (xmax == 0)
    xmin[both0], xmax[both0] = -1, 1
    scale = (xmax - xmin) / maxq
    zero = torch.round(-xmin / scale)
    return scale.unsqueeze(1), zero.unsqueeze(1)


def quantize(x, scale, zero, maxq):
    q = torch.clamp(torch.round(x / scale) + zero, 0, maxq)
    return scale * (q - zero)


def gptq(W, H, bits, blocksize=128, percdamp=0.01):
    W = W.clone()
    rows, cols = W.shape
    maxq = 2 ** bits - 1
    scale, zero = find_params(W, maxq)
    H = H.clone()
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    damp = percdamp * torch.mean(torch.diag(H))
    idx = torch.arange(cols)
    H[idx, idx] += damp
    L = torch.linalg.cholesky(H)
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(L), upper=True)
    Q = torch.zeros_like(W)
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        for i in range(i2 - i1):
            w = W1[:, i]
            d = Hinv1[i, i]
            q = quantize(w.unsqueeze(1), scale, zero, maxq).flatten()
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:].addr_(err1, Hinv1[i, i:], alpha=-1)          # W1[:, i:] -= err1 Hinv1[i, i:]
            Err1[:, i] = err1
        Q[:, i1:i2] = Q1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return Q


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=int)
    ap.add_argument("inp", type=int)
    ap.add_argument("sequences", type=int)
    ap.add_argument("tokens", type=int)
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    out, n_in, k = a.out, a.inp, 32
    W = torch.randn(out, n_in) / math.sqrt(n_in)
    M = torch.randn(k, n_in)
    s = torch.exp(0.5 * torch.randn(n_in))
    pool = [((torch.randn(a.tokens, k) @ M) / math.sqrt(k) + 0.1 / math.sqrt(k) * torch.randn(a.tokens, n_in)) * s
            for _ in range(min(8, a.sequences))]
    if a.data is not None:
        def load(name, shape):
            return torch.from_numpy(numpy.fromfile(os.path.join(a.data, name), dtype="<f4").reshape(shape).copy())
        W = load("w.f32", (out, n_in))
        pool = [load("x%d.f32" % p, (a.tokens, n_in)) for p in range(len(pool))]
    with torch.no_grad():
        # untimed: one GPTQ of this shape on a Hessian of random rows, as the Java side warms up its compiled code
        x0 = torch.randn(2 * n_in, n_in)
        gptq(torch.randn(out, n_in), 2 * x0.t() @ x0 / x0.shape[0], a.bits)
        t0 = time.perf_counter()
        H = torch.zeros(n_in, n_in)
        rows = 0
        for q in range(a.sequences):                      # streaming: one calibration sequence at a time
            x = pool[q % len(pool)]                       # [tokens, in]
            H.addmm_(x.t(), x)                            # H += X^T X
            rows += x.shape[0]
        H *= 2 / rows
        t1 = time.perf_counter()
        Q = gptq(W, H, a.bits)
        t2 = time.perf_counter()
        X = pool[0]
        ref = X @ W.t()
        err = (torch.linalg.norm(ref - X @ Q.t()) / torch.linalg.norm(ref)).item()
    print(json.dumps({
        "engine": "pytorch", "out": out, "in": n_in, "calibration_tokens": a.sequences * a.tokens,
        "hessian_s": t1 - t0, "quantize_s": t2 - t1, "total_s": t2 - t0, "relative_output_error": err,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "version": "torch " + torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
