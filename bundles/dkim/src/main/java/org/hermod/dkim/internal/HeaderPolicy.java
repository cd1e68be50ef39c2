package org.hermod.dkim.internal;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which header fields a signature covers (the h= tag). Every instance present of a listed field is signed (the
 * verifier takes instances from the bottom up); an over-signed field is listed once more than it occurs, which signs
 * its absence, so that a copy added in transit (a second From: shown to the reader) breaks the signature. From is
 * always signed and always over-signed, present or not (RFC 6376 section 5.4 requires From; section 8.15 describes
 * the attack).
 */
final class HeaderPolicy {

    /** The default signed set, in h= order. */
    static final String DEFAULT_SIGNED = "From, To, Cc, Subject, Date, Message-ID, MIME-Version, Content-Type, "
            + "Content-Transfer-Encoding, Reply-To, In-Reply-To, References, List-Id, List-Unsubscribe, "
            + "List-Unsubscribe-Post";
    /** Over-signed when present (From also when absent). */
    static final String DEFAULT_OVERSIGNED = "From, To, Cc, Subject, Date, Message-ID, Reply-To, List-Unsubscribe, "
            + "List-Unsubscribe-Post";

    private final List<String> signed;
    private final Set<String> oversigned;

    HeaderPolicy(List<String> signed, Set<String> oversigned) {
        Set<String> s = new LinkedHashSet<>();
        s.add("from");
        signed.forEach(n -> s.add(n.toLowerCase(Locale.ROOT)));
        this.signed = List.copyOf(s);
        Set<String> o = new LinkedHashSet<>();
        o.add("from");
        oversigned.forEach(n -> o.add(n.toLowerCase(Locale.ROOT)));
        this.oversigned = Set.copyOf(o);
    }

    /** From comma- or colon-separated lists, as in the configuration. */
    static HeaderPolicy parse(String signedList, String oversignedList) {
        return new HeaderPolicy(names(signedList), new LinkedHashSet<>(names(oversignedList)));
    }

    static HeaderPolicy defaults() {
        return parse(DEFAULT_SIGNED, DEFAULT_OVERSIGNED);
    }

    private static List<String> names(String list) {
        List<String> out = new ArrayList<>();
        if (list != null) {
            for (String n : list.split("[,:\\s]+")) {
                if (!n.isBlank()) {
                    if (n.chars().anyMatch(c -> c <= ' ' || c > '~' || c == ';' || c == '=')) {
                        throw new IllegalArgumentException("not a header field name: " + n);
                    }
                    out.add(n);
                }
            }
        }
        return out;
    }

    /** The h= names for this message's header fields, lower case, in order. */
    List<String> namesFor(List<RawHeader> headers) {
        List<String> h = new ArrayList<>();
        for (String name : signed) {
            int present = (int) headers.stream().filter(f -> f.name().equalsIgnoreCase(name)).count();
            int times = present;
            if (oversigned.contains(name) && (present > 0 || name.equals("from"))) {
                times++;
            }
            for (int i = 0; i < times; i++) {
                h.add(name);
            }
        }
        return h;
    }
}
