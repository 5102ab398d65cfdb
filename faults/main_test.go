// Package faults runs the gamestream binary as a separate process against an
// in-process Kafka-protocol broker and the local PostgreSQL and MySQL
// servers, and injects crashes, outages and restarts. After each test's input
// is drained it checks that the vault stores every valid event once and that
// `gamestream reconcile` finds no difference between MySQL and the vault.
package faults

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// seedEnv names the variable that replays a run: every test derives its
// random choices from this seed and its own name.
const seedEnv = "GAMESTREAM_TEST_SEED"

var (
	// binaryPath is the gamestream binary that TestMain builds.
	binaryPath string
	// baseSeed is the seed of this run, from seedEnv or random.
	baseSeed int64
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	seed, err := loadSeed()
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 2
	}
	baseSeed = seed

	dir, err := os.MkdirTemp("", "gamestream-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults: creating a directory for the binary failed:", err)
		return 2
	}
	defer os.RemoveAll(dir)

	binaryPath = filepath.Join(dir, "gamestream")
	// go test puts the go command of its own toolchain first in PATH.
	build := exec.Command("go", "build", "-o", binaryPath, "github.com/gamestream/gamestream/cmd/gamestream")
	build.Stdout = os.Stderr
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "faults: building ./cmd/gamestream failed:", err)
		return 2
	}
	return m.Run()
}

// loadSeed returns the seed from seedEnv, or a random one when it is unset.
func loadSeed() (int64, error) {
	value := os.Getenv(seedEnv)
	if value == "" {
		return rand.Int64N(1 << 40), nil
	}
	seed, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid %s %q: want a decimal integer", seedEnv, value)
	}
	return seed, nil
}

// newRand logs the run's seed and returns a generator that depends only on
// that seed and the test's name.
func newRand(t *testing.T) *rand.Rand {
	t.Helper()
	t.Logf("seed %d (set %s=%d to replay)", baseSeed, seedEnv, baseSeed)
	name := fnv.New64a()
	name.Write([]byte(t.Name()))
	return rand.New(rand.NewPCG(uint64(baseSeed), name.Sum64()))
}
