package org.hermod.delivery.internal.tls;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.List;

import org.junit.Test;

public class MtaStsPolicyTest {

    @Test
    public void parsesThePolicyOfRfc8461() {
        MtaStsPolicy p = MtaStsPolicy.parse("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
                + "mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n");
        assertEquals(MtaStsPolicy.Mode.ENFORCE, p.mode());
        assertEquals(List.of("mail.example.com", "*.example.net", "backupmx.example.com"), p.mx());
        assertEquals(Duration.ofDays(7), p.maxAge());
        // LF line ends, unknown fields, upper-case patterns with a trailing dot
        MtaStsPolicy q = MtaStsPolicy.parse("version: STSv1\nmode: testing\nmx: MX1.Example.ORG.\nmax_age: 86400\n"
                + "extension: whatever\n");
        assertEquals(MtaStsPolicy.Mode.TESTING, q.mode());
        assertEquals(List.of("mx1.example.org"), q.mx());
        // the stored form parses to the same policy
        assertEquals(p, MtaStsPolicy.parse(p.text()));
    }

    @Test
    public void rejectsInvalidPolicies() {
        assertInvalid("mode: enforce\nmx: a.test\nmax_age: 10\n", "version must be STSv1");
        assertInvalid("version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 10\n", "version must be STSv1");
        assertInvalid("version: STSv1\nmode: strict\nmx: a.test\nmax_age: 10\n", "mode must be");
        assertInvalid("version: STSv1\nmode: enforce\nmx: a.test\n", "max_age");
        assertInvalid("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -5\n", "max_age");
        assertInvalid("version: STSv1\nmode: enforce\nmax_age: 10\n", "at least one mx");
        assertInvalid("version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 10\n", "bad mx pattern");
        assertInvalid("<html>not found</html>\n", "key: value");
    }

    @Test
    public void modeNoneNeedsNoMxAndMaxAgeIsCappedAtOneYear() {
        MtaStsPolicy p = MtaStsPolicy.parse("version: STSv1\nmode: none\nmax_age: 9999999999\n");
        assertEquals(MtaStsPolicy.Mode.NONE, p.mode());
        assertEquals(Duration.ofSeconds(MtaStsPolicy.MAX_AGE_LIMIT), p.maxAge());
    }

    @Test
    public void wildcardsMatchExactlyOneLeftmostLabel() {
        MtaStsPolicy p = MtaStsPolicy.parse("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n"
                + "max_age: 60\n");
        assertTrue(p.matches("mail.example.com"));
        assertTrue(p.matches("MAIL.Example.com."));
        assertTrue(p.matches("mx1.example.net"));
        assertFalse(p.matches("example.net"));
        assertFalse(p.matches("a.b.example.net"));
        assertFalse(p.matches("other.example.com"));
        assertFalse(p.matches("mail.example.com.evil.test"));
        assertFalse(p.matches("xexample.net"));
    }

    private static void assertInvalid(String text, String why) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MtaStsPolicy.parse(text));
        assertTrue(e.getMessage(), e.getMessage().contains(why));
    }
}
