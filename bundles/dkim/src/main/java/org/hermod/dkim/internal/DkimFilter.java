package org.hermod.dkim.internal;

import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.hermod.api.Envelope;
import org.hermod.api.filter.DataFilter;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.FilterProperties;
import org.hermod.api.filter.MessageData;
import org.hermod.api.filter.SessionInfo;
import org.hermod.api.routing.Route;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DKIM signing as an end-of-data filter named {@code dkim}. Its ranking is the lowest possible, so it runs after every
 * other filter and signs the content as they left it. Configuration {@code etc/org.hermod.dkim.cfg} applies live;
 * key files are polled for changes. See ADR 0013.
 *
 * <p>The filter service is registered only while some signature is configured (or while a broken first configuration
 * must defer mail): with nothing to sign, the end-of-data stage does not wait for it at all.
 */
@Component(service = {}, immediate = true, configurationPid = "org.hermod.dkim",
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = DkimConfig.class)
public final class DkimFilter implements DataFilter {

    private static final Logger LOG = LoggerFactory.getLogger(DkimFilter.class);

    private final KeyRing keys = new KeyRing();
    private volatile MessageSigner signer;
    private BundleContext context;
    private ScheduledExecutorService poller;
    private ScheduledFuture<?> poll;
    private ServiceRegistration<DataFilter> registration;

    @Activate
    void activate(BundleContext ctx, DkimConfig config) {
        context = ctx;
        poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hermod-dkim-keys");
            t.setDaemon(true);
            return t;
        });
        apply(config);
    }

    @Modified
    void modified(DkimConfig config) {
        apply(config);
    }

    @Deactivate
    synchronized void deactivate() {
        poller.shutdownNow();
        register(false);
    }

    /** Registers or unregisters this filter as a {@link DataFilter} service. */
    private void register(boolean wanted) {
        if (wanted && registration == null && context != null) {
            Dictionary<String, Object> props = new Hashtable<>();
            props.put(FilterProperties.NAME, "dkim");
            props.put(Constants.SERVICE_RANKING, Integer.MIN_VALUE);
            registration = context.registerService(DataFilter.class, this, props);
        } else if (!wanted && registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException e) {
                // already gone with the bundle
            }
            registration = null;
        }
    }

    private synchronized void apply(DkimConfig config) {
        Path dir = keyDirectory(config.keyDirectory());
        try {
            SigningClients clients = SigningClients.parse(config.signClients());
            HeaderPolicy policy = HeaderPolicy.parse(config.signedHeaders(), config.oversignedHeaders());
            String onFailure = config.onKeyFailure().strip().toLowerCase(Locale.ROOT);
            if (!onFailure.equals("defer") && !onFailure.equals("unsigned")) {
                throw new IllegalArgumentException("onKeyFailure must be defer or unsigned, not " + onFailure);
            }
            keys.configure(SignatureEntry.parse(config.signatures(), dir));
            signer = new MessageSigner(keys, policy, clients, config.envelopeSenderFallback(), config.expirySeconds(),
                    onFailure.equals("defer"));
            LOG.info("DKIM signing: {} signatures configured, key directory {}", keys.all().size(), dir);
            register(!keys.all().isEmpty());
        } catch (IllegalArgumentException e) {
            // A broken configuration must not let mail pass unsigned: keep the previous one, or defer everything.
            LOG.error("DKIM configuration org.hermod.dkim not applied: {}{}", e.getMessage(),
                    signer == null ? "; all mail is deferred until it is fixed" : "; the previous one stays");
            if (signer == null) {
                register(true);
            }
        }
        if (poll != null) {
            poll.cancel(false);
        }
        long every = Math.max(100, config.keyPollMillis());
        poll = poller.scheduleWithFixedDelay(this::checkKeys, every, every, TimeUnit.MILLISECONDS);
    }

    private void checkKeys() {
        try {
            keys.checkForChanges();
        } catch (RuntimeException e) {
            LOG.warn("checking DKIM key files: {}", e.toString());
        }
    }

    private Path keyDirectory(String configured) {
        String etc = context == null ? null : context.getProperty("karaf.etc");
        Path base = Path.of(etc == null ? System.getProperty("java.io.tmpdir") : etc);
        if (configured == null || configured.isBlank()) {
            return base.resolve("dkim");
        }
        Path p = Path.of(configured.strip().replace("${karaf.etc}", base.toString()));
        return p.isAbsolute() ? p : base.resolve(p);
    }

    @Override
    public FilterDecision onData(SessionInfo session, Envelope envelope, Route route, MessageData message)
            throws Exception {
        MessageSigner s = signer;
        if (s == null) {
            return FilterDecision.defer(451, "4.3.0", MessageSigner.DEFER_TEXT);
        }
        return s.sign(session, envelope, message, System.currentTimeMillis() / 1000);
    }
}
