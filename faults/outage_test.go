package faults

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// outage is how long a test keeps a dependency unreachable.
const outage = 5 * time.Second

func TestPostgresOutage(t *testing.T) {
	testDatabaseOutage(t, "postgres")
}

func TestMySQLOutage(t *testing.T) {
	testDatabaseOutage(t, "mysql")
}

// testDatabaseOutage routes the processor's connections to one database
// through a proxy, cuts the proxy while new input arrives and restores it
// after the outage. dependency is the name /readyz uses: postgres or mysql.
func testDatabaseOutage(t *testing.T, dependency string) {
	h := newHarness(t, false)
	in := generate(t, generatorConfig(h.rng.Int64N(1<<31), 40_000, 3000))
	t.Logf("input: %d lines, %d distinct valid msg_ids, %d duplicates injected, %d invalid lines",
		len(in.lines), in.validCount(), in.duplicates, in.invalid)

	var px *proxy
	switch dependency {
	case "postgres":
		dsn, err := url.Parse(h.pgDSN)
		if err != nil {
			t.Fatalf("parsing the PostgreSQL DSN failed: %v", err)
		}
		px = startProxy(t, dsn.Host)
		dsn.Host = px.addr
		h.set.postgresDSN = dsn.String()
	case "mysql":
		cfg, err := mysql.ParseDSN(h.myDSN)
		if err != nil {
			t.Fatalf("parsing the MySQL DSN failed: %v", err)
		}
		px = startProxy(t, cfg.Addr)
		cfg.Addr = px.addr
		h.set.mysqlDSN = cfg.FormatDSN()
	default:
		t.Fatalf("unknown dependency %q", dependency)
	}

	// The input arrives at about 4,000 lines per second for 10 s, so the
	// processor has to write to the unreachable database during the outage.
	// The input never pauses for longer than watermark.idle_timeout, which
	// would close every window and make the rest of the input late.
	published := h.publishPaced(in.lines, 40, 250*time.Millisecond)
	p := h.start()
	p.waitStored(1, time.Minute)
	time.Sleep(time.Duration(h.rng.IntN(1000)) * time.Millisecond)

	px.cut()
	cutAt := time.Now()

	var body string
	err := p.poll(outage, 100*time.Millisecond, func() (bool, error) {
		code, text, err := p.readyz()
		body = text
		return code == 503 && strings.Contains(text, dependency+":"), err
	})
	if err != nil {
		t.Errorf("/readyz did not answer 503 naming %s within %s of the cut: %v; last body %q", dependency, outage, err, body)
	} else {
		t.Logf("/readyz during the outage, %s after the cut:\n%s", time.Since(cutAt).Round(time.Millisecond), strings.TrimSpace(body))
	}
	time.Sleep(time.Until(cutAt.Add(outage)))
	if code, text, err := p.readyz(); err != nil || code != 503 {
		t.Errorf("/readyz at the end of the outage: status %d, error %v, body %q; want 503", code, err, text)
	}

	px.restore()
	restoredAt := time.Now()
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	p.waitDrained(h.partitions(), 2*time.Minute)
	t.Logf("drained %s after the restore", time.Since(restoredAt).Round(time.Millisecond))

	code, text, err := p.readyz()
	if err != nil || code != 200 {
		t.Errorf("/readyz after the restore and drain: status %d, error %v, body %q; want 200", code, err, text)
	}
	p.stop(20 * time.Second)

	h.checkInvariant(in)
}

func TestBrokerRestart(t *testing.T) {
	h := newHarness(t, true)
	in := generate(t, generatorConfig(h.rng.Int64N(1<<31), 40_000, 3000))
	t.Logf("input: %d lines, %d distinct valid msg_ids, %d duplicates injected, %d invalid lines",
		len(in.lines), in.validCount(), in.duplicates, in.invalid)

	// Three quarters of the input wait in the log, so the processor still has
	// records to read while the broker is down. The rest arrives after the
	// restart.
	parts := [][][]byte{in.lines[:len(in.lines)*3/4], in.lines[len(in.lines)*3/4:]}
	h.publish(parts[0])
	p := h.start()
	before := p.waitStored(1, time.Minute)

	down := time.Duration(1000+h.rng.IntN(3000)) * time.Millisecond
	h.broker.restart(down)
	t.Logf("broker restarted after %s down; /status before: stored %d, lag %d", down, before.storedTotal(), before.Lag)

	h.publish(parts[1])
	s := p.waitDrained(h.partitions(), 2*time.Minute)
	t.Logf("drained: stored %d in this run", s.storedTotal())
	p.stop(20 * time.Second)

	h.checkInvariant(in)
}
