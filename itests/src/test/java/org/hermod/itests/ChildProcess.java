package org.hermod.itests;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts a helper program (dnsmasq, smtp-sink) that must not outlive the JVM that started it, even when that JVM is
 * killed without running shutdown hooks (as Pax Exam does with its containers): a small shell watchdog ends the
 * program as soon as the JVM is gone.
 */
public final class ChildProcess {

    private final Process watchdog;

    private ChildProcess(Process watchdog) {
        this.watchdog = watchdog;
    }

    public static ChildProcess start(List<String> command) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("bash", "-c",
                "parent=$1; shift; \"$@\" & c=$!; "
                        + "while kill -0 \"$parent\" 2>/dev/null && kill -0 \"$c\" 2>/dev/null; do sleep 1; done; "
                        + "kill \"$c\" 2>/dev/null; wait \"$c\"",
                "watchdog", String.valueOf(ProcessHandle.current().pid())));
        cmd.addAll(command);
        return new ChildProcess(new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
    }

    public boolean isAlive() {
        return watchdog.isAlive() && watchdog.descendants().anyMatch(ProcessHandle::isAlive);
    }

    public void stop() {
        watchdog.descendants().forEach(ProcessHandle::destroy);
        watchdog.destroy();
        try {
            watchdog.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
