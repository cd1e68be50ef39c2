package org.hermod.delivery.internal.smtp;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.hermod.api.SmtpReply;

/**
 * What the peer announced in its EHLO reply. A HELO peer has none.
 *
 * @param esmtp whether EHLO was accepted
 * @param keywords upper-case extension keywords
 * @param maxSize the SIZE limit in bytes, 0 when none was announced
 */
public record Capabilities(boolean esmtp, Set<String> keywords, long maxSize) {

    public static final Capabilities HELO = new Capabilities(false, Set.of(), 0);

    public static Capabilities fromEhlo(SmtpReply reply) {
        Set<String> kw = new HashSet<>();
        long size = 0;
        List<String> lines = reply.lines();
        for (int i = 1; i < lines.size(); i++) {
            String[] parts = lines.get(i).trim().split("\\s+");
            if (parts.length == 0 || parts[0].isEmpty()) {
                continue;
            }
            String k = parts[0].toUpperCase(Locale.ROOT);
            kw.add(k);
            if (k.equals("SIZE") && parts.length > 1) {
                try {
                    size = Long.parseLong(parts[1]);
                } catch (NumberFormatException ignored) {
                    // no limit
                }
            }
        }
        return new Capabilities(true, Set.copyOf(kw), size);
    }

    public boolean has(String keyword) {
        return keywords.contains(keyword);
    }

    public boolean pipelining() {
        return has("PIPELINING");
    }

    public boolean startTls() {
        return has("STARTTLS");
    }

    public boolean eightBitMime() {
        return has("8BITMIME");
    }

    public boolean smtpUtf8() {
        return has("SMTPUTF8");
    }

    public boolean dsn() {
        return has("DSN");
    }

    public boolean size() {
        return has("SIZE");
    }
}
