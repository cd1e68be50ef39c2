package org.hermod.api.filter;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.List;

import org.hermod.api.SmtpReply;
import org.junit.Test;

/** A filter's reply reaches the client's socket as given, so the factories refuse replies unsafe on the wire. */
public class FilterDecisionTest {

    @Test
    public void replyTextWithCrLfCannotInjectReplyLines() {
        assertThrows(IllegalArgumentException.class,
                () -> FilterDecision.reject(550, "5.7.1", "no\r\n250 2.0.0 Ok"));
        assertThrows(IllegalArgumentException.class, () -> FilterDecision.defer(451, "4.7.1", "later\nnow"));
        assertThrows(IllegalArgumentException.class, () -> FilterDecision.defer(451, "4.7.1", "bare\rcr"));
        assertThrows(IllegalArgumentException.class, () -> FilterDecision.reject(550, "5.7.1", "nul\0"));
        assertThrows(IllegalArgumentException.class,
                () -> FilterDecision.reject(new SmtpReply(550, "5.7.1", List.of("ok", "tab\there"))));
    }

    @Test
    public void enhancedStatusClassMustMatchTheCode() {
        assertThrows(IllegalArgumentException.class, () -> FilterDecision.reject(550, "4.7.1", "x"));
        assertThrows(IllegalArgumentException.class, () -> FilterDecision.defer(451, "5.7.1", "x"));
        assertThrows(IllegalArgumentException.class, () -> FilterDecision.defer(451, "4.7", "x"));
        assertThrows(IllegalArgumentException.class, () -> FilterDecision.defer(451, "4.7.1 x", "x"));
        assertEquals(null, FilterDecision.defer(451, null, "x").reply().enhancedStatus());
    }

    @Test
    public void linesAreLimitedTo500Octets() {
        FilterDecision.reject(550, "5.7.1", "a".repeat(500));
        assertThrows(IllegalArgumentException.class, () -> FilterDecision.reject(550, "5.7.1", "a".repeat(501)));
        // 250 two-octet characters fit, 251 do not
        FilterDecision.reject(550, "5.7.1", "é".repeat(250));
        assertThrows(IllegalArgumentException.class, () -> FilterDecision.reject(550, "5.7.1", "é".repeat(251)));
    }

    @Test
    public void printableAsciiAndUtf8TextIsKept() {
        FilterDecision d = FilterDecision.reject(new SmtpReply(554, "5.7.1", List.of("Refusé: spam", "see ✉ 😀")));
        assertEquals("554-5.7.1 Refusé: spam\r\n554 5.7.1 see ✉ 😀\r\n", d.reply().toWire());
    }
}
