package org.distillery.record;

/** The run file of a tiny ./lab train run for the record tests: 6 steps, checkpoints and validation at 3 and 6. */
public final class TinyTrainRun {
    private TinyTrainRun() {}

    public static final String RUN_FILE = """
            {"data": {"dataset": "brown", "tokenizer": "byte", "validation_tokens": 600},
             "train": {"model": {"model_type": "gpt2", "vocab_size": 256, "n_positions": 16, "n_embd": 16,
                                 "n_layer": 1, "n_head": 2, "layer_norm_epsilon": 1e-5,
                                 "activation_function": "gelu_new"},
                       "batch_size": 4, "seq_len": 16, "steps": 6, "lr_max": 1e-2, "lr_min": 1e-3,
                       "warmup_steps": 1, "weight_decay": 0.0, "grad_clip": 1.0, "grad_accum_steps": 1,
                       "seed": 3, "eval_interval": 3, "eval_batches": 1, "checkpoint_interval": 3,
                       "keep_checkpoints": 1, "freeze_pattern": ""}}""";
}
