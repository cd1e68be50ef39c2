package org.hermod.api.filter;

import java.util.Map;

import org.hermod.api.MailAddress;
import org.osgi.annotation.versioning.ConsumerType;

/** Called for MAIL FROM after Hermod's own checks passed. Register as an OSGi service; see {@link FilterProperties}. */
@ConsumerType
@FunctionalInterface
public interface MailFilter {

    /**
     * @param sender the reverse-path ({@link MailAddress#NULL_SENDER} for bounces)
     * @param parameters the ESMTP parameters, keys upper case (SIZE, BODY, RET, ENVID, SMTPUTF8, AUTH),
     *        in command order, unmodifiable; a parameter given without a value (SMTPUTF8) maps to {@code null}
     */
    FilterDecision onMail(SessionInfo session, MailAddress sender, Map<String, String> parameters) throws Exception;
}
