package router_test

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gamestream/gamestream/configs"
	"github.com/gamestream/gamestream/demo"
	"github.com/gamestream/gamestream/reconcile"
	"github.com/gamestream/gamestream/windows"
)

func TestLostStateRebuiltFromVaultAfterRetention(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env := newTestEnv(t)
	env.cfg.Watermark.IdleTimeout = 0
	env.cfg.State.Recovery = configs.RecoveryReplay

	monday := time.Date(2025, time.May, 26, 0, 0, 0, 0, time.UTC)
	svc, stop := env.start(t, ctx)
	env.publish(t, ctx, generatedLines(t, 1, monday, 6000))
	env.waitFolded(t, ctx, svc)
	require.NoError(t, stop())
	before := dumpMySQL(t, ctx, env.myDSN)

	// Retention deletes every record, and the state directory is lost: only
	// PostgreSQL still has the events.
	ends, err := demo.EndOffsets(ctx, env.cfg.Kafka.Brokers, env.topics...)
	require.NoError(t, err)
	client, err := kgo.NewClient(kgo.SeedBrokers(env.cfg.Kafka.Brokers...))
	require.NoError(t, err)
	defer client.Close()
	deleteTo := make(kadm.Offsets)
	for key, end := range ends {
		deleteTo.Add(kadm.Offset{Topic: key.Topic, Partition: key.Partition, At: end, LeaderEpoch: -1})
	}
	resp, err := kadm.NewClient(client).DeleteRecords(ctx, deleteTo)
	require.NoError(t, err)
	require.NoError(t, resp.Error())
	require.NoError(t, os.RemoveAll(env.cfg.State.Dir))

	db, err := sql.Open("mysql", env.myDSN)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ExecContext(ctx, `UPDATE user_profiles SET total_spins = total_spins + 1000`)
	require.NoError(t, err)

	svc, stop = env.start(t, ctx)
	require.Eventually(t, func() bool { return svc.Processor().Progress().CaughtUp() }, 2*time.Minute, 50*time.Millisecond)
	require.NoError(t, stop())

	after := dumpMySQL(t, ctx, env.myDSN)
	for table, rows := range before {
		require.Equal(t, rows, after[table], "%s differs after the rebuild", table)
	}
	specs, err := windows.ValidateSpecs(env.cfg.Windows)
	require.NoError(t, err)
	check, err := reconcile.Run(ctx, reconcile.Config{PostgresDSN: env.pgDSN, MySQLDSN: env.myDSN, Specs: specs})
	require.NoError(t, err)
	for _, table := range check.Tables {
		require.Zero(t, table.Differences, "reconcile differences in %s: %v", table.Table, table.Examples)
	}
}
