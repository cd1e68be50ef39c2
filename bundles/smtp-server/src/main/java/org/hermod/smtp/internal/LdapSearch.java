package org.hermod.smtp.internal;

import java.util.Hashtable;

import javax.naming.Context;
import javax.naming.NamingEnumeration;
import javax.naming.NamingException;
import javax.naming.SizeLimitExceededException;
import javax.naming.directory.DirContext;
import javax.naming.directory.InitialDirContext;
import javax.naming.directory.SearchControls;
import javax.naming.directory.SearchResult;

/**
 * A {@link RecipientDirectory.Search} over JNDI's LDAP provider (in the JDK): a subtree search under the base DN that
 * asks for no attributes and at most one entry, with connect and read timeouts, bound as the configured DN (anonymous
 * when none). Connections come from the JDK's LDAP connection pool. Blocking: call it on a worker thread.
 */
final class LdapSearch implements RecipientDirectory.Search {

    private final String baseDn;
    private final int timeoutMillis;
    private final Hashtable<String, Object> env = new Hashtable<>();

    LdapSearch(String url, String bindDn, String bindPassword, String baseDn, int timeoutSeconds) {
        if (url == null || !(url.startsWith("ldap://") || url.startsWith("ldaps://"))) {
            throw new IllegalArgumentException("ldapUrl must be ldap://host:port or ldaps://host:port, not " + url);
        }
        this.baseDn = baseDn == null ? "" : baseDn.trim();
        this.timeoutMillis = Math.max(1, timeoutSeconds) * 1000;
        env.put(Context.INITIAL_CONTEXT_FACTORY, "com.sun.jndi.ldap.LdapCtxFactory");
        env.put(Context.PROVIDER_URL, url.trim());
        if (bindDn != null && !bindDn.isBlank()) {
            env.put(Context.SECURITY_AUTHENTICATION, "simple");
            env.put(Context.SECURITY_PRINCIPAL, bindDn.trim());
            env.put(Context.SECURITY_CREDENTIALS, bindPassword == null ? "" : bindPassword);
        } else {
            env.put(Context.SECURITY_AUTHENTICATION, "none");
        }
        env.put("com.sun.jndi.ldap.connect.timeout", String.valueOf(timeoutMillis));
        env.put("com.sun.jndi.ldap.read.timeout", String.valueOf(timeoutMillis));
        env.put("com.sun.jndi.ldap.connect.pool", "true");
        env.put(Context.REFERRAL, "ignore");
    }

    @Override
    public boolean exists(String filter) throws NamingException {
        DirContext ctx = new InitialDirContext(env);
        try {
            SearchControls sc = new SearchControls(SearchControls.SUBTREE_SCOPE, 1, timeoutMillis, new String[0],
                    false, false);
            NamingEnumeration<SearchResult> r = ctx.search(baseDn, filter, sc);
            try {
                return r.hasMore();
            } catch (SizeLimitExceededException e) {
                return true; // more than one entry: the address exists
            } finally {
                r.close();
            }
        } finally {
            ctx.close();
        }
    }
}
