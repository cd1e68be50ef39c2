package org.hermod.smtp.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.hermod.api.MailAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Valid recipients of relay domains, from a file in etc/ (like Postfix's relay_recipient_maps): one address per line,
 * or {@code @domain} for "any user of this domain"; {@code #} starts a comment. A domain with at least one entry is
 * covered, and so are its subdomains: their other recipients are unknown ({@code 550 5.1.1} at RCPT). Domains
 * without entries, for themselves or a parent, are not checked.
 * Lookups are case-insensitive; with a delimiter such as {@code +}, {@code user+tag@d} also matches {@code user@d}.
 *
 * <p>{@link #reloadIfChanged()} re-reads the file when its modification time changed; it runs on a background thread
 * and publishes a new immutable snapshot, so lookups on the event loops never touch the disk or take a lock.
 */
final class RecipientMap {

    private static final Logger LOG = LoggerFactory.getLogger(RecipientMap.class);

    /** An immutable view of the file. */
    private record Snapshot(Set<String> addresses, Set<String> domains, Set<String> wildcards) {
        static final Snapshot EMPTY = new Snapshot(Set.of(), Set.of(), Set.of());
    }

    private final Path file;
    private volatile Snapshot snapshot = Snapshot.EMPTY;
    private FileTime loaded;

    /** @param file the map file, or null for none (every recipient is valid) */
    RecipientMap(Path file) {
        this.file = file;
        reloadIfChanged();
    }

    static RecipientMap of(String... lines) {
        RecipientMap m = new RecipientMap(null);
        m.snapshot = parse(List.of(lines));
        return m;
    }

    /** Reloads the file when it changed since the last load (or disappeared: then nothing is covered). */
    synchronized void reloadIfChanged() {
        if (file == null) {
            return;
        }
        try {
            FileTime t = Files.getLastModifiedTime(file);
            if (t.equals(loaded)) {
                return;
            }
            Snapshot s = parse(Files.readAllLines(file, StandardCharsets.UTF_8));
            snapshot = s;
            loaded = t;
            LOG.info("Recipient map {} loaded: {} addresses, {} catch-all domains, {} domains covered", file,
                    s.addresses().size(), s.wildcards().size(), s.domains().size());
        } catch (NoSuchFileException e) {
            if (loaded != null || snapshot != Snapshot.EMPTY) {
                LOG.warn("Recipient map {} is gone: recipients of relay domains are no longer checked", file);
            }
            snapshot = Snapshot.EMPTY;
            loaded = null;
        } catch (IOException e) {
            LOG.error("Cannot read recipient map {}; keeping the previous contents", file, e);
        }
    }

    private static Snapshot parse(List<String> lines) {
        Set<String> addresses = new HashSet<>();
        Set<String> domains = new HashSet<>();
        Set<String> wildcards = new HashSet<>();
        for (String raw : lines) {
            int hash = raw.indexOf('#');
            String l = (hash < 0 ? raw : raw.substring(0, hash)).trim().toLowerCase(Locale.ROOT);
            if (l.isEmpty()) {
                continue;
            }
            int at = l.lastIndexOf('@');
            if (at < 0 || at == l.length() - 1) {
                LOG.warn("Recipient map: ignoring '{}' (not an address or @domain)", raw.trim());
                continue;
            }
            String domain = l.substring(at + 1);
            domains.add(domain);
            if (at == 0) {
                wildcards.add(domain);
            } else {
                addresses.add(l);
            }
        }
        return new Snapshot(Set.copyOf(addresses), Set.copyOf(domains), Set.copyOf(wildcards));
    }

    /**
     * Whether the recipients of this domain are checked: the map lists the domain or a parent of it. Relay domains are
     * matched with their subdomains ({@link SmtpSettings#isRelayDomain}), so the map must cover them the same way:
     * otherwise {@code x@anything.relay.test} would be accepted unchecked (backscatter). A subdomain's own recipients
     * still have to be listed for it ({@code user@sub.d} or {@code @sub.d}); an entry for {@code d} accepts nothing in
     * {@code sub.d}.
     */
    boolean covers(String domain) {
        return covered(snapshot, domain.toLowerCase(Locale.ROOT));
    }

    private static boolean covered(Snapshot s, String domain) {
        return SmtpSettings.inDomains(s.domains(), domain);
    }

    /** Whether the recipient is known; true for domains the map does not cover. */
    boolean accepts(MailAddress to, String delimiters) {
        Snapshot s = snapshot;
        String domain = to.domain().toLowerCase(Locale.ROOT);
        if (!covered(s, domain) || s.wildcards().contains(domain)) {
            return true;
        }
        String local = to.localPart().toLowerCase(Locale.ROOT);
        if (s.addresses().contains(local + "@" + domain)) {
            return true;
        }
        int cut = extension(local, delimiters);
        return cut > 0 && s.addresses().contains(local.substring(0, cut) + "@" + domain);
    }

    /** Where a local part's address extension starts (its first delimiter, as Postfix's recipient_delimiter), or -1. */
    static int extension(String local, String delimiters) {
        if (delimiters == null || delimiters.isEmpty()) {
            return -1;
        }
        for (int i = 0; i < local.length(); i++) {
            if (delimiters.indexOf(local.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }
}
