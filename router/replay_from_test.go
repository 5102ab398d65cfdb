package router_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gamestream/gamestream/demo"
	"github.com/gamestream/gamestream/loadgen"
	"github.com/gamestream/gamestream/reconcile"
	"github.com/gamestream/gamestream/router"
	"github.com/gamestream/gamestream/windows"
)

// generatedMonday is the start of the generated events, a Monday in UTC.
var generatedMonday = time.Date(2025, time.May, 26, 0, 0, 0, 0, time.UTC)

// generatedLines returns generated events over two days from start; each
// event type comes in event-time order.
func generatedLines(t *testing.T, seed int64, start time.Time, events int) [][]byte {
	t.Helper()
	cfg := loadgen.DefaultGeneratorConfig()
	cfg.Seed = seed
	cfg.Users = 1500
	cfg.Events = events
	cfg.Start = start
	cfg.Span = 48 * time.Hour
	cfg.DuplicateRate = 0.01
	var lines [][]byte
	require.NoError(t, loadgen.Generate(cfg, func(l []byte) error {
		lines = append(lines, append([]byte(nil), l...))
		return nil
	}))
	return lines
}

// waitFolded waits until the processor has folded every record published so
// far and written every change to MySQL.
func (env *testEnv) waitFolded(t *testing.T, ctx context.Context, svc *router.Service) {
	t.Helper()
	ends, err := demo.EndOffsets(ctx, env.cfg.Kafka.Brokers, env.topics...)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		prog := svc.Processor().Progress()
		return foldedUpTo(prog.Folded, ends) && prog.Buffered == 0 && prog.PendingFlush == 0
	}, 2*time.Minute, 50*time.Millisecond)
}

// processGenerated runs the processor over generated events from the Monday
// 2025-05-26 until every record is folded, stops it and returns the MySQL
// rows it wrote.
func (env *testEnv) processGenerated(t *testing.T, ctx context.Context, events int) map[string][]string {
	t.Helper()
	svc, stop := env.start(t, ctx)
	env.publish(t, ctx, generatedLines(t, 1, generatedMonday, events))
	env.waitFolded(t, ctx, svc)
	require.NoError(t, stop())
	return dumpMySQL(t, ctx, env.myDSN)
}

func TestReplayFromTime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env := newTestEnv(t)
	// Without idle detection the watermark follows the slowest partition, so
	// lateness does not depend on when the parts are published.
	env.cfg.Watermark.IdleTimeout = 0

	svc, stop := env.start(t, ctx)
	env.publish(t, ctx, generatedLines(t, 1, generatedMonday, 6000))
	env.waitFolded(t, ctx, svc)

	time.Sleep(20 * time.Millisecond)
	from := time.Now()
	time.Sleep(20 * time.Millisecond)

	env.publish(t, ctx, generatedLines(t, 2, generatedMonday.Add(48*time.Hour), 6000))
	env.waitFolded(t, ctx, svc)
	// An event of the first hour, read after the others: late for every
	// window spec except the week.
	late := fmt.Sprintf(`{"msg_id":"late-1","type":"spin","uid":"late-user","app_id":"late-app","timestamp":%q,"spin_count":3}`,
		generatedMonday.Add(time.Hour).Format(time.RFC3339))
	env.publish(t, ctx, [][]byte{[]byte(late)})
	env.waitFolded(t, ctx, svc)
	require.NoError(t, stop())

	lateBefore := countLateEvents(t, ctx, env.pgDSN)
	require.Equal(t, 3, lateBefore["late-1"], "late_event_info rows of late-1")
	before := dumpMySQL(t, ctx, env.myDSN)
	storedBelow, storedFrom := countStoredAround(t, ctx, env.pgDSN, from)
	require.Positive(t, storedBelow)
	require.Positive(t, storedFrom)

	// Damage MySQL where the replay must write again: every profile, and the
	// reports of the windows after the first part.
	env.damageProfiles(t, ctx)
	db, err := sql.Open("mysql", env.myDSN)
	require.NoError(t, err)
	defer db.Close()
	for _, table := range []string{"aggregated_reports", "app_reports"} {
		res, err := db.ExecContext(ctx, `DELETE FROM `+table+` WHERE window_start >= ?`, generatedMonday.Add(48*time.Hour))
		require.NoError(t, err)
		deleted, err := res.RowsAffected()
		require.NoError(t, err)
		require.Positive(t, deleted, table)
	}

	var out bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	require.NoError(t, router.Replay(ctx, env.cfg, from, logger, &out))
	t.Log(out.String())
	require.Contains(t, out.String(), fmt.Sprintf("rebuilt from %d events stored below those offsets", storedBelow))
	require.Contains(t, out.String(), fmt.Sprintf("%d stored events to read again", storedFrom))
	require.Contains(t, out.String(), "replay finished")

	requireSameDump(t, before, dumpMySQL(t, ctx, env.myDSN), "after the replay")
	require.Equal(t, lateBefore, countLateEvents(t, ctx, env.pgDSN), "late_event_info after the replay")
	env.requireReconciled(t, ctx)
}

