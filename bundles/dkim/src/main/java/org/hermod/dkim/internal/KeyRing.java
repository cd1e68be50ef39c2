package org.hermod.dkim.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The configured signatures with their keys, looked up by domain. Readers get an immutable snapshot (volatile, no
 * lock). Key files are re-read when they change ({@link #checkForChanges()}, called by a poller): a changed file is
 * loaded once it stayed the same for one check (no half-written keys); if it cannot be loaded, the key loaded before
 * stays in use and the error is logged. A key that never loaded makes its domain's mail fail signing.
 */
final class KeyRing {

    private static final Logger LOG = LoggerFactory.getLogger(KeyRing.class);

    /** One signature's key state. */
    record Slot(SignatureEntry entry, SigningKey key, String error, Stamp loaded, Stamp seen) {
        boolean usable() {
            return key != null;
        }
    }

    /** A file's identity for change detection: missing, or modification time and size. */
    record Stamp(boolean exists, long modified, long size) {
        static Stamp of(Path f) {
            try {
                return new Stamp(true, Files.getLastModifiedTime(f).toMillis(), Files.size(f));
            } catch (IOException e) {
                return new Stamp(false, 0, 0);
            }
        }
    }

    private volatile Map<String, List<Slot>> byDomain = Map.of();

    /**
     * Replaces the configuration: new entries' keys are loaded now; an entry that was configured before keeps its slot
     * when its file did not change since it was loaded.
     */
    synchronized void configure(List<SignatureEntry> entries) {
        Map<SignatureEntry, Slot> before = new HashMap<>();
        all().forEach(s -> before.put(s.entry(), s));
        Map<String, List<Slot>> next = new LinkedHashMap<>();
        for (SignatureEntry e : entries) {
            Stamp s = Stamp.of(e.keyFile());
            Slot old = before.get(e);
            Slot slot = old != null && s.equals(old.loaded()) ? old : load(e, old, s);
            next.computeIfAbsent(e.domain(), d -> new ArrayList<>()).add(slot);
        }
        publish(next);
    }

    /** Reloads the key files that changed and then stayed the same for one check. */
    synchronized void checkForChanges() {
        Map<String, List<Slot>> cur = byDomain;
        Map<String, List<Slot>> next = new LinkedHashMap<>();
        boolean changed = false;
        for (Map.Entry<String, List<Slot>> d : cur.entrySet()) {
            List<Slot> slots = new ArrayList<>();
            for (Slot s : d.getValue()) {
                Stamp now = Stamp.of(s.entry().keyFile());
                Slot n = s;
                if (now.equals(s.loaded())) {
                    n = now.equals(s.seen()) ? s : new Slot(s.entry(), s.key(), s.error(), s.loaded(), now);
                } else if (now.equals(s.seen())) { // changed, and stable since the last check
                    n = load(s.entry(), s, now);
                } else {
                    n = new Slot(s.entry(), s.key(), s.error(), s.loaded(), now);
                }
                changed |= n != s;
                slots.add(n);
            }
            next.put(d.getKey(), slots);
        }
        if (changed) {
            publish(next);
        }
    }

    private void publish(Map<String, List<Slot>> next) {
        Map<String, List<Slot>> m = new HashMap<>();
        next.forEach((k, v) -> m.put(k, List.copyOf(v)));
        byDomain = Map.copyOf(m);
    }

    /**
     * The signatures for a domain: its own entries, else those of its nearest parent domain that has entries; empty
     * when no entry covers it.
     */
    List<Slot> forDomain(String domain) {
        Map<String, List<Slot>> m = byDomain;
        String d = domain;
        while (d != null) {
            List<Slot> s = m.get(d);
            if (s != null) {
                return s;
            }
            int dot = d.indexOf('.');
            d = dot < 0 ? null : d.substring(dot + 1);
        }
        return List.of();
    }

    /** Every slot, for status output and tests. */
    List<Slot> all() {
        List<Slot> out = new ArrayList<>();
        byDomain.values().forEach(out::addAll);
        return out;
    }

    private static Slot load(SignatureEntry e, Slot previous, Stamp stamp) {
        try {
            SigningKey k = PemKeys.load(e.keyFile(), e.domain(), e.selector(), e.algorithm());
            warnIfReadableByOthers(e.keyFile());
            if (k.key() instanceof java.security.interfaces.RSAKey rsa && rsa.getModulus().bitLength() > 3072) {
                LOG.warn("DKIM key {} has {} bits: its signature field may pass the 998-octet line limit (the "
                        + "filter API adds fields unfolded), and then mail is {}; 2048 or 3072 bits are safe", e,
                        rsa.getModulus().bitLength(), "deferred or unsigned as onKeyFailure says");
            }
            if (previous == null || !Objects.equals(previous.key() == null ? null : previous.key().dnsRecord(),
                    k.dnsRecord())) {
                LOG.info("DKIM key {} loaded; publish TXT {} \"{}\"", e, k.dnsName(), k.dnsRecord());
            }
            return new Slot(e, k, null, stamp, stamp);
        } catch (IOException | GeneralSecurityException | RuntimeException x) {
            String why = x instanceof NoSuchFileException ? "no such file" : x.getMessage();
            if (previous != null && previous.usable()) {
                LOG.error("DKIM key {} changed but cannot be loaded ({}); still signing with the key loaded before",
                        e, why);
                return new Slot(e, previous.key(), why, stamp, stamp);
            }
            LOG.error("DKIM key {} cannot be loaded: {}. Mail from {} is not signed with it until it is fixed "
                    + "(see onKeyFailure)", e, why, e.domain());
            return new Slot(e, null, why, stamp, stamp);
        }
    }

    private static void warnIfReadableByOthers(Path f) {
        try {
            if (Files.getPosixFilePermissions(f).contains(PosixFilePermission.OTHERS_READ)) {
                LOG.warn("DKIM key {} is readable by every user; chmod 600 it", f);
            }
        } catch (IOException | UnsupportedOperationException ignored) {
            // not a POSIX file system: nothing to check
        }
    }
}
