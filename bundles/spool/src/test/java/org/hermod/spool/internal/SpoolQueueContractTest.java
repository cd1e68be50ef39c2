package org.hermod.spool.internal;

import java.nio.file.Path;

import org.hermod.api.Envelope;
import org.hermod.api.routing.Route;
import org.hermod.api.spool.DeliveryQueue;
import org.hermod.api.spool.DurableDeliveryQueueContract;
import org.junit.Rule;
import org.junit.rules.TemporaryFolder;

/** The real spool, on disk, against the queue contract (including what a crash must not change). */
public class SpoolQueueContractTest extends DurableDeliveryQueueContract {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final class SpoolSubject implements Subject {
        final Path dir;
        final SpoolService spool;

        SpoolSubject(Path dir) throws Exception {
            this.dir = dir;
            this.spool = SpoolService.open(dir, 1 << 20);
        }

        @Override
        public DeliveryQueue queue() {
            return spool;
        }

        @Override
        public String store(Envelope envelope, byte[] content) throws Exception {
            return spool.store(envelope, content).get();
        }

        @Override
        public String store(Envelope envelope, Route route, String holdReason, byte[] content) throws Exception {
            return spool.store(spool.newQueueId(), envelope, route, holdReason, content).get();
        }

        @Override
        public boolean hold(String queueId, String reason) {
            return spool.hold(queueId, reason);
        }

        @Override
        public boolean releaseHold(String queueId) {
            return spool.releaseHold(queueId);
        }

        @Override
        public boolean suspend(String domain) {
            return spool.suspend(domain);
        }

        @Override
        public boolean resume(String domain) {
            return spool.resume(domain);
        }

        @Override
        public void close() throws Exception {
            spool.close();
        }
    }

    @Override
    protected Subject open() throws Exception {
        return new SpoolSubject(tmp.newFolder().toPath());
    }

    @Override
    protected Subject crashAndReopen(Subject crashed) throws Exception {
        // What a crash leaves: the files as they are on disk now, with the spool still running (closing it first would
        // drain its write queue and hide an outcome acknowledged before it was written). Leases live in memory only.
        SpoolSubject s = (SpoolSubject) crashed;
        Path copy = tmp.newFolder().toPath();
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(s.dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                java.nio.file.Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        s.close();
        return new SpoolSubject(copy);
    }
}
