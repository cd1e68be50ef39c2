package org.hermod.delivery.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Random;

import org.junit.Test;

public class SettingsTest {

    @Test
    public void exponentialRetryDoublesToCapWithJitter() {
        RetrySchedule p = RetrySchedule.defaults();
        assertEquals(Duration.ofMinutes(5), p.nominal(1));
        assertEquals(Duration.ofMinutes(10), p.nominal(2));
        assertEquals(Duration.ofMinutes(20), p.nominal(3));
        assertEquals(Duration.ofMinutes(160), p.nominal(6));
        assertEquals(Duration.ofHours(4), p.nominal(7));
        assertEquals(Duration.ofHours(4), p.nominal(50));
        Random r = new Random(1);
        boolean below = false;
        boolean above = false;
        for (int i = 0; i < 200; i++) {
            long ms = p.delay(1, r).toMillis();
            assertTrue(ms >= 270_000 && ms <= 330_000);
            below |= ms < 300_000;
            above |= ms > 300_000;
        }
        assertTrue(below && above);
    }

    @Test
    public void explicitScheduleRepeatsItsLastInterval() {
        RetrySchedule p = new RetrySchedule(RetrySchedule.parseSchedule("1m, 5m,30m"), Duration.ofMinutes(5), 2, Duration.ofHours(4), 0);
        assertEquals(Duration.ofMinutes(1), p.delay(1, new Random()));
        assertEquals(Duration.ofMinutes(5), p.delay(2, new Random()));
        assertEquals(Duration.ofMinutes(30), p.delay(3, new Random()));
        assertEquals(Duration.ofMinutes(30), p.delay(9, new Random()));
    }

    @Test
    public void domainOverridesApplyExactlyOrBySuffix() {
        DeliverySettings s = DeliverySettings.defaults().withRetry(RetrySchedule.defaults(), Duration.ofDays(5),
                DomainOverrides.parse("example.com: maxAge=1h, retry=1m; .slow.example: maxConnections=2, tlsRequired=true;"
                        + " list.test: retrySchedule=1m/2m"));
        DomainPolicy ex = s.policy("Example.COM");
        assertEquals(Duration.ofHours(1), ex.maxAge());
        assertEquals(Duration.ofMinutes(1), ex.retry().nominal(1));
        assertEquals(Duration.ofMinutes(2), ex.retry().nominal(2));
        assertEquals(10, ex.maxConnections());
        DomainPolicy slow = s.policy("mx.slow.example");
        assertEquals(2, slow.maxConnections());
        assertTrue(slow.tlsRequired());
        assertEquals(Duration.ofDays(5), slow.maxAge());
        assertFalse(s.policy("slow.example").tlsRequired());
        assertEquals(Duration.ofMinutes(2), s.policy("list.test").retry().nominal(5));
        assertEquals(Duration.ofDays(5), s.policy("other.test").maxAge());
    }

    @Test(expected = IllegalArgumentException.class)
    public void badOverrideKeyIsRejected() {
        DomainOverrides.parse("example.com: maxage=1h");
    }

    @Test
    public void durationsAndHostPorts() {
        assertEquals(Duration.ofMillis(250), Durations.parse("250ms"));
        assertEquals(Duration.ofSeconds(30), Durations.parse("30"));
        assertEquals(Duration.ofDays(5), Durations.parse("5d"));
        assertEquals("4h", Durations.format(Duration.ofHours(4)));
        var hp = DeliverySettings.parseHostPorts("127.0.0.1:5353, [::1]:53, 192.0.2.1", 53);
        assertEquals(List.of(5353, 53, 53), hp.stream().map(a -> a.getPort()).toList());
        assertEquals("0:0:0:0:0:0:0:1", hp.get(1).getHostString().replace("::1", "0:0:0:0:0:0:0:1"));
    }

    private static void rejected(String what, Runnable r) {
        try {
            r.run();
            org.junit.Assert.fail(what + " was accepted");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(what));
        }
    }

    /** A configuration with the annotation's defaults except {@code values}. */
    private static DeliveryConfig config(java.util.Map<String, Object> values) {
        return (DeliveryConfig) java.lang.reflect.Proxy.newProxyInstance(DeliveryConfig.class.getClassLoader(),
                new Class<?>[] {DeliveryConfig.class}, (proxy, m, args) -> {
                    if (m.getDeclaringClass() == Object.class || m.getName().equals("annotationType")) {
                        return m.getName().equals("annotationType") ? DeliveryConfig.class : null;
                    }
                    return values.containsKey(m.getName()) ? values.get(m.getName()) : m.getDefaultValue();
                });
    }

    @Test
    public void tooShortRetryIntervalsAndZeroLimitsAreRejected() {
        assertEquals(25, DeliverySettings.from(config(java.util.Map.of()), "h").smtpPort());
        rejected("retryInitial", () -> DeliverySettings.from(config(java.util.Map.of("retryInitial", "500ms")), "h"));
        rejected("retrySchedule", () -> DeliverySettings.from(config(java.util.Map.of("retrySchedule", "1m,0")), "h"));
        rejected("maxConnections must", () -> DeliverySettings.from(config(java.util.Map.of("maxConnections", 0)), "h"));
        rejected("maxConnectionsPerDomain", () -> DeliverySettings.from(
                config(java.util.Map.of("maxConnectionsPerDomain", 0)), "h"));
        rejected("invalid delivery configuration", () -> DeliverySettings.from(
                config(java.util.Map.of("domainOverrides", "x.test: retry=0")), "h"));
        rejected("'x.test'", () -> DomainOverrides.parse("x.test: retry=999ms"));
        rejected("retrySchedule", () -> DomainOverrides.parse("x.test: retrySchedule=1m/10ms"));
        rejected("maxConnections", () -> DomainOverrides.parse("x.test: maxConnections=0"));
        rejected("maxConnections", () -> DomainOverrides.parse("x.test: maxConnections=-1"));
        assertEquals(Duration.ofSeconds(1), DomainOverrides.parse("x.test: retry=1s").apply("x.test",
                DeliverySettings.defaults().policy("y.test")).retry().nominal(1));
    }

    @Test
    public void theSmarthostTlsPolicyIsMayByDefaultAndOnlyAHostLevel() {
        assertEquals(org.hermod.delivery.internal.tls.TlsLevel.MAY,
                TlsSetup.Settings.from(config(java.util.Map.of()), DeliverySettings.defaults(), "etc", null).smarthostLevel());
        assertEquals(org.hermod.delivery.internal.tls.TlsLevel.ENCRYPT, TlsSetup.smarthostLevel("Encrypt"));
        rejected("tls.smarthostPolicy", () -> TlsSetup.smarthostLevel("dane"));
        rejected("tls.smarthostPolicy", () -> TlsSetup.smarthostLevel("mta-sts"));
        rejected("unknown TLS policy", () -> TlsSetup.smarthostLevel("sometimes"));
    }
}
