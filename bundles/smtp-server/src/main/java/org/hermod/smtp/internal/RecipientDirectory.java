package org.hermod.smtp.internal;

import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;

import org.hermod.api.MailAddress;
import org.hermod.smtp.internal.RecipientVerifier.Result;
import org.hermod.smtp.internal.RecipientVerifier.Verdict;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Valid recipients of some relay domains ({@code ldapDomains}, with their subdomains, as relay domains are matched)
 * from an LDAP directory. The directory is searched with a filter built from a template ({@link LdapFilters}); an
 * entry found means the recipient is valid, none means unknown ({@code 550 5.1.1} at RCPT), and a directory that
 * cannot be reached or does not answer in time means "try later" ({@code 451 4.4.3}): an unknown recipient is never
 * accepted because the directory was down. With an address extension delimiter, {@code user+tag@d} that is not itself
 * in the directory is looked up as {@code user@d}. Searches run on a bounded pool of worker threads, never on an event
 * loop; answers are cached ({@link VerdictCache}).
 */
final class RecipientDirectory {

    private static final Logger LOG = LoggerFactory.getLogger(RecipientDirectory.class);

    /** Runs one search: whether any entry matches the filter. Throws when the directory cannot answer. */
    @FunctionalInterface
    interface Search {
        boolean exists(String filter) throws Exception;
    }

    private final Set<String> domains;
    private final String template;
    private final Search search;
    private final VerdictCache cache;
    private final String description;

    RecipientDirectory(Set<String> domains, String template, Search search, int threads, long positiveTtlSeconds,
                       long negativeTtlSeconds, LongSupplier clock, String description) {
        LdapFilters.validate(template);
        this.domains = Set.copyOf(domains);
        this.template = template;
        this.search = search;
        this.description = description;
        this.cache = new VerdictCache("hermod-smtp-ldap", threads, 1000, positiveTtlSeconds, negativeTtlSeconds, clock);
    }

    /** Whether this directory decides the recipients of {@code domain}: it or a parent is one of its domains. */
    boolean serves(String domain) {
        return SmtpSettings.inDomains(domains, domain.toLowerCase(Locale.ROOT));
    }

    /** Looks the recipient up; never completes exceptionally. */
    CompletionStage<Verdict> lookup(MailAddress to, String delimiters) {
        String local = to.localPart();
        String domain = to.domain().toLowerCase(Locale.ROOT);
        String key = local.toLowerCase(Locale.ROOT) + "@" + domain;
        return cache.get(key, () -> check(local, domain, delimiters));
    }

    private Verdict check(String local, String domain, String delimiters) {
        try {
            if (search.exists(LdapFilters.expand(template, local, domain))) {
                return new Verdict(Result.VALID, "found");
            }
            int cut = RecipientMap.extension(local, delimiters);
            if (cut > 0 && search.exists(LdapFilters.expand(template, local.substring(0, cut), domain))) {
                return new Verdict(Result.VALID, "found without extension");
            }
            return new Verdict(Result.UNKNOWN_USER, "not in directory");
        } catch (Exception e) {
            LOG.warn("Recipient lookup of {}@{} in {} failed: {}", TraceHeaders.printable(local), domain, description,
                    e.toString());
            return new Verdict(Result.TRY_LATER, "directory not available");
        }
    }

    String description() {
        return description;
    }

    /** Stops the workers; lookups in progress are answered "try later". */
    void close() {
        cache.close();
    }
}
