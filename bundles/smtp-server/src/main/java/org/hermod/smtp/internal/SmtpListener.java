package org.hermod.smtp.internal;

import java.net.InetSocketAddress;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;

import io.netty.channel.Channel;

/**
 * One extra listener per factory configuration {@code org.hermod.smtp.listener} (e.g.
 * etc/org.hermod.smtp.listener-submission.cfg with {@code port = 587} and {@code mode = submission}). Its sessions
 * share the server's settings, certificate, authenticator and per-client counters; only the TLS and AUTH rules differ.
 */
@Component(configurationPid = "org.hermod.smtp.listener", configurationPolicy = ConfigurationPolicy.REQUIRE,
        immediate = true, service = SmtpListener.class)
@Designate(ocd = SmtpListenerConfig.class, factory = true)
public final class SmtpListener {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SmtpListener.class);
    /**
     * The listener name the DKIM bundle takes for Hermod's own, locally generated mail ({@code SessionInfo.listener()}
     * equal to it is signed as local): a network listener must never carry it.
     */
    static final String RESERVED = "local";

    private final SmtpServer server;
    private final String name;
    private Channel channel;
    private String bound;

    @Activate
    public SmtpListener(@Reference SmtpServer server, SmtpListenerConfig config, java.util.Map<String, Object> props)
            throws InterruptedException {
        this.server = server;
        this.name = name(props, ListenerMode.parse(config.mode()));
        if (name.equalsIgnoreCase(RESERVED)) {
            LOG.error("SMTP listener {} not started: the name '{}' is reserved for locally generated mail (its"
                    + " clients' mail would be DKIM-signed as Hermod's own); rename the configuration, e.g."
                    + " org.hermod.smtp.listener-internal.cfg", props.get("service.pid"), name);
            return;
        }
        bind(config);
    }

    /**
     * The listener's name as filters see it: the configuration's name ({@code listener-submission.cfg} and
     * {@code org.hermod.smtp.listener~submission} both give {@code submission}), else the mode.
     */
    static String name(java.util.Map<String, Object> props, ListenerMode mode) {
        Object file = props.get("felix.fileinstall.filename");
        if (file != null) {
            String f = file.toString();
            int dash = f.lastIndexOf("org.hermod.smtp.listener-");
            if (dash >= 0 && f.endsWith(".cfg")) {
                return f.substring(dash + "org.hermod.smtp.listener-".length(), f.length() - 4);
            }
        }
        Object pid = props.get("service.pid");
        if (pid != null && pid.toString().indexOf('~') > 0) {
            return pid.toString().substring(pid.toString().indexOf('~') + 1);
        }
        return mode.name().toLowerCase(java.util.Locale.ROOT);
    }

    private void bind(SmtpListenerConfig c) throws InterruptedException {
        ListenerMode mode = ListenerMode.parse(c.mode());
        channel = server.bind(c.bindAddress(), c.port(), mode, name);
        bound = c.bindAddress() + ":" + c.port() + ":" + mode;
    }

    @Modified
    void modified(SmtpListenerConfig c) throws InterruptedException {
        if (channel == null) {
            return; // refused at activation; its name cannot change without a new configuration
        }
        if (!bound.equals(c.bindAddress() + ":" + c.port() + ":" + ListenerMode.parse(c.mode()))) {
            channel.close().syncUninterruptibly();
            bind(c);
        }
    }

    @Deactivate
    void stop() {
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
    }

    /** The port actually bound, or -1 when the listener was refused (a reserved name). */
    public int port() {
        return channel == null ? -1 : ((InetSocketAddress) channel.localAddress()).getPort();
    }
}
