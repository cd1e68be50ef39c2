package org.hermod.delivery.internal.tls;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetched MTA-STS policies by domain, in memory and, when a directory is given, one small file per domain
 * ({@code <domain>.sts}: the id and fetch time, a blank line, the policy) so that a restart keeps them (RFC 8461 5.1: a
 * sender keeps using a cached policy until max_age ends, even when the TXT record disappears). Thread-safe.
 */
public final class MtaStsCache {

    private static final Logger LOG = LoggerFactory.getLogger(MtaStsCache.class);

    /**
     * One cached policy.
     *
     * @param id the id of the {@code _mta-sts} TXT record it was fetched for
     * @param fetched when it was fetched (its max_age counts from here)
     */
    public record Entry(String domain, String id, MtaStsPolicy policy, Instant fetched) {

        public Instant expires() {
            return fetched.plus(policy.maxAge());
        }

        public boolean validAt(Instant now) {
            return now.isBefore(expires());
        }
    }

    /** At most this many domains are remembered as having no file (then the set starts over). */
    static final int MAX_ABSENT = 10_000;

    private final Map<String, Entry> memory = new ConcurrentHashMap<>();
    /**
     * Domains whose file was looked for and not found: only this cache writes the directory, so a domain without a
     * policy costs one file system lookup per start rather than one per message.
     */
    private final Set<String> absent = ConcurrentHashMap.newKeySet();
    private final Path dir;

    /** @param dir where the files go, or null for memory only */
    public MtaStsCache(Path dir) {
        this.dir = dir;
    }

    /** The cached entry (expired or not), from memory or else from its file; null when there is none. */
    public Entry get(String domain) {
        String d = domain.toLowerCase(Locale.ROOT);
        Entry e = memory.get(d);
        if (e == null && dir != null && !absent.contains(d)) {
            if (!fileName(d) || !Files.isRegularFile(file(d))) {
                if (absent.size() >= MAX_ABSENT) {
                    absent.clear();
                }
                absent.add(d); // really no file: an unreadable one is read again next time
            } else {
                e = load(d);
                if (e != null) {
                    memory.putIfAbsent(d, e);
                }
            }
        }
        return e;
    }

    public void put(Entry e) {
        String d = e.domain().toLowerCase(Locale.ROOT);
        if (dir == null) {
            memory.put(d, e);
            return;
        }
        // the file is written inside compute so that a purge of the old entry cannot delete the new file
        memory.compute(d, (k, old) -> {
            write(d, e);
            return e;
        });
        absent.remove(d);
    }

    private void write(String d, Entry e) {
        try {
            Files.createDirectories(dir);
            Path tmp = dir.resolve(d + ".sts.tmp");
            Files.writeString(tmp, "id: " + e.id() + "\nfetched: " + e.fetched() + "\n\n" + e.policy().text(),
                    StandardCharsets.UTF_8);
            Files.move(tmp, file(d), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException ex) {
            LOG.warn("cannot write the MTA-STS cache file for {} in {}: {}", d, dir, ex.toString());
        }
    }

    /**
     * Forgets expired entries (memory and files). An entry is removed, and its file deleted, only while it is still
     * the one in memory, under the same per-domain lock as {@link #put}: a policy put meanwhile keeps its file.
     */
    public void purge(Instant now) {
        for (Map.Entry<String, Entry> me : memory.entrySet()) {
            Entry expired = me.getValue();
            if (expired.validAt(now)) {
                continue;
            }
            memory.computeIfPresent(me.getKey(), (k, current) -> {
                if (current != expired) {
                    return current;
                }
                if (dir != null) {
                    try {
                        Files.deleteIfExists(file(k));
                    } catch (IOException ex) {
                        LOG.debug("cannot delete {}: {}", file(k), ex.toString());
                    }
                }
                return null;
            });
        }
    }

    public int size() {
        return memory.size();
    }

    private Path file(String domain) {
        return dir.resolve(domain + ".sts");
    }

    private static boolean fileName(String d) {
        return d.matches("[a-z0-9._-]+") && !d.startsWith(".");
    }

    private Entry load(String d) {
        Path f = file(d);
        try {
            String text = Files.readString(f, StandardCharsets.UTF_8);
            int blank = text.indexOf("\n\n");
            String id = null;
            Instant fetched = null;
            for (String line : text.substring(0, Math.max(0, blank)).split("\n")) {
                if (line.startsWith("id: ")) {
                    id = line.substring(4).trim();
                } else if (line.startsWith("fetched: ")) {
                    fetched = Instant.parse(line.substring(9).trim());
                }
            }
            if (blank < 0 || id == null || fetched == null) {
                throw new IllegalArgumentException("no id/fetched header");
            }
            return new Entry(d, id, MtaStsPolicy.parse(text.substring(blank + 2)), fetched);
        } catch (IOException | RuntimeException ex) {
            LOG.warn("ignoring the unreadable MTA-STS cache file {}: {}", f, ex.toString());
            return null;
        }
    }
}
