package org.hermod.routing.internal;

import java.util.List;
import java.util.function.Function;

import org.hermod.api.MailAddress;
import org.hermod.api.filter.HeaderField;

/** One condition of a rule. Immutable. */
interface Condition {

    /** Null when the facts do not match; else what matched, for route-test (e.g. {@code to-domain=x matched a@x}). */
    String test(Facts f);

    /** The sender's address or domain against a pattern. */
    static Condition sender(String key, TextPattern p, Function<MailAddress, String> part) {
        return f -> f.sender() != null && p.matches(part.apply(f.sender()))
                ? key + "=" + p + " matched " + (f.sender().isNullSender() ? "<>" : f.sender()) : null;
    }

    /** Any recipient's address or domain against a pattern. */
    static Condition recipient(String key, TextPattern p, Function<MailAddress, String> part) {
        return f -> {
            for (MailAddress r : f.recipients()) {
                if (p.matches(part.apply(r))) {
                    return key + "=" + p + " matched " + r;
                }
            }
            return null;
        };
    }

    static Condition client(List<Cidr> nets) {
        return f -> {
            for (Cidr c : nets) {
                if (c.contains(f.client())) {
                    return "client=" + c + " matched " + f.client();
                }
            }
            return null;
        };
    }

    /** {@code user=-}: not authenticated; otherwise the authenticated user against a pattern. */
    static Condition user(String raw, TextPattern p) {
        if (raw.equals("-")) {
            return f -> f.user() == null ? "user=- (not authenticated)" : null;
        }
        return f -> f.user() != null && p.matches(f.user()) ? "user=" + p + " matched " + f.user() : null;
    }

    static Condition header(String name, TextPattern p) {
        return f -> {
            if (f.headers() == null) {
                return null;
            }
            for (HeaderField h : f.headers()) {
                if (h.name().equalsIgnoreCase(name) && p.matches(h.value())) {
                    return "header:" + name + "=" + p + " matched \"" + h.value() + "\"";
                }
            }
            return null;
        };
    }

    static Condition size(boolean greater, long limit, String text) {
        return f -> f.size() >= 0 && (greater ? f.size() > limit : f.size() < limit)
                ? text + " matched " + f.size() : null;
    }

    static Condition any() {
        return f -> "any";
    }

    static Condition not(Condition c, String text) {
        return f -> c.test(f) == null ? "!" + text : null;
    }
}
