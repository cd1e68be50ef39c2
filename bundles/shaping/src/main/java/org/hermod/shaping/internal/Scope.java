package org.hermod.shaping.internal;

import java.util.Locale;

import org.hermod.api.shaping.Site;

/**
 * Which paths a rule line applies to: any combination of provider, site, domain and source (null = any). Its
 * {@link #rank()} orders precedence: default &lt; provider &lt; site &lt; domain &lt; source-specific (a line naming a
 * source beats every line that does not; among those naming a source, the same order applies again).
 */
public record Scope(String provider, String site, String domain, String source) {

    public static final Scope ANY = new Scope(null, null, null, null);

    public Scope {
        provider = norm(provider);
        site = norm(site);
        domain = norm(domain);
        source = source == null || source.isBlank() ? null : source.strip();
    }

    private static String norm(String s) {
        return s == null || s.isBlank() ? null : s.strip().toLowerCase(Locale.ROOT);
    }

    /** 0 for default; higher wins. */
    public int rank() {
        int base = domain != null ? 3 : site != null ? 2 : provider != null ? 1 : 0;
        return source != null ? 4 + base : base;
    }

    /**
     * @param provider the site's provider (may be null)
     * @param source the source, or null when the question is not about one source (then source-specific lines never
     *        match)
     */
    public boolean matches(Site site, String provider, String domain, String source) {
        if (this.provider != null && !this.provider.equals(provider == null ? null : provider.toLowerCase(Locale.ROOT))) {
            return false;
        }
        if (this.site != null && (site == null || !this.site.equals(site.key().toLowerCase(Locale.ROOT)))) {
            return false;
        }
        if (this.domain != null && (domain == null || !this.domain.equals(domain.toLowerCase(Locale.ROOT)))) {
            return false;
        }
        return this.source == null || this.source.equals(source);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        if (provider != null) {
            b.append(" provider=").append(provider);
        }
        if (site != null) {
            b.append(" site=").append(site);
        }
        if (domain != null) {
            b.append(" domain=").append(domain);
        }
        if (source != null) {
            b.append(" source=").append(source);
        }
        return b.length() == 0 ? "default" : b.substring(1);
    }
}
