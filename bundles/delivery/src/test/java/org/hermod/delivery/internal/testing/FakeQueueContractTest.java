package org.hermod.delivery.internal.testing;

import org.hermod.api.Envelope;
import org.hermod.api.spool.DeliveryQueue;
import org.hermod.api.spool.DeliveryQueueContract;

/** The delivery tests' stand-in queue keeps the same contract as the spool, so the tests learn nothing false from it. */
public class FakeQueueContractTest extends DeliveryQueueContract {

    @Override
    protected Subject open() {
        FakeQueue q = new FakeQueue();
        return new Subject() {
            @Override
            public DeliveryQueue queue() {
                return q;
            }

            @Override
            public String store(Envelope envelope, byte[] content) {
                return q.store(envelope, content).get(0).id;
            }

            @Override
            public boolean suspend(String domain) {
                return q.suspend(domain);
            }

            @Override
            public boolean resume(String domain) {
                return q.resume(domain);
            }

            @Override
            public void close() {
                q.close();
            }
        };
    }
}
