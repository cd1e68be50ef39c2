package org.hermod.example.filter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Map;

import org.hermod.api.Envelope;
import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.hermod.api.filter.FilterDecision;
import org.hermod.api.filter.HeaderField;
import org.hermod.api.filter.MessageData;
import org.hermod.api.filter.SessionInfo;
import org.hermod.api.routing.Route;
import org.junit.Test;

public class ExampleFiltersTest {

    private static final SessionInfo S = SessionInfo.local("t");

    static ExampleFilterConfig config(Map<String, String> values) {
        return (ExampleFilterConfig) Proxy.newProxyInstance(ExampleFilterConfig.class.getClassLoader(),
                new Class<?>[] {ExampleFilterConfig.class}, (p, m, a) -> m.getName().equals("annotationType")
                        ? ExampleFilterConfig.class : values.getOrDefault(m.getName(), (String) m.getDefaultValue()));
    }

    private static FilterDecision rcpt(DomainBlocklistFilter f, String to) {
        return f.onRcpt(S, MailAddress.parse("a@app.test"), Recipient.of(MailAddress.parse(to)));
    }

    @Test
    public void blocklistRefusesListedDomainsAndTheirSubdomainsOnly() {
        DomainBlocklistFilter f = new DomainBlocklistFilter();
        f.configure(config(Map.of("blockedDomains", " Blocked.test , other.test")));
        FilterDecision d = rcpt(f, "u@blocked.test");
        assertEquals(FilterDecision.Action.REJECT, d.action());
        assertEquals(550, d.reply().code());
        assertEquals("5.7.1", d.reply().enhancedStatus());
        assertTrue(d.reply().text().contains("blocked.test"));
        assertEquals(FilterDecision.Action.REJECT, rcpt(f, "u@mx.BLOCKED.test").action());
        assertEquals(FilterDecision.Action.CONTINUE, rcpt(f, "u@notblocked.test").action());
        assertEquals(FilterDecision.Action.CONTINUE, rcpt(f, "u@test").action());
        f.configure(config(Map.of()));
        assertEquals("a configuration change applies at once", FilterDecision.Action.CONTINUE,
                rcpt(f, "u@blocked.test").action());
    }

    @Test
    public void senderCheckRefusesListedSenderDomainsButNeverTheNullSender() {
        SenderBlocklistFilter f = new SenderBlocklistFilter();
        f.configure(config(Map.of("blockedSenders", "spam.test")));
        FilterDecision d = f.onMail(S, MailAddress.parse("x@news.spam.test"), Map.of());
        assertEquals(FilterDecision.Action.REJECT, d.action());
        assertEquals("5.7.1", d.reply().enhancedStatus());
        assertEquals(FilterDecision.Action.CONTINUE, f.onMail(S, MailAddress.parse("x@app.test"), Map.of()).action());
        assertEquals(FilterDecision.Action.CONTINUE, f.onMail(S, MailAddress.NULL_SENDER, Map.of()).action());
    }

    private static MessageData message(List<HeaderField> headers) {
        return new MessageData() {
            public List<HeaderField> headers() {
                return headers;
            }

            public String header(String name) {
                return headers.stream().filter(h -> h.name().equalsIgnoreCase(name)).map(HeaderField::value)
                        .findFirst().orElse(null);
            }

            public InputStream body() {
                return new ByteArrayInputStream(new byte[0]);
            }

            public InputStream content() {
                return new ByteArrayInputStream(new byte[0]);
            }

            public long size() {
                return 0;
            }
        };
    }

    private static Envelope from(String sender) {
        return Envelope.local(MailAddress.parse(sender), List.of(Recipient.of(MailAddress.parse("r@x.test"))),
                Envelope.BodyType.SEVEN_BIT);
    }

    @Test
    public void tenantStampReplacesTheHeaderAndSetsTheRouteTenant() {
        TenantStampFilter f = new TenantStampFilter();
        f.configure(config(Map.of("tenants", "app.test=acme, beta.test=beta", "header", "X-Customer")));
        FilterDecision d = f.onData(S, from("a@mail.app.test"), Route.DEFAULT,
                message(List.of(new HeaderField("X-Customer", "forged"))));
        assertEquals(List.of(new HeaderField("X-Customer", "acme")), d.headersAdded());
        assertEquals(List.of("X-Customer"), d.headersRemoved());
        assertEquals("acme", d.route().tenant());
        assertEquals(FilterDecision.Action.CONTINUE, d.action());

        FilterDecision routed = f.onData(S, from("a@app.test"), Route.DEFAULT.withTenant("from-router"),
                message(List.of()));
        assertEquals("a tenant already on the route wins", "from-router", routed.headersAdded().get(0).value());

        assertEquals(FilterDecision.proceed(), f.onData(S, from("a@unknown.test"), Route.DEFAULT, message(List.of())));
        assertEquals(FilterDecision.proceed(), f.onData(S, from(""), Route.DEFAULT, message(List.of())));
    }
}
