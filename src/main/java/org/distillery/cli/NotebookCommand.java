package org.distillery.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.distillery.util.ProjectPaths;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./lab notebook}: Jupyter with the project kernel, for interactive work. */
@Command(name = "notebook", mixinStandardHelpOptions = true,
        description = {"Starts Jupyter (Debian's jupyter-notebook) on the notebooks/ folder with the "
                + "\"Java (Distillery)\" kernel selected, and prints the URL to open. Stop it with Ctrl-C."})
final class NotebookCommand implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "8888", description = "port to listen on (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--ip", defaultValue = "127.0.0.1", description = "address to listen on (default: ${DEFAULT-VALUE})")
    String ip;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("--port " + port + " is not accepted: use 1-65535");
        }
        Path root = ProjectPaths.root();
        Path notebooks = Files.createDirectories(root.resolve("notebooks"));
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/jupyter", "notebook", "--no-browser",
                "--ip=" + ip, "--port=" + port, "--port-retries=0",
                "--notebook-dir=" + notebooks,
                "--MappingKernelManager.default_kernel_name=distillery"));
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.add("--allow-root");
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        pb.environment().put("JUPYTER_PATH", root.resolve("target/jupyter").toString());
        pb.environment().put(ProjectPaths.HOME_ENV, root.toString());
        System.out.printf("Starting Jupyter on http://%s:%d/ (kernel \"Java (Distillery)\"); "
                + "open the URL with the token that Jupyter prints below.%n", ip, port);
        return pb.start().waitFor();
    }
}
