package org.hermod.api.shaping;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The shaping service (bundle {@code hermod-shaping}): the configured egress model, the limits in force on every path
 * (configuration by precedence, then the assigned {@link ShapingStrategy}), the rate limiters, and the operator's
 * controls. Delivery asks it which source to send from, whether a message or connection may start now, and reports
 * every outcome back. Sources with a warmup plan are skipped by {@link #choose} once their day's cap for the
 * provider is used up. Without it, delivery sends from one default source with its own static limits.
 *
 * <p>Threading: every method is thread-safe and non-blocking; the hot ones ({@link #choose}, {@link #decide},
 * {@link #acquireMessage}, {@link #acquireConnection}, {@link #feedback}) do no I/O.
 */
@ProviderType
public interface Shaping {

    /** The configured sources. */
    List<EgressSource> sources();

    /** The configured pools. */
    List<Pool> pools();

    /** The pool for mail from this sender domain (the default pool when no mapping matches). */
    String poolFor(String senderDomain);

    /** The provider whose rules match these MX hosts or this domain, or null. */
    String providerOf(List<String> mxHosts, String domain);

    /**
     * The source a message to {@code site} should leave from now: weighted over the pool's members that are not
     * suspended, or empty when every member is held (then the message waits).
     */
    Optional<EgressSource> choose(String pool, Site site, String domain, Instant now);

    /** The limits in force on the path now (configuration by precedence, then the strategy). */
    PathDecision decide(EgressPath path, Site site, String domain, Instant now);

    /**
     * Takes one message token of the path (and of its site and source overall).
     *
     * @return 0 when the message may start now, else how long until the next token is due (nothing is taken then)
     */
    Duration acquireMessage(EgressPath path, Site site, String domain, Instant now);

    /** As {@link #acquireMessage} for opening a new connection. */
    Duration acquireConnection(EgressPath path, Site site, String domain, Instant now);

    /**
     * Connections that may be open at once to the site across all sources (a {@code site-limits connections=} line),
     * or 0 when only the per-path limits apply.
     */
    int maxSiteConnections(Site site, String domain);

    /** Connections that may be open at once from the source across all sites, or 0 when unlimited. */
    int maxSourceConnections(String source);

    /** One attempt's outcome: feeds the strategy, whose changes become events. */
    void feedback(Feedback feedback);

    /** The configured limits of a path and the rule line each value came from. */
    Explanation explain(EgressPath path, Site site, String domain);

    /** The most recent automatic and operator changes, newest first; filters may be null. */
    List<ShapingEvent> events(String site, String source, int limit);

    /** The state of every throttled or suspended path. */
    List<PathState> state();

    /**
     * Suspends a path, a whole site (every source) or a whole source (every site): {@code target} is
     * {@code source->site}, a site key, or a source name.
     */
    ShapingEvent suspend(String target, Duration duration, String reason);

    /** Lifts an operator's or a strategy's suspension; empty when nothing was suspended. */
    Optional<ShapingEvent> resume(String target);

    /**
     * The warmup state of every source with a warmup plan (rules file {@code warmup} lines), per provider or site it
     * has sent to: day, today's cap and count, and whether advancement is held back. Empty without warmup plans.
     *
     * @param source only this source, or null for all
     * @since 1.1
     */
    List<WarmupStatus> warmup(String source);

    /**
     * @param limits the configured limits of the path
     * @param origins for each field of {@link Limits} ("maxConnections", "messagesPerSecond", ...), the rule that set
     *        it, e.g. {@code etc/hermod-shaping.rules:12 provider gmail}, or "default"
     * @param strategy the name of the strategy assigned to the path
     */
    record Explanation(Limits limits, java.util.Map<String, String> origins, String strategy) {
    }
}
