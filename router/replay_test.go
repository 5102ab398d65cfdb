package router_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gamestream/gamestream/router"
)

func TestReplayGivesIdenticalMySQL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env := newTestEnv(t)
	in := realInput(t)

	svc, stop := env.start(t, ctx)
	env.publish(t, ctx, in.lines)
	env.waitDrained(t, ctx, svc)
	require.NoError(t, stop())
	before := dumpMySQL(t, ctx, env.myDSN)

	var out bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	require.NoError(t, router.Replay(ctx, env.cfg, time.Time{}, logger, &out))
	require.Contains(t, out.String(), "replay finished")

	requireSameDump(t, before, dumpMySQL(t, ctx, env.myDSN), "after the replay")
	env.assertMySQLMatchesVault(t, ctx)

	// With the tables emptied, every row comes from a replay. The replay
	// stops once caught up, while the last windows wait for the idle
	// timeout, so the run after it closes them as the first run did.
	db, err := sql.Open("mysql", env.myDSN)
	require.NoError(t, err)
	defer db.Close()
	for _, table := range []string{"user_profiles", "aggregated_reports", "app_reports"} {
		_, err := db.ExecContext(ctx, "TRUNCATE TABLE "+table)
		require.NoError(t, err)
	}
	require.NoError(t, router.Replay(ctx, env.cfg, time.Time{}, logger, &out))
	svc, stop = env.start(t, ctx)
	env.waitDrained(t, ctx, svc)
	require.NoError(t, stop())

	requireSameDump(t, before, dumpMySQL(t, ctx, env.myDSN), "after a replay into empty tables")
}

func TestReplayRefusesActiveGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := newTestEnv(t)
	svc, stop := env.start(t, ctx)
	defer func() { require.NoError(t, stop()) }()
	require.Eventually(t, func() bool { return svc.Processor().Progress().Partitions > 0 }, time.Minute, 50*time.Millisecond)

	cfg := *env.cfg
	cfg.State.Dir = t.TempDir()
	err := router.Replay(ctx, &cfg, time.Time{}, slog.New(slog.DiscardHandler), &bytes.Buffer{})
	require.Error(t, err)
	require.True(t, errors.Is(err, router.ErrGroupActive), "error: %v", err)
	require.Contains(t, err.Error(), env.cfg.Kafka.ConsumerGroup)
}

// dumpMySQL returns every row of the three MySQL tables without their write
// timestamps, in key order.
func dumpMySQL(t *testing.T, ctx context.Context, dsn string) map[string][]string {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	require.NoError(t, err)
	defer db.Close()
	queries := map[string]string{
		"user_profiles": `SELECT uid, email, phone, total_spins, total_purchases, purchase_count, favorite_game, last_event_at
			FROM user_profiles ORDER BY uid`,
		"aggregated_reports": `SELECT report_id, report_type, window_start, window_end, total_spins, total_purchases,
			purchase_count, avg_purchase, most_spent_game, active_users, is_final, revision FROM aggregated_reports ORDER BY report_id`,
		"app_reports": `SELECT report_id, app_id, report_type, window_start, window_end, total_spins, total_purchases,
			purchase_count, avg_purchase, active_users, is_final, revision FROM app_reports ORDER BY report_id, app_id`,
	}
	out := map[string][]string{}
	for table, q := range queries {
		rows := queryMySQL(t, ctx, db, q)
		require.NotEmpty(t, rows, table)
		for _, r := range rows {
			out[table] = append(out[table], strings.Join(r, "|"))
		}
	}
	return out
}
