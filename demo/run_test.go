package demo

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/gamestream/gamestream/configs"
	"github.com/gamestream/gamestream/internal/testdb"
	"github.com/gamestream/gamestream/loadgen"
)

func TestRunWithReplayKeepsMySQL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg, err := configs.Load("", nil)
	require.NoError(t, err)
	// Run recreates its own database on the servers of these DSNs, with a
	// name of its own so that a demo running meanwhile is not disturbed.
	cfg.Postgres.DSN = testdb.Postgres(t)
	cfg.MySQL.DSN = testdb.MySQL(t)
	cfg.Watermark.IdleTimeout = time.Second
	cfg.Processor.CommitInterval = 300 * time.Millisecond
	cfg.HTTP.Listen = "127.0.0.1:0"

	const database = "gamestream_demo_test"
	t.Cleanup(func() { dropDatabases(t, cfg.Postgres.DSN, cfg.MySQL.DSN, database) })

	gen := loadgen.DefaultGeneratorConfig()
	gen.Events = 5000
	gen.Users = 300
	var out bytes.Buffer
	sum, err := Run(ctx, Config{
		Generator:  gen,
		Partitions: 2,
		Base:       cfg,
		Out:        &out,
		Logger:     slog.New(slog.DiscardHandler),
		Replay:     true,
		Database:   database,
	})
	require.NoError(t, err, out.String())

	require.NotNil(t, sum.Replay)
	require.True(t, sum.Replay.Identical, "MySQL differs after the replay")
	require.Positive(t, sum.Replay.Rows)
	require.Zero(t, sum.Replay.Reconcile.Differences())
	require.True(t, sum.Consistent())
	require.Contains(t, out.String(), "replay finished")
}

// dropDatabases drops the database name that Run created on both servers.
func dropDatabases(t *testing.T, pgDSN, myDSN, name string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgDSN)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	require.NoError(t, err)

	db, err := sql.Open("mysql", myDSN)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name)
	require.NoError(t, err)
}
