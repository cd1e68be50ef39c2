package org.hermod.api;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** The enhanced status check that the reply parser (remote replies) and filter decisions (our replies) share. */
public class SmtpReplyTest {

    @Test
    public void anEnhancedStatusFitsOnlyItsOwnClassOfReplyCode() {
        assertTrue(SmtpReply.isEnhancedStatusOf("5.1.1", 550));
        assertTrue(SmtpReply.isEnhancedStatusOf("4.7.650", 421));
        assertTrue(SmtpReply.isEnhancedStatusOf("2.0.0", 250));
        assertFalse("class and code differ", SmtpReply.isEnhancedStatusOf("4.2.2", 552));
        assertFalse("class 3 does not exist", SmtpReply.isEnhancedStatusOf("3.0.0", 354));
    }

    @Test
    public void anythingElseIsNoEnhancedStatus() {
        for (String s : new String[] {null, "", "5", "5.1", "5.1.", "5..1", "5.1.1.", "5.1234.1", "5.1.1234", "5.a.1",
            "5.1.1 ", " 5.1.1", "550"}) {
            assertFalse(String.valueOf(s), SmtpReply.isEnhancedStatusOf(s, 550));
        }
    }
}
