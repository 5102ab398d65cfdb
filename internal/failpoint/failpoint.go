// Package failpoint kills the process at a named point for fault-injection
// tests. It is inert unless the environment variable named by Env is set when
// the process starts.
package failpoint

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// Env names the variable that arms one failpoint, as "NAME:N": the process
// sends itself SIGKILL at the Nth time it reaches the point NAME.
const Env = "GAMESTREAM_TEST_FAILPOINT"

// The points the processor passes.
const (
	// PostgresCommit is reached inside a batch transaction, before COMMIT.
	PostgresCommit = "postgres-commit"
	// CheckpointCommit is reached inside a Badger checkpoint, before commit.
	CheckpointCommit = "checkpoint-commit"
	// MySQLCommit is reached inside a MySQL flush transaction, before COMMIT.
	MySQLCommit = "mysql-commit"
)

var (
	armed     string
	remaining atomic.Int64
)

func init() {
	name, count, ok := strings.Cut(os.Getenv(Env), ":")
	if !ok {
		return
	}
	n, err := strconv.ParseInt(count, 10, 64)
	if err != nil || n < 1 {
		return
	}
	armed = name
	remaining.Store(n)
}

// Hit kills the process with SIGKILL when point is armed and this is the
// Nth time it is reached; otherwise it returns at once.
func Hit(point string) {
	if armed == "" || point != armed {
		return
	}
	if remaining.Add(-1) == 0 {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}