func TestReplayAfterRetention(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env := newTestEnv(t)
	env.cfg.Watermark.IdleTimeout = 0

	before := env.processGenerated(t, ctx, 8000)

	// Retention deletes the first half of every partition.
	deleted := env.deleteRecords(t, ctx, func(end int64) int64 { return end / 2 })
	require.Positive(t, deleted)
	env.damageProfiles(t, ctx)

	var out bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	require.NoError(t, router.Replay(ctx, env.cfg, time.Time{}, logger, &out))
	t.Log(out.String())
	require.Contains(t, out.String(), "moved to the log start")
	require.Contains(t, out.String(), "replay finished")
	require.NotContains(t, out.String(), "rebuilt from 0 events")

	requireSameDump(t, before, dumpMySQL(t, ctx, env.myDSN), "after the replay")
	env.requireReconciled(t, ctx)
}

// deleteRecords deletes the records of every partition below upTo(end), as
// retention would, and returns how many it deleted.
func (env *testEnv) deleteRecords(t *testing.T, ctx context.Context, upTo func(end int64) int64) int64 {
	t.Helper()
	ends, err := demo.EndOffsets(ctx, env.cfg.Kafka.Brokers, env.topics...)
	require.NoError(t, err)
	client, err := kgo.NewClient(kgo.SeedBrokers(env.cfg.Kafka.Brokers...))
	require.NoError(t, err)
	defer client.Close()

	deleteTo := make(kadm.Offsets)
	var deleted int64
	for key, end := range ends {
		if to := upTo(end); to > 0 {
			deleteTo.Add(kadm.Offset{Topic: key.Topic, Partition: key.Partition, At: to, LeaderEpoch: -1})
			deleted += to
		}
	}
	resp, err := kadm.NewClient(client).DeleteRecords(ctx, deleteTo)
	require.NoError(t, err)
	require.NoError(t, resp.Error())
	return deleted
}

// damageProfiles adds 1,000 spins to every MySQL profile, so that a later
// comparison fails unless a rebuild writes the profiles again.
func (env *testEnv) damageProfiles(t *testing.T, ctx context.Context) {
	t.Helper()
	db, err := sql.Open("mysql", env.myDSN)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ExecContext(ctx, `UPDATE user_profiles SET total_spins = total_spins + 1000`)
	require.NoError(t, err)
}

// requireReconciled runs reconcile and requires zero differences in every
// table that has rows.
func (env *testEnv) requireReconciled(t *testing.T, ctx context.Context) {
	t.Helper()
	specs, err := windows.ValidateSpecs(env.cfg.Windows)
	require.NoError(t, err)
	check, err := reconcile.Run(ctx, reconcile.Config{PostgresDSN: env.pgDSN, MySQLDSN: env.myDSN, Specs: specs})
	require.NoError(t, err)
	for _, table := range check.Tables {
		require.Zero(t, table.Differences, "reconcile differences in %s: %v", table.Table, table.Examples)
		require.Positive(t, table.Compared, table.Table)
	}
}

// requireSameDump requires every table of after to equal before.
func requireSameDump(t *testing.T, before, after map[string][]string, when string) {
	t.Helper()
	for table, rows := range before {
		require.Equal(t, len(rows), len(after[table]), "rows in %s %s", table, when)
		require.Equal(t, rows, after[table], "%s differs %s", table, when)
	}
}

// countStoredAround counts the satellite rows loaded before and after at.
func countStoredAround(t *testing.T, ctx context.Context, dsn string, at time.Time) (before, after int64) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, table := range []string{"satellite_auth_info", "satellite_spin_info", "satellite_purchase_info"} {
		var b, a int64
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE load_dts < $1), count(*) FILTER (WHERE load_dts >= $1) FROM `+table, at).
			Scan(&b, &a))
		before += b
		after += a
	}
	return before, after
}

// countLateEvents returns the late_event_info rows per msg_id.
func countLateEvents(t *testing.T, ctx context.Context, dsn string) map[string]int {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT msg_id, count(*) FROM late_event_info GROUP BY msg_id`)
	require.NoError(t, err)
	counts := map[string]int{}
	var (
		msgID string
		n     int
	)
	_, err = pgx.ForEachRow(rows, []any{&msgID, &n}, func() error {
		counts[msgID] = n
		return nil
	})
	require.NoError(t, err)
	return counts
}
