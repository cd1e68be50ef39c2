package org.hermod.commands.queue;

import java.time.Duration;
import java.time.Instant;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.hermod.api.spool.QueueManager;

/** Shared base of the queue commands: the queue service and formatting helpers. Output goes to System.out so it also shows over ssh exec. */
public abstract class QueueCommandSupport implements Action {

    @Reference
    protected QueueManager queues;

    static String age(Instant since) {
        if (since == null) {
            return "-";
        }
        return duration(Duration.between(since, Instant.now()));
    }

    static String until(Instant when) {
        if (when == null) {
            return "-";
        }
        Duration d = Duration.between(Instant.now(), when);
        return d.isNegative() ? "due" : "in " + duration(d);
    }

    static String duration(Duration d) {
        long s = Math.max(0, d.getSeconds());
        if (s < 120) {
            return s + "s";
        }
        if (s < 7200) {
            return s / 60 + "m";
        }
        if (s < 172800) {
            return s / 3600 + "h" + (s % 3600) / 60 + "m";
        }
        return s / 86400 + "d" + (s % 86400) / 3600 + "h";
    }
}
