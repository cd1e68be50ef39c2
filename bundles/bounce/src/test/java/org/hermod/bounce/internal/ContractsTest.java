package org.hermod.bounce.internal;

import java.nio.file.Path;

import org.hermod.api.bounce.BounceClassifier;
import org.hermod.api.bounce.BounceClassifierContract;
import org.hermod.api.bounce.SuppressionList;
import org.hermod.api.bounce.SuppressionListContract;
import org.hermod.api.delivery.DeliveryListener;
import org.hermod.api.delivery.DeliveryListenerContract;
import org.junit.Rule;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.Suite;

/** The bounce bundle's default implementations against the API's contract tests. */
@RunWith(Suite.class)
@Suite.SuiteClasses({ContractsTest.RuleClassifier.class, ContractsTest.DerbyList.class,
    ContractsTest.Suppressing.class})
public class ContractsTest {

    /** The shipped rules (bundled defaults, no operator file). */
    public static class RuleClassifier extends BounceClassifierContract {
        @Override
        protected BounceClassifier classifier() {
            return new RuleBasedBounceClassifier((Path) null);
        }
    }

    /** The Derby-backed list, on disk. */
    public static class DerbyList extends SuppressionListContract {
        @Rule
        public TemporaryFolder tmp = new TemporaryFolder();

        @Override
        protected SuppressionList open() throws Exception {
            return new DerbySuppressionList(tmp.newFolder().toPath().resolve("db").toString());
        }
    }

    /** The listener that suppresses hard-bounced recipients, with the Derby list and a real event log. */
    public static class Suppressing extends DeliveryListenerContract {
        @Rule
        public TemporaryFolder tmp = new TemporaryFolder();

        @Override
        protected DeliveryListener listener() throws Exception {
            Path dir = tmp.newFolder().toPath();
            return new SuppressingDeliveryListener(new DerbySuppressionList(dir.resolve("db").toString()),
                    new BounceEventLog(dir.resolve("bounce-events.jsonl")), defaults(BounceConfig.class));
        }
    }

    /** A configuration annotation with every attribute at its default, as Config Admin gives without a file. */
    static <A> A defaults(Class<A> type) {
        return type.cast(java.lang.reflect.Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
                (proxy, m, args) -> m.getDefaultValue() != null ? m.getDefaultValue()
                        : m.getName().equals("toString") ? type.getSimpleName() : null));
    }
}
