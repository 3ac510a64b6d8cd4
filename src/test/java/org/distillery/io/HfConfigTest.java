package org.distillery.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfConfigTest {
    @TempDir
    Path dir;

    /** The config.json of the Hugging Face "gpt2" checkpoint, in its fields and values. */
    static final String GPT2_JSON = """
            {
              "activation_function": "gelu_new",
              "architectures": ["GPT2LMHeadModel"],
              "attn_pdrop": 0.1,
              "bos_token_id": 50256,
              "embd_pdrop": 0.1,
              "eos_token_id": 50256,
              "initializer_range": 0.02,
              "layer_norm_epsilon": 1e-05,
              "model_type": "gpt2",
              "n_ctx": 1024,
              "n_embd": 768,
              "n_head": 12,
              "n_layer": 12,
              "n_positions": 1024,
              "resid_pdrop": 0.1,
              "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
              "vocab_size": 50257
            }""";

    static final String BERT_JSON = """
            {
              "architectures": ["BertForMaskedLM"],
              "attention_probs_dropout_prob": 0.1,
              "hidden_act": "gelu",
              "hidden_dropout_prob": 0.1,
              "hidden_size": 768,
              "initializer_range": 0.02,
              "intermediate_size": 3072,
              "layer_norm_eps": 1e-12,
              "max_position_embeddings": 512,
              "model_type": "bert",
              "num_attention_heads": 12,
              "num_hidden_layers": 12,
              "pad_token_id": 0,
              "type_vocab_size": 2,
              "vocab_size": 30522
            }""";

    static final String DISTILBERT_JSON = """
            {"activation": "gelu", "architectures": ["DistilBertForMaskedLM"], "dim": 768, "dropout": 0.1,
             "hidden_dim": 3072, "max_position_embeddings": 512, "model_type": "distilbert", "n_heads": 12,
             "n_layers": 6, "sinusoidal_pos_embds": false, "vocab_size": 30522}""";

    // ---------------------------------------------------------------- config.json

    @Test
    void readsGpt2ConfigAndKeepsUnknownFieldsThroughARoundTrip() throws IOException {
        Gpt2Config c = (Gpt2Config) HfConfig.parse("config.json", GPT2_JSON);
        assertEquals(new Gpt2Config(50257, 1024, 768, 12, 12, null, 1e-5, "gelu_new", true, c.extra()), c);
        assertEquals(3072, c.innerSize());
        assertEquals(64, c.headSize());
        assertEquals(1024, c.extra().get("n_ctx"));
        assertEquals(List.of("GPT2LMHeadModel"), c.extra().get("architectures"));
        assertFalse(c.extra().containsKey("model_type"));
        Path f = c.write(dir.resolve("config.json"));
        HfConfig back = HfConfig.read(f);
        assertEquals(c, back);
        assertTrue(Files.readString(f).startsWith("{\n  \"model_type\" : \"gpt2\""), Files.readString(f));
    }

    @Test
    void readsBertAndDistilBertConfigs() {
        BertConfig b = (BertConfig) HfConfig.parse("config.json", BERT_JSON);
        assertEquals(new BertConfig(30522, 768, 12, 12, 3072, "gelu", 512, 2, 1e-12, b.extra()), b);
        assertEquals(0, b.extra().get("pad_token_id"));
        assertEquals(b, HfConfig.read(b.write(dir.resolve("b.json"))));
        DistilBertConfig d = (DistilBertConfig) HfConfig.parse("config.json", DISTILBERT_JSON);
        assertEquals(new DistilBertConfig(30522, 768, 6, 12, 3072, "gelu", 512, false, d.extra()), d);
        assertEquals(d, HfConfig.read(d.write(dir.resolve("d.json"))));
    }

    @Test
    void rejectsInvalidConfigsNamingTheFieldAndValue() {
        assertConfigError(GPT2_JSON.replace("\"n_head\": 12", "\"n_head\": 5"),
                "config.json: field \"n_embd\" = 768 is not divisible by \"n_head\" = 5");
        assertConfigError(GPT2_JSON.replace("\"n_layer\": 12", "\"n_layer\": 0"),
                "config.json: field \"n_layer\" = 0 is not positive (accepted: >= 1)");
        assertConfigError(GPT2_JSON.replace("\"n_embd\": 768,", ""), "config.json: missing field \"n_embd\"");
        assertConfigError(GPT2_JSON.replace("\"n_head\": 12", "\"n_head\": \"12\""),
                "config.json: field \"n_head\" = \"12\" is not an integer (accepted: a 32-bit integer)");
        assertConfigError(GPT2_JSON.replace("\"n_head\": 12", "\"n_head\": 1.5"),
                "config.json: field \"n_head\" = 1.5 is not an integer (accepted: a 32-bit integer)");
        assertConfigError(GPT2_JSON.replace("1e-05", "-1"),
                "config.json: field \"layer_norm_epsilon\" = -1.0 is not a positive finite number");
        assertConfigError(GPT2_JSON.replace("\"gpt2\"", "\"llama\""),
                "config.json: field \"model_type\" = \"llama\" is not supported (accepted: gpt2, bert, distilbert)");
        assertConfigError("{\"vocab_size\": 3}", "config.json: missing field \"model_type\"");
        assertConfigError("[1]", "config.json: not a JSON object");
        assertConfigError(BERT_JSON.replace("\"intermediate_size\": 3072", "\"intermediate_size\": -2"),
                "config.json: field \"intermediate_size\" = -2 is not positive (accepted: >= 1)");
        assertConfigError(DISTILBERT_JSON.replace("\"n_heads\": 12", "\"n_heads\": 7"),
                "config.json: field \"dim\" = 768 is not divisible by \"n_heads\" = 7");
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> HfConfig.parse("config.json", "{\"model_type\": "));
        assertTrue(e.getMessage().startsWith("config.json: not valid JSON: "), e.getMessage());
    }

    private static void assertConfigError(String json, String message) {
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> HfConfig.parse("config.json", json));
        assertEquals(message, e.getMessage());
    }

    // ---------------------------------------------------------------- tensor name tables

    @Test
    void gpt2TensorTableHasConv1DShapes() {
        Gpt2Config c = Gpt2Config.of(50257, 1024, 768, 12, 12);
        List<TensorSpec> specs = c.expectedTensors();
        assertEquals(2 + 12 * 12 + 2 + 1, specs.size());
        assertShape(specs, "wte.weight", 50257, 768);
        assertShape(specs, "wpe.weight", 1024, 768);
        assertShape(specs, "h.11.attn.c_attn.weight", 768, 2304);   // [in, 3 in]
        assertShape(specs, "h.0.mlp.c_fc.weight", 768, 3072);       // [in, out]
        assertShape(specs, "h.0.mlp.c_proj.weight", 3072, 768);
        assertShape(specs, "ln_f.bias", 768);
        assertEquals(TensorSpec.Need.OPTIONAL, find(specs, "lm_head.weight").need());
        assertShape(c.expectedTensors("transformer."), "transformer.h.0.ln_1.weight", 768);
        assertShape(c.expectedTensors("transformer."), "lm_head.weight", 50257, 768);
    }

    @Test
    void bertAndDistilBertTensorTablesUseLinearShapes() {
        List<TensorSpec> b = BertConfig.of(30522, 768, 12, 12, 3072).expectedTensors();
        assertEquals(5 + 12 * 16 + 2 + 7, b.size());
        assertShape(b, "bert.embeddings.token_type_embeddings.weight", 2, 768);
        assertShape(b, "bert.encoder.layer.3.attention.self.value.weight", 768, 768);
        assertShape(b, "bert.encoder.layer.3.intermediate.dense.weight", 3072, 768);   // [out, in]
        assertShape(b, "bert.encoder.layer.3.output.dense.weight", 768, 3072);
        assertShape(b, "cls.predictions.bias", 30522);
        assertEquals(TensorSpec.Need.HEAD, find(b, "cls.predictions.transform.LayerNorm.bias").need());
        List<TensorSpec> d = DistilBertConfig.of(30522, 768, 6, 12, 3072).expectedTensors();
        assertShape(d, "distilbert.transformer.layer.5.ffn.lin1.weight", 3072, 768);
        assertShape(d, "vocab_projector.bias", 30522);
    }

    // ---------------------------------------------------------------- checkpoint check

    @Test
    void savesAndLoadsACheckpointDirectory() {
        Gpt2Config c = Gpt2Config.of(10, 16, 64, 2, 4);
        HfCheckpoint.Match m = HfCheckpoint.save(dir, c, tensorsFor(c.expectedTensors(), s -> s.need() == TensorSpec.Need.REQUIRED));
        assertEquals(new HfCheckpoint.Match("", false, List.of()), m);
        HfCheckpoint loaded = HfCheckpoint.load(dir);
        assertEquals(c, loaded.config());
        assertEquals(2 + 24 + 2, loaded.tensors().size());
        assertArrayEquals(new int[] {64, 192}, loaded.tensor("h.1.attn.c_attn.weight").shape());
        assertEquals(Map.of("format", "pt"), Safetensors.header(dir.resolve("model.safetensors")).metadata());
    }

    @Test
    void acceptsThePrefixedLayoutAndReportsBuffersAsUnexpected() {
        Gpt2Config c = Gpt2Config.of(10, 16, 64, 1, 4);
        List<NamedTensor> t = tensorsFor(c.expectedTensors("transformer."), s -> true);
        t.add(NamedTensor.f32("transformer.h.0.attn.bias", new int[] {1, 1, 16, 16}, new float[256]));
        HfCheckpoint.Match m = HfCheckpoint.check(c, shapes(t), "model.safetensors");
        assertEquals("transformer.", m.prefix());
        assertEquals(List.of("transformer.h.0.attn.bias"), m.unexpected());
    }

    @Test
    void reportsMissingTensorsAndWrongShapes() {
        Gpt2Config c = Gpt2Config.of(10, 16, 64, 4, 4);
        List<NamedTensor> t = tensorsFor(c.expectedTensors(), s -> !s.name().equals("h.3.mlp.c_fc.weight"));
        assertCheckError(c, t, "model.safetensors: missing tensor h.3.mlp.c_fc.weight");

        t = tensorsFor(c.expectedTensors(), s -> !s.name().equals("h.0.attn.c_attn.weight"));
        t.add(NamedTensor.f32("h.0.attn.c_attn.weight", new int[] {768, 2304}, new float[768 * 2304]));
        assertCheckError(c, t, "model.safetensors: tensor h.0.attn.c_attn.weight has shape [768, 2304] but "
                + "config.json (n_embd=64) expects [64, 192]");

        Gpt2Config big = Gpt2Config.of(10, 16, 64, 12, 4);
        assertCheckError(big, tensorsFor(c.expectedTensors(), s -> true), "model.safetensors: "
                + "missing tensor h.4.ln_1.weight; missing tensor h.4.ln_1.bias; missing tensor h.4.attn.c_attn.weight; "
                + "missing tensor h.4.attn.c_attn.bias; missing tensor h.4.attn.c_proj.weight; "
                + "missing tensor h.4.attn.c_proj.bias; missing tensor h.4.ln_2.weight; missing tensor h.4.ln_2.bias; "
                + "missing tensor h.4.mlp.c_fc.weight; missing tensor h.4.mlp.c_fc.bias; and 86 more");
    }

    @Test
    void bertHeadTensorsMustBeAllPresentOrAllAbsent() {
        BertConfig c = BertConfig.of(20, 32, 1, 2, 64);
        // the bare BertModel layout: no prefix, no head
        HfCheckpoint.Match bare = HfCheckpoint.check(c, shapes(tensorsFor(c.expectedTensors(""),
                s -> s.need() == TensorSpec.Need.REQUIRED)), "model.safetensors");
        assertEquals(new HfCheckpoint.Match("", false, List.of()), bare);
        // BertForMaskedLM with a tied decoder
        HfCheckpoint.Match mlm = HfCheckpoint.check(c, shapes(tensorsFor(c.expectedTensors(),
                s -> s.need() != TensorSpec.Need.OPTIONAL)), "model.safetensors");
        assertEquals(new HfCheckpoint.Match("bert.", true, List.of()), mlm);
        assertCheckError(c, tensorsFor(c.expectedTensors(),
                s -> s.need() != TensorSpec.Need.OPTIONAL && !s.name().equals("cls.predictions.bias")),
                "model.safetensors: missing tensor cls.predictions.bias");
        List<NamedTensor> wrong = tensorsFor(c.expectedTensors(), s -> !s.name().endsWith("word_embeddings.weight"));
        wrong.add(NamedTensor.f32("bert.embeddings.word_embeddings.weight", new int[] {32, 20}, new float[640]));
        assertCheckError(c, wrong, "model.safetensors: tensor bert.embeddings.word_embeddings.weight has shape "
                + "[32, 20] but config.json (vocab_size=20, hidden_size=32) expects [20, 32]");
    }

    @Test
    void distilBertCheckpointRoundTrips() {
        DistilBertConfig c = DistilBertConfig.of(20, 32, 2, 4, 64);
        HfCheckpoint.save(dir, c, tensorsFor(c.expectedTensors(), s -> true));
        HfCheckpoint loaded = HfCheckpoint.load(dir);
        assertEquals("distilbert.", loaded.prefix());
        assertEquals(c, loaded.config());
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> loaded.tensor("nope"));
        assertEquals("model.safetensors: missing tensor nope", e.getMessage());
    }

    @Test
    void gpt2WithUntiedEmbeddingsRequiresTheLmHead() {
        Gpt2Config c = new Gpt2Config(10, 16, 64, 1, 4, 100, 1e-5, "gelu_new", false, Map.of());
        assertShape(c.expectedTensors(), "h.0.mlp.c_fc.weight", 64, 100);
        assertCheckError(c, tensorsFor(c.expectedTensors(), s -> !s.name().equals("lm_head.weight")),
                "model.safetensors: missing tensor lm_head.weight");
    }

    // ---------------------------------------------------------------- helpers

    private static void assertCheckError(HfConfig c, List<NamedTensor> t, String message) {
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> HfCheckpoint.check(c, shapes(t), "model.safetensors"));
        assertEquals(message, e.getMessage());
    }

    private static Map<String, long[]> shapes(List<NamedTensor> t) {
        Map<String, long[]> m = new java.util.TreeMap<>();
        t.forEach(x -> m.put(x.name(), x.longShape()));
        return m;
    }

    private static List<NamedTensor> tensorsFor(List<TensorSpec> specs, Predicate<TensorSpec> keep) {
        List<NamedTensor> out = new ArrayList<>();
        for (TensorSpec s : specs) {
            if (keep.test(s)) {
                int[] shape = java.util.Arrays.stream(s.shape()).mapToInt(Math::toIntExact).toArray();
                out.add(NamedTensor.f32(s.name(), shape, new float[java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b)]));
            }
        }
        return out;
    }

    private static TensorSpec find(List<TensorSpec> specs, String name) {
        return specs.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow(() -> new AssertionError(name));
    }

    private static void assertShape(List<TensorSpec> specs, String name, long... shape) {
        assertArrayEquals(shape, find(specs, name).shape(), name);
    }
}
