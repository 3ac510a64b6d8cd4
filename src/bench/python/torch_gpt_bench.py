#!/usr/bin/python3
"""PyTorch side of `./lab bench`: the same GPT-2 model, optimiser and batch shape as the Java engine.

Usage: torch_gpt_bench.py CONFIG.json train|eval [--threads 2]
Prints one JSON line: engine, mode, tokens_per_s (median over the timed steps), step_seconds (median),
steps, params, peak_rss_mb, torch version, threads.

Model: GPT-2 exactly as org.distillery.model.Gpt (pre-LayerNorm blocks, learned positions, fused qkv
with biases, tanh GELU MLP 4x, tied output head, eps 1e-5, no dropout), init normal(0, 0.02) with
c_proj std 0.02/sqrt(2L). Optimiser: AdamW(lr 1e-4, betas 0.9/0.95, eps 1e-8, weight decay 0.1 on the
2-D weights). Data: uniformly random token ids from the config's seed (speed does not depend on them).
Needs Debian's python3-torch (apt-get install python3-torch); run with /usr/bin/python3.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads, ctx, layers):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(d, eps=1e-5), nn.LayerNorm(d, eps=1e-5)
        self.c_attn, self.attn_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.c_fc, self.mlp_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        for m in (self.c_attn, self.c_fc):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        for m in (self.attn_proj, self.mlp_proj):
            nn.init.normal_(m.weight, std=0.02 / math.sqrt(2 * layers))
            nn.init.zeros_(m.bias)
        self.register_buffer("causal", torch.triu(torch.ones(ctx, ctx, dtype=torch.bool), 1))

    def forward(self, x):                                     # x: (B, T, C)
        b, t, c = x.shape
        hs = c // self.heads
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)  # each (B, T, C)
        q, k, v = (z.view(b, t, self.heads, hs).transpose(1, 2) for z in (q, k, v))  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)      # (B, nh, T, T)
        att = att.masked_fill(self.causal[:t, :t], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)       # (B, T, C)
        x = x + self.attn_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, vocab, d, layers, heads, ctx):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        nn.init.normal_(self.wte.weight, std=0.02)
        nn.init.normal_(self.wpe.weight, std=0.01)
        self.h = nn.ModuleList(Block(d, heads, ctx, layers) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d, eps=1e-5)

    def forward(self, ids, targets=None):                     # ids: (B, T)
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()          # tied head: (B, T, V)
        if targets is None:
            return logits
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("mode", choices=["train", "eval"])
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    cfg = json.load(open(a.config))
    torch.set_num_threads(a.threads)
    torch.manual_seed(cfg["seed"])
    b, t, v = cfg["batch"], cfg["context"], cfg["vocab_size"]
    model = Gpt(v, cfg["d_model"], cfg["n_layer"], cfg["n_head"], t)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), eps=1e-8)
    gen = torch.Generator().manual_seed(cfg["seed"])
    data = torch.randint(0, v, (cfg["steps"] + cfg["warmup_steps"], b, t + 1), generator=gen)
    times = []
    for s in range(cfg["warmup_steps"] + cfg["steps"]):
        x, y = data[s, :, :t], data[s, :, 1:]
        t0 = time.perf_counter()
        if a.mode == "train":
            opt.zero_grad(set_to_none=True)
            loss = model(x, y)
            loss.backward()
            opt.step()
        else:
            with torch.no_grad():
                model(x, y)
        if s >= cfg["warmup_steps"]:
            times.append(time.perf_counter() - t0)
    med = sorted(times)[len(times) // 2]
    print(json.dumps({
        "engine": "pytorch", "mode": a.mode, "config": cfg["name"], "tokens_per_s": b * t / med,
        "step_seconds": med, "steps": len(times), "params": sum(p.numel() for p in model.parameters()),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "version": "torch " + torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
