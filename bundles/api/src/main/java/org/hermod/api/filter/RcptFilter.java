package org.hermod.api.filter;

import org.hermod.api.MailAddress;
import org.hermod.api.Recipient;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Called for each RCPT TO after Hermod's own checks (relay permission, recipient validation) passed.
 * Register as an OSGi service; see {@link FilterProperties}.
 */
@ConsumerType
@FunctionalInterface
public interface RcptFilter {

    FilterDecision onRcpt(SessionInfo session, MailAddress sender, Recipient recipient) throws Exception;
}
