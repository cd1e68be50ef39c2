package org.hermod.delivery.internal.tls;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.Test;

public class TlsPolicyMapTest {

    private static final String MAP = """
            # per-destination TLS policy
            bank.example      verify
            .bank.example     dane-only   # its subdomains
            mail.bank.example none
            .example          encrypt
            Partner.TEST.     mta-sts
            """;

    @Test
    public void exactEntriesBeatSuffixesAndLongerSuffixesBeatShorterOnes() {
        TlsPolicyMap m = TlsPolicyMap.parse(MAP);
        assertEquals(new TlsPolicyMap.Choice(TlsLevel.VERIFY, "map"), m.lookup("bank.example", TlsLevel.MAY));
        assertEquals(TlsLevel.DANE_ONLY, m.lookup("eu.bank.example", TlsLevel.MAY).level());
        assertEquals(TlsLevel.NONE, m.lookup("MAIL.bank.example", TlsLevel.MAY).level());
        assertEquals(TlsLevel.ENCRYPT, m.lookup("other.example", TlsLevel.MAY).level());
        assertEquals(TlsLevel.MTA_STS, m.lookup("partner.test", TlsLevel.MAY).level());
        // '.example' covers subdomains, not example itself
        assertEquals(new TlsPolicyMap.Choice(TlsLevel.AUTO, "default"), m.lookup("example", TlsLevel.AUTO));
        assertEquals(new TlsPolicyMap.Choice(TlsLevel.MAY, "default"), m.lookup("unlisted.org", TlsLevel.MAY));
    }

    @Test
    public void aStarLineIsTheDefault() {
        TlsPolicyMap m = TlsPolicyMap.parse("* encrypt\nlegacy.test may\n");
        assertEquals(new TlsPolicyMap.Choice(TlsLevel.ENCRYPT, "map"), m.lookup("anything.test", TlsLevel.MAY));
        assertEquals(TlsLevel.MAY, m.lookup("legacy.test", TlsLevel.AUTO).level());
    }

    @Test
    public void errorsNameTheLine() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TlsPolicyMap.parse("ok.test may\nbad.test secure\n"));
        assertTrue(e.getMessage(), e.getMessage().startsWith("line 2: unknown TLS policy 'secure'"));
        e = assertThrows(IllegalArgumentException.class, () -> TlsPolicyMap.parse("a.test may encrypt\n"));
        assertTrue(e.getMessage(), e.getMessage().startsWith("line 1:"));
        assertThrows(IllegalArgumentException.class, () -> TlsPolicyMap.parse("*.wild.test may\n"));
    }

    @Test
    public void theFileIsReloadedWhenItChangesAndABadEditKeepsThePreviousMap() throws Exception {
        Path f = Files.createTempFile("tls-policy", ".map");
        try {
            Files.writeString(f, "a.test verify\n");
            TlsPolicyFile file = new TlsPolicyFile(f);
            assertEquals(TlsLevel.VERIFY, file.current().lookup("a.test", TlsLevel.MAY).level());
            Files.writeString(f, "a.test encrypt\nb.test none\n");
            file.poll();
            assertEquals(TlsLevel.ENCRYPT, file.current().lookup("a.test", TlsLevel.MAY).level());
            assertEquals(TlsLevel.NONE, file.current().lookup("b.test", TlsLevel.MAY).level());
            Files.writeString(f, "a.test nonsense\n");
            file.poll();
            assertEquals(TlsLevel.ENCRYPT, file.current().lookup("a.test", TlsLevel.MAY).level());
            Files.delete(f);
            file.poll();
            assertEquals("default", file.current().lookup("a.test", TlsLevel.MAY).source());
        } finally {
            Files.deleteIfExists(f);
        }
    }
}
