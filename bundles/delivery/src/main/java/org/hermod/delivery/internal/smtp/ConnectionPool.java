package org.hermod.delivery.internal.smtp;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Idle SMTP connections kept for reuse, per destination key (the domain). A connection goes back to the pool after a
 * clean transaction until it has carried {@code maxMessages}; idle connections are closed with QUIT after the idle timeout
 * ({@link #reap}, called periodically). Thread-safe (one lock; all operations are short).
 */
public final class ConnectionPool {

    private final Map<String, ArrayDeque<SmtpConnection>> idle = new HashMap<>();
    private volatile int maxMessages;
    private volatile long idleNanos;
    private volatile int maxIdlePerKey;

    public ConnectionPool(int maxMessages, java.time.Duration idleTimeout, int maxIdlePerKey) {
        configure(maxMessages, idleTimeout, maxIdlePerKey);
    }

    public void configure(int maxMessages, java.time.Duration idleTimeout, int maxIdlePerKey) {
        this.maxMessages = maxMessages;
        this.idleNanos = idleTimeout.toNanos();
        this.maxIdlePerKey = maxIdlePerKey;
    }

    /** An idle, still open connection for the key (most recently used first), or null. */
    public SmtpConnection acquire(String key) {
        List<SmtpConnection> dead = new ArrayList<>();
        SmtpConnection found = null;
        synchronized (this) {
            ArrayDeque<SmtpConnection> q = idle.get(key);
            while (q != null && !q.isEmpty()) {
                SmtpConnection c = q.pollLast();
                if (c.isUsable() && c.messages() < maxMessages) {
                    found = c;
                    break;
                }
                dead.add(c);
            }
            if (q != null && q.isEmpty()) {
                idle.remove(key);
            }
        }
        dead.forEach(SmtpConnection::quit);
        return found;
    }

    /** Returns a connection after use; it is kept when {@code reusable} and not worn out, else closed with QUIT. */
    public void release(String key, SmtpConnection c, boolean reusable) {
        if (reusable && c.isUsable() && c.messages() < maxMessages && idleNanos > 0) {
            synchronized (this) {
                ArrayDeque<SmtpConnection> q = idle.computeIfAbsent(key, k -> new ArrayDeque<>());
                if (q.size() < maxIdlePerKey) {
                    c.idleSince(System.nanoTime());
                    q.addLast(c);
                    return;
                }
            }
        }
        c.quit();
    }

    /** Closes the connections idle for longer than the idle timeout. */
    public void reap() {
        long now = System.nanoTime();
        List<SmtpConnection> expired = new ArrayList<>();
        synchronized (this) {
            for (Iterator<ArrayDeque<SmtpConnection>> it = idle.values().iterator(); it.hasNext(); ) {
                ArrayDeque<SmtpConnection> q = it.next();
                q.removeIf(c -> {
                    if (now - c.idleSince() >= idleNanos || !c.isUsable()) {
                        expired.add(c);
                        return true;
                    }
                    return false;
                });
                if (q.isEmpty()) {
                    it.remove();
                }
            }
        }
        expired.forEach(SmtpConnection::quit);
    }

    /** Idle connections kept for one key. */
    public synchronized int idleCount(String key) {
        ArrayDeque<SmtpConnection> q = idle.get(key);
        return q == null ? 0 : q.size();
    }

    public synchronized int idleCount() {
        return idle.values().stream().mapToInt(ArrayDeque::size).sum();
    }

    /** Closes everything (QUIT). */
    public void closeAll() {
        List<SmtpConnection> all = new ArrayList<>();
        synchronized (this) {
            idle.values().forEach(all::addAll);
            idle.clear();
        }
        all.forEach(SmtpConnection::quit);
    }
}
