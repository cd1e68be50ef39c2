package org.hermod.shaping.internal;

import java.util.List;
import java.util.Locale;

/**
 * {@code provider NAME mx=*.google.com,aspmx.l.google.com domains=gmail.com,googlemail.com}: a provider is recognised
 * by the suffix ({@code *.x}) or full name of any of its MX hosts, or else by the recipient domain.
 */
public record ProviderRule(String name, List<String> mxPatterns, List<String> domains, Origin origin) {

    public ProviderRule {
        mxPatterns = List.copyOf(mxPatterns);
        domains = List.copyOf(domains);
    }

    public boolean matchesMx(List<String> mxHosts) {
        for (String host : mxHosts) {
            String h = trimDot(host.toLowerCase(Locale.ROOT));
            for (String p : mxPatterns) {
                if (p.startsWith("*.") ? h.endsWith(p.substring(1)) : h.equals(p)) {
                    return true;
                }
            }
        }
        return false;
    }

    public boolean matchesDomain(String domain) {
        return domain != null && domains.contains(trimDot(domain.toLowerCase(Locale.ROOT)));
    }

    static String trimDot(String s) {
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }
}
