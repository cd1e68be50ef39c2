package org.hermod.delivery.internal.egress;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.EgressSource;
import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.Site;

/**
 * Where one delivery leaves from and goes to, and the limits in force on that path when it started.
 *
 * @param source the local identity (address and EHLO name)
 * @param site the destination site
 * @param limits the path's limits (messages per connection, recipients per transaction)
 * @param bounceReason non-null when shaping returns the path's mail to its senders instead of sending it
 */
public record Egress(EgressSource source, Site site, Limits limits, String bounceReason) {

    public Egress(EgressSource source, Site site, Limits limits) {
        this(source, site, limits, null);
    }

    public EgressPath path() {
        return new EgressPath(source.name(), site.key());
    }

    /** The connection-pool key: connections are reused across every domain of the site, from one source. */
    public String poolKey() {
        return source.name() + "->" + site.key();
    }
}
