package router_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gamestream/gamestream/configs"
)

func TestLostStateAfterRetention(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env := newTestEnv(t)
	env.cfg.Watermark.IdleTimeout = 0
	env.cfg.State.Recovery = configs.RecoveryReplay

	before := env.processGenerated(t, ctx, 6000)

	// Retention deletes every record, and the state directory is lost: only
	// PostgreSQL still has the events.
	require.Positive(t, env.deleteRecords(t, ctx, func(end int64) int64 { return end }))
	require.NoError(t, os.RemoveAll(env.cfg.State.Dir))
	env.damageProfiles(t, ctx)

	svc, stop := env.start(t, ctx)
	require.Eventually(t, func() bool { return svc.Processor().Progress().CaughtUp() }, 2*time.Minute, 50*time.Millisecond)
	require.NoError(t, stop())

	requireSameDump(t, before, dumpMySQL(t, ctx, env.myDSN), "after the rebuild")
	env.requireReconciled(t, ctx)
}
