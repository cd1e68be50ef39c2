package org.hermod.delivery.internal.egress;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import org.hermod.api.shaping.EgressPath;
import org.hermod.api.shaping.EgressSource;
import org.hermod.api.shaping.Feedback;
import org.hermod.api.shaping.Limits;
import org.hermod.api.shaping.PathDecision;
import org.hermod.api.shaping.PathState;
import org.hermod.api.shaping.Pool;
import org.hermod.api.shaping.ShapingEvent;
import org.hermod.api.shaping.Site;
import org.hermod.delivery.internal.DeliverySettings;

/**
 * Delivery's own shaping when the shaping bundle is not installed: one source (the configured source address and EHLO
 * name), one pool, static limits from the delivery configuration (per site: the domain's maxConnections), no rates,
 * no feedback, no suspensions.
 */
public final class StaticShaping implements org.hermod.api.shaping.Shaping {

    public static final String SOURCE = "default";
    public static final String POOL = "default";

    private final Supplier<DeliverySettings> settings;

    public StaticShaping(Supplier<DeliverySettings> settings) {
        this.settings = settings;
    }

    private EgressSource source() {
        DeliverySettings s = settings.get();
        return new EgressSource(SOURCE, s.sourceAddress(), s.heloName());
    }

    @Override
    public List<EgressSource> sources() {
        return List.of(source());
    }

    @Override
    public List<Pool> pools() {
        return List.of(new Pool(POOL, List.of(new Pool.Member(SOURCE, 1))));
    }

    @Override
    public String poolFor(String senderDomain) {
        return POOL;
    }

    @Override
    public String providerOf(List<String> mxHosts, String domain) {
        return null;
    }

    @Override
    public Optional<EgressSource> choose(String pool, Site site, String domain, Instant now) {
        return Optional.of(source());
    }

    /** No warmup plans without the shaping bundle. */
    @Override
    public List<org.hermod.api.shaping.WarmupStatus> warmup(String source) {
        return List.of();
    }

    @Override
    public PathDecision decide(EgressPath path, Site site, String domain, Instant now) {
        return PathDecision.of(limits(domain));
    }

    private Limits limits(String domain) {
        DeliverySettings s = settings.get();
        return new Limits(s.policy(domain == null ? "" : domain).maxConnections(), s.maxMessagesPerConnection(), 0, 0,
                s.maxRecipientsPerTransaction());
    }

    @Override
    public Duration acquireMessage(EgressPath path, Site site, String domain, Instant now) {
        return Duration.ZERO;
    }

    @Override
    public Duration acquireConnection(EgressPath path, Site site, String domain, Instant now) {
        return Duration.ZERO;
    }

    @Override
    public int maxSiteConnections(Site site, String domain) {
        return 0;
    }

    @Override
    public int maxSourceConnections(String source) {
        return 0;
    }

    @Override
    public void feedback(Feedback feedback) {
        // static limits: nothing adapts
    }

    @Override
    public Explanation explain(EgressPath path, Site site, String domain) {
        return new Explanation(limits(domain), Map.of("all", "etc/org.hermod.delivery.cfg (hermod-shaping not installed)"),
                "static");
    }

    @Override
    public List<ShapingEvent> events(String site, String source, int limit) {
        return List.of();
    }

    @Override
    public List<PathState> state() {
        return List.of();
    }

    @Override
    public ShapingEvent suspend(String target, Duration duration, String reason) {
        throw new IllegalStateException("suspending paths needs the shaping bundle (feature hermod-core installs it);"
                + " hermod:queue-suspend holds a domain");
    }

    @Override
    public Optional<ShapingEvent> resume(String target) {
        return Optional.empty();
    }
}
