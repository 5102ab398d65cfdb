package router_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gamestream/gamestream/demo"
	"github.com/gamestream/gamestream/handlers"
	"github.com/gamestream/gamestream/router"
	"github.com/gamestream/gamestream/windows"
)

// Sizes of the input of the idle test. assertMySQLMatchesVault expects more
// than 4,000 profiles, so every one of idleUsers users logs in once.
const (
	idleUsers     = 4200
	idleSpins     = 2000
	idlePurchases = 12
)

// hotKey is the record key of every event of the idle test. Records with
// the same key land on the same partition, and the topics have the same
// partition count, so each topic gets all its events on one partition.
const hotKey = "player-hot"

// idleInput returns the auth, spin and purchase events of the idle test by
// topic kind, each kind in ascending event time. The events span
// 2024-03-30 18:00 to 2024-03-31 05:00 UTC, so they fill many minute and
// hourly windows and two daily windows.
func idleInput() map[handlers.Kind][][]byte {
	base := time.Date(2024, 3, 30, 18, 0, 0, 0, time.UTC)
	const span = 11 * time.Hour
	apps := []string{"slots-gold-rush", "slots-lucky-sevens", "slots-neon-nights"}
	stamp := func(i, n int) string {
		return base.Add(span * time.Duration(i) / time.Duration(n)).Format(time.RFC3339Nano)
	}

	events := map[handlers.Kind][][]byte{}
	for i := 0; i < idleUsers; i++ {
		events[handlers.KindAuth] = append(events[handlers.KindAuth], fmt.Appendf(nil,
			`{"msg_id":"idle-auth-%d","type":"auth","uid":"user-%04d","app_id":"%s","timestamp":"%s","email":"user-%04d@example.com"}`,
			i, i, apps[i%len(apps)], stamp(i, idleUsers), i))
	}
	for i := 0; i < idleSpins; i++ {
		events[handlers.KindSpin] = append(events[handlers.KindSpin], fmt.Appendf(nil,
			`{"msg_id":"idle-spin-%d","type":"spin","uid":"user-%04d","app_id":"%s","timestamp":"%s","spin_count":%d,"bet":"100","win":"0","currency":"coins"}`,
			i, (i*7)%idleUsers, apps[i%len(apps)], stamp(i, idleSpins), 1+i%3))
	}
	amounts := []struct{ amount, currency string }{{"4.99", "USD"}, {"1.99", "EUR"}, {"19.99", "USD"}}
	for i := 0; i < idlePurchases; i++ {
		a := amounts[i%len(amounts)]
		events[handlers.KindPurchase] = append(events[handlers.KindPurchase], fmt.Appendf(nil,
			`{"msg_id":"idle-purchase-%d","type":"purchase","uid":"user-%04d","app_id":"%s","timestamp":"%s","purchase_amount":"%s","currency":"%s"}`,
			i, i*31, apps[(i/2)%len(apps)], stamp(i, idlePurchases), a.amount, a.currency))
	}
	return events
}

// publishWithKey produces every event to the topic of its kind with key as
// the record key, in order, and waits for the acknowledgements.
func (env *testEnv) publishWithKey(t *testing.T, ctx context.Context, key string, events map[handlers.Kind][][]byte) {
	t.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers(env.cfg.Kafka.Brokers...))
	require.NoError(t, err)
	defer client.Close()

	var records []*kgo.Record
	for kind, lines := range events {
		topic := env.cfg.Kafka.Topics[string(kind)]
		require.NotEmpty(t, topic, "no topic for kind %s", kind)
		for _, line := range lines {
			records = append(records, &kgo.Record{Topic: topic, Key: []byte(key), Value: line})
		}
	}
	require.NoError(t, client.ProduceSync(ctx, records...).FirstErr())
}

