package org.distillery.robustness.badinput;

import static org.distillery.robustness.badinput.BadInput.usage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.distillery.io.Gpt2Config;
import org.distillery.model.Gpt;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./lab distill} with a GPT teacher, the bad inputs that cli.DistillCommandTest and DistillBertBadInputTest do
 * not already try: teacher folders that are files, lack or damage their config.json or name an unknown model type;
 * student run files that are missing, folders, not JSON or wrong; temperatures that are not finite; an existing or
 * misplaced --out; a teacher of another vocabulary or too small for the batches (refused inside the run, which then
 * leaves nothing). One exact stderr line each, exit code 2, nothing written in the output folder.
 */
class DistillBadInputTest {
    @TempDir
    Path tmp;

    private static String[] args(Path teacher, Path student, String out, String... more) {
        List<String> a = new ArrayList<>(List.of("distill", "--teacher", teacher.toString(), "--student-config",
                student.toString(), "--out", out));
        a.addAll(List.of(more));
        if (!a.contains("--losses")) a.addAll(List.of("--losses", "ce=1"));
        return a.toArray(String[]::new);
    }

    @TestFactory
    Stream<DynamicTest> badInput() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("work"));
        String out = work.resolve("student").toString();
        Path teacher = tmp.resolve("teacher");
        new Gpt(Gpt2Config.of(256, 16, 16, 1, 2), 4, 16, 5).save(teacher);
        Path smallTeacher = tmp.resolve("small-teacher");
        new Gpt(Gpt2Config.of(256, 8, 16, 1, 2), 4, 8, 5).save(smallTeacher);
        Path otherVocab = tmp.resolve("teacher-300");
        new Gpt(Gpt2Config.of(300, 16, 16, 1, 2), 4, 16, 5).save(otherVocab);
        Path run = Files.writeString(tmp.resolve("student.json"), TrainBadInputTest.run("\"steps\": 2", "\"steps\": 2"));
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        Path noConfig = Files.createDirectories(tmp.resolve("no-config"));
        Path llama = Files.createDirectories(tmp.resolve("llama"));
        Files.writeString(llama.resolve("config.json"), "{\"model_type\": \"llama\"}");
        Path runFolder = Files.createDirectories(tmp.resolve("run-folder"));
        Path notJson = Files.writeString(tmp.resolve("not-json.json"), "{\"data\"");
        Path badField = Files.writeString(tmp.resolve("bad-field.json"), TrainBadInputTest.run("\"batch_size\": 2", "\"batch_size\": 0"));
        Files.createDirectories(work.resolve("exists"));
        return BadInput.cli(work, List.of(
                usage("--teacher a file", "--teacher " + file + ": no such folder", args(file, run, out)),
                usage("--teacher without config.json", "--teacher " + noConfig + ": no config.json there", args(noConfig, run, out)),
                usage("--teacher of an unknown model type", llama.resolve("config.json") + ": field \"model_type\" = \"llama\" is not"
                        + " supported (accepted: gpt2, bert, distilbert)", args(llama, run, out)),
                usage("no student run file", "--student-config " + tmp.resolve("none.json") + ": no such file",
                        args(teacher, tmp.resolve("none.json"), out)),
                usage("student run file a folder", "--student-config " + runFolder + ": is a folder, not a file",
                        args(teacher, runFolder, out)),
                usage("student run file not JSON", "--student-config " + notJson + ": not valid JSON: Unexpected end-of-input"
                        + " within/between Object entries",
                        args(teacher, notJson, out)),
                usage("student batch 0", "--student-config " + badField + " (train): batchSize: must be >= 1 but was 0",
                        args(teacher, badField, out)),
                usage("--temperature NaN", "--temperature: must be a finite number > 0 but was NaN",
                        args(teacher, run, out, "--temperature", "NaN")),
                usage("--temperature Infinity", "--temperature: must be a finite number > 0 but was Infinity",
                        args(teacher, run, out, "--temperature", "Infinity")),
                usage("--out exists", "--out " + work.resolve("exists") + " already exists: choose a new folder (outputs are never"
                        + " overwritten)", args(teacher, run, work.resolve("exists").toString())),
                usage("--out in a missing folder", "--out " + work.resolve("no/s") + ": the folder " + work.resolve("no")
                        + " does not exist", args(teacher, run, work.resolve("no/s").toString())),
                usage("teacher of another vocabulary", "teacher: vocab_size 300 differs from the student's 256; teacher and student"
                        + " must share it", args(otherVocab, run, out)),
                usage("teacher with a shorter context", "--teacher " + smallTeacher + ": its context n_positions = 8 is shorter than the"
                        + " student's seq_len 16; the teacher must see the student's windows",
                        args(smallTeacher, run, out))));
    }
}
