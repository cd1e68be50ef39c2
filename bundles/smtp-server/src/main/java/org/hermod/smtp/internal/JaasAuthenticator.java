package org.hermod.smtp.internal;

import java.security.Principal;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import javax.security.auth.Subject;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.LoginContext;
import javax.security.auth.login.LoginException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks credentials against a JAAS realm, by default Karaf's "karaf" realm (etc/users.properties), so operators manage
 * SMTP users where they already manage console users. Logins run on two worker threads, never on an event loop, with a
 * bounded queue (a flood of AUTH attempts gets "no" rather than memory). With a role configured, the user must have it
 * (Karaf's RolePrincipal, matched by class name so that no Karaf package is imported).
 */
final class JaasAuthenticator implements Authenticator {

    private static final Logger LOG = LoggerFactory.getLogger(JaasAuthenticator.class);

    private final ExecutorService workers = new ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(1000), r -> {
                Thread t = new Thread(r, "hermod-smtp-auth");
                t.setDaemon(true);
                // LoginContext loads the realm's login module (Karaf's ProxyLoginModule, on the system class path)
                // through the context class loader; null means the system class loader
                t.setContextClassLoader(null);
                return t;
            });
    private volatile String realm;
    private volatile String role;

    JaasAuthenticator(String realm, String role) {
        update(realm, role);
    }

    void update(String realm, String role) {
        this.realm = realm;
        this.role = role;
    }

    void close() {
        workers.shutdownNow();
    }

    @Override
    public CompletionStage<Boolean> check(String user, char[] password) {
        try {
            return CompletableFuture.supplyAsync(() -> login(user, password), workers);
        } catch (RejectedExecutionException e) {
            LOG.warn("AUTH check queue full; refusing {}", TraceHeaders.printable(user));
            return CompletableFuture.completedFuture(false);
        }
    }

    private boolean login(String user, char[] password) {
        Subject subject = new Subject();
        try {
            LoginContext lc = new LoginContext(realm, subject, callbacks -> {
                for (var cb : callbacks) {
                    if (cb instanceof NameCallback n) {
                        n.setName(user);
                    } else if (cb instanceof PasswordCallback p) {
                        p.setPassword(password);
                    } else {
                        throw new UnsupportedCallbackException(cb);
                    }
                }
            });
            lc.login();
            try {
                String r = role;
                if (r == null || r.isEmpty()) {
                    return true;
                }
                for (Principal p : subject.getPrincipals()) {
                    if (p.getClass().getSimpleName().equals("RolePrincipal") && r.equals(p.getName())) {
                        return true;
                    }
                }
                LOG.info("AUTH: user {} lacks role {}", TraceHeaders.printable(user), r);
                return false;
            } finally {
                lc.logout();
            }
        } catch (LoginException e) {
            LOG.debug("AUTH: login of {} in realm {} failed: {}", TraceHeaders.printable(user), realm, e.toString());
            return false;
        } catch (RuntimeException | LinkageError e) {
            LOG.error("AUTH: realm {} failed", realm, e);
            return false;
        } finally {
            Arrays.fill(password, '\0');
        }
    }
}
