package org.hermod.api.shaping;

import java.util.List;
import java.util.Objects;

/**
 * A destination site: the set of MX hosts that one or many recipient domains share (thousands of Google-hosted domains
 * are one site), so limits and connection reuse apply per site, not per recipient domain.
 *
 * @param key the site's identity: the lower-cased MX host names, sorted and joined by commas (for a domain without MX,
 *        its own name); for a failed lookup, the domain itself
 * @param provider the provider rule that matched the MX hosts or the domain (e.g. "gmail", "microsoft"), or null
 * @param mxHosts the MX host names, in preference order
 */
public record Site(String key, String provider, List<String> mxHosts) {

    public Site {
        Objects.requireNonNull(key, "key");
        mxHosts = List.copyOf(mxHosts == null ? List.of() : mxHosts);
    }
}