// TestIdlePartitionsReleaseWatermark sends every event to one partition of
// each topic, so the other partitions never have an event. The empty
// partitions become idle watermark.idle_timeout after their assignment, the
// busy ones idle_timeout after their last event. The watermark then follows
// the wall clock, so every window of the past events must become final.
func TestIdlePartitionsReleaseWatermark(t *testing.T) {
	const (
		idleTimeout = 2 * time.Second
		// margin covers the start of the service, the consumption of the
		// input, a commit interval and the MySQL flush.
		margin = 10 * time.Second
	)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env := newTestEnv(t)
	env.cfg.Watermark.IdleTimeout = idleTimeout
	env.cfg.Watermark.OutOfOrderness = 5 * time.Second
	events := idleInput()

	// Publish before the service starts. Once every assigned partition has
	// been idle for idle_timeout, the watermark follows the wall clock, and
	// every event of 2024 would then be late.
	env.publishWithKey(t, ctx, hotKey, events)
	publishDone := time.Now()

	ends, err := demo.EndOffsets(ctx, env.cfg.Kafka.Brokers, env.topics...)
	require.NoError(t, err)
	require.Len(t, ends, 3*len(env.topics), "the test needs 3 partitions per topic")
	busy := map[string]int{}
	for key, end := range ends {
		if end > 0 {
			busy[key.Topic]++
		}
	}
	for kind, lines := range events {
		topic := env.cfg.Kafka.Topics[string(kind)]
		require.Equal(t, 1, busy[topic], "partitions of %s with events; end offsets %v", topic, ends)
		var total int64
		for key, end := range ends {
			if key.Topic == topic {
				total += end
			}
		}
		require.Equal(t, int64(len(lines)), total, "records in %s", topic)
	}

	svc, stop := env.start(t, ctx)
	stopped := false
	defer func() {
		if !stopped {
			_ = stop()
		}
	}()

	timing := waitAllFinal(t, ctx, svc.Processor(), ends, publishDone.Add(idleTimeout+margin+time.Minute))
	t.Logf("idle_timeout %s: from publish done, caught up after %s and every window final after %s",
		idleTimeout, timing.caughtUp.Sub(publishDone).Round(time.Millisecond),
		timing.final.Sub(publishDone).Round(time.Millisecond))
	require.Positive(t, timing.openAtCaughtUp,
		"windows must still be open when the input is consumed: the busy partitions hold the watermark until they are idle")
	require.Less(t, timing.final.Sub(publishDone), idleTimeout+margin,
		"time from publish done until every window is final")

	prog := svc.Processor().Progress()
	require.Zero(t, prog.Late, "late events")
	require.Zero(t, prog.OpenWindows)
	for kind, lines := range events {
		require.Equal(t, int64(len(lines)), prog.Stored[kind], "stored %s events", kind)
	}
	env.assertNoProvisionalReports(t, ctx)

	stopped = true
	require.NoError(t, stop())
	env.assertMySQLMatchesVault(t, ctx)
}

// finalTiming contains the times at which waitAllFinal first saw the input
// consumed and every window final.
type finalTiming struct {
	caughtUp       time.Time
	openAtCaughtUp int
	final          time.Time
}

// waitAllFinal polls the processor's progress until it has folded every
// partition up to ends, nothing is buffered or waiting for MySQL and no
// window is open. It fails the test at deadline.
func waitAllFinal(t *testing.T, ctx context.Context, p *router.Processor, ends map[windows.PartitionKey]int64, deadline time.Time) finalTiming {
	t.Helper()
	const pollInterval = 20 * time.Millisecond
	var timing finalTiming
	for time.Now().Before(deadline) && ctx.Err() == nil {
		prog := p.Progress()
		consumed := prog.Partitions > 0 && prog.Lag == 0 && prog.Buffered == 0 && foldedUpTo(prog.Folded, ends)
		if consumed && timing.caughtUp.IsZero() {
			timing.caughtUp = time.Now()
			timing.openAtCaughtUp = prog.OpenWindows
		}
		if consumed && prog.Drained() {
			timing.final = time.Now()
			return timing
		}
		time.Sleep(pollInterval)
	}
	prog := p.Progress()
	t.Fatalf("windows not final by the deadline: partitions %d, lag %d, buffered %d, open windows %d, pending flush %d, watermark %s",
		prog.Partitions, prog.Lag, prog.Buffered, prog.OpenWindows, prog.PendingFlush, prog.Watermark.Format(time.RFC3339))
	return timing
}

func foldedUpTo(folded, ends map[windows.PartitionKey]int64) bool {
	for key, end := range ends {
		if end > 0 && folded[key] < end {
			return false
		}
	}
	return true
}

// assertNoProvisionalReports checks that MySQL contains report rows and
// that every one of them is final.
func (env *testEnv) assertNoProvisionalReports(t *testing.T, ctx context.Context) {
	t.Helper()
	db, err := sql.Open("mysql", env.myDSN)
	require.NoError(t, err)
	defer db.Close()
	for _, table := range []string{"aggregated_reports", "app_reports"} {
		var rows, provisional int
		err := db.QueryRowContext(ctx, "SELECT count(*), coalesce(sum(is_final = 0), 0) FROM "+table).Scan(&rows, &provisional)
		require.NoError(t, err)
		require.Positive(t, rows, "rows in %s", table)
		require.Zero(t, provisional, "rows with is_final = 0 in %s", table)
	}
}
