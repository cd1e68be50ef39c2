package org.hermod.smtp.internal;

import static org.junit.Assert.assertEquals;

import java.util.Map;

import org.junit.Test;

/** The listener name routing filters see (SessionInfo.listener) comes from the listener's configuration. */
public class SmtpListenerNameTest {

    @Test
    public void theNameIsTheConfigurationFilesSuffixOrTheNamedPidElseTheMode() {
        assertEquals("submission", SmtpListener.name(Map.of("felix.fileinstall.filename",
                "file:/opt/hermod/etc/org.hermod.smtp.listener-submission.cfg",
                "service.pid", "org.hermod.smtp.listener.4f2a"), ListenerMode.SUBMISSION));
        assertEquals("partners", SmtpListener.name(Map.of("service.pid", "org.hermod.smtp.listener~partners"),
                ListenerMode.MTA));
        assertEquals("submissions", SmtpListener.name(Map.of("service.pid", "org.hermod.smtp.listener.4f2a"),
                ListenerMode.SUBMISSIONS));
    }

    @Test
    public void aListenerNamedLocalIsNotStarted() throws Exception {
        SmtpListenerConfig c = (SmtpListenerConfig) java.lang.reflect.Proxy.newProxyInstance(
                SmtpListenerConfig.class.getClassLoader(), new Class<?>[] {SmtpListenerConfig.class},
                (proxy, method, args) -> method.getDeclaringClass() == Object.class ? null : method.getDefaultValue());
        // no server: a listener that tried to bind would fail here
        SmtpListener l = new SmtpListener(null, c, Map.of("felix.fileinstall.filename",
                "file:/opt/hermod/etc/org.hermod.smtp.listener-local.cfg"));
        assertEquals(-1, l.port());
        l.stop();
        assertEquals(-1, new SmtpListener(null, c, Map.of("service.pid", "org.hermod.smtp.listener~LOCAL")).port());
    }
}
