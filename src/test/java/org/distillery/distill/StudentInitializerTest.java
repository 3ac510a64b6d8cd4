package org.distillery.distill;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import org.distillery.engine.kernels.FloatTensor;
import org.distillery.io.BertConfig;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Bert;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.Test;

class StudentInitializerTest {

    private static void assertSameValues(FloatTensor expected, FloatTensor actual, String what) {
        assertArrayEquals(expected.toDoubleArray(), actual.toDoubleArray(), 0.0, what);
    }

    @Test
    void layerMaps() {
        assertArrayEquals(new int[] {0, 2, 4, 7, 9, 11}, StudentInitializer.spread(12, 6), "the released DistilBERT map");
        assertArrayEquals(new int[] {0, 2, 4, 6, 8, 10}, StudentInitializer.everyOther(12, 6));
        assertArrayEquals(new int[] {0, 3}, StudentInitializer.spread(4, 2));
        assertArrayEquals(new int[] {0}, StudentInitializer.spread(4, 1));
        assertArrayEquals(new int[] {0, 1, 2}, StudentInitializer.spread(3, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StudentInitializer.spread(4, 5));
        assertEquals("studentLayers: must be in [1, teacherLayers = 4] but was 5", e.getMessage());
    }

    @Test
    void gptHalfDepthCopiesExactlyTheMappedTensors() {
        Gpt teacher = new Gpt(Gpt2Config.of(40, 16, 16, 4, 2), 2, 8, 1);
        Gpt student = new Gpt(Gpt2Config.of(40, 16, 16, 2, 2), 2, 8, 2);
        List<StudentInitializer.Copy> copies = StudentInitializer.initialize(teacher.parameters(), student.parameters(),
                new int[] {0, 3});
        assertEquals(student.parameters().size(), copies.size());
        Map<String, FloatTensor> t = teacher.parameters(), s = student.parameters();
        for (StudentInitializer.Copy c : copies) {
            assertFalse(c.truncated(), c.toString());
            assertSameValues(t.get(c.teacher()), s.get(c.student()), c.toString());
        }
        assertEquals("h.3.mlp.c_fc.weight", copies.stream().filter(c -> c.student().equals("h.1.mlp.c_fc.weight"))
                .findFirst().orElseThrow().teacher());
        assertEquals("wte.weight", copies.get(0).teacher());
        assertSameValues(t.get("ln_f.weight"), s.get("ln_f.weight"), "final LayerNorm");
    }

    @Test
    void bertHalfDepthWithFewerTokenTypesTruncatesOnlyThatTable() {
        Bert teacher = new Bert(BertConfig.of(50, 16, 4, 2, 32), 2, 8, 1);
        Bert student = new Bert(new BertConfig(50, 16, 2, 2, 32, "gelu", 512, 1, 1e-12, Map.of()), 2, 8, 2);
        List<StudentInitializer.Copy> copies = StudentInitializer.initialize(teacher.parameters(), student.parameters(),
                StudentInitializer.spread(4, 2));
        for (StudentInitializer.Copy c : copies) {
            assertEquals(c.student().contains("token_type"), c.truncated(), c.toString());
            assertEquals(c.student().replace("layer.1.", "layer.3."), c.teacher());
        }
        FloatTensor tt = teacher.parameters().get("bert.embeddings.token_type_embeddings.weight");
        FloatTensor st = student.parameters().get("bert.embeddings.token_type_embeddings.weight");
        for (int j = 0; j < 16; j++) assertEquals(tt.get(j), st.get(j), 0f, "row 0 kept");
    }

    @Test
    void narrowGptKeepsWholeHeadsAndTruncatesTheFusedQkvPerBlock() {
        int et = 16, es = 8;                                  // teacher 4 heads of 4, student 2 heads of 4
        Gpt teacher = new Gpt(Gpt2Config.of(40, 16, et, 2, 4), 2, 8, 1);
        Gpt student = new Gpt(Gpt2Config.of(40, 8, es, 1, 2), 2, 8, 2);
        StudentInitializer.initialize(teacher.parameters(), student.parameters(), new int[] {1});
        FloatTensor tq = teacher.parameters().get("h.1.attn.c_attn.weight");   // [3*16, 16]
        FloatTensor sq = student.parameters().get("h.0.attn.c_attn.weight");   // [3*8, 8]
        for (int blk = 0; blk < 3; blk++) {
            for (int r = 0; r < es; r++) {
                for (int c = 0; c < es; c++) {
                    assertEquals(tq.get((blk * et + r) * et + c), sq.get((blk * es + r) * es + c), 0f,
                            "block " + blk + " row " + r + " col " + c);
                }
            }
        }
        FloatTensor tb = teacher.parameters().get("h.1.attn.c_attn.bias"), sb = student.parameters().get("h.0.attn.c_attn.bias");
        for (int blk = 0; blk < 3; blk++) {
            for (int r = 0; r < es; r++) assertEquals(tb.get(blk * et + r), sb.get(blk * es + r), 0f);
        }
        FloatTensor tp = teacher.parameters().get("wpe.weight"), sp = student.parameters().get("wpe.weight");  // [16,16] -> [8,8]
        for (int p = 0; p < 8; p++) {
            for (int c = 0; c < es; c++) assertEquals(tp.get(p * et + c), sp.get(p * es + c), 0f);
        }
    }

    @Test
    void badInputIsNamed() {
        Gpt teacher = new Gpt(Gpt2Config.of(40, 16, 16, 2, 2), 2, 8, 1);
        Gpt student = new Gpt(Gpt2Config.of(40, 16, 16, 1, 2), 2, 8, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StudentInitializer.initialize(teacher.parameters(), student.parameters(), new int[] {5}));
        assertEquals("layerMap: entry 0 names teacher layer 5, but the teacher has layers 0..1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> StudentInitializer.initialize(teacher.parameters(), student.parameters(), new int[] {0, 1}));
        assertEquals("layerMap: has 2 entries but the student has 1 layers", e.getMessage());
        Gpt wider = new Gpt(Gpt2Config.of(40, 16, 32, 1, 2), 2, 8, 2);
        e = assertThrows(IllegalArgumentException.class,
                () -> StudentInitializer.initialize(teacher.parameters(), wider.parameters(), new int[] {0}));
        assertEquals("student: tensor wte.weight [40, 32] is larger than the teacher's wte.weight [40, 16] in dimension 1;"
                + " a student can only be initialised by truncation", e.getMessage());
        Bert bert = new Bert(BertConfig.of(40, 16, 1, 2, 32), 2, 8, 1);
        e = assertThrows(IllegalArgumentException.class,
                () -> StudentInitializer.initialize(bert.parameters(), student.parameters(), new int[] {0}));
        assertEquals("teacher: has no tensor wte.weight (for student tensor wte.weight); teacher and student must be the"
                + " same architecture", e.getMessage());
    }
}
