package faults

import (
	"database/sql"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSIGTERMStopsCleanly(t *testing.T) {
	h := newHarness(t, false)
	h.set.shutdownTimeout = 10 * time.Second
	in := generate(t, generatorConfig(h.rng.Int64N(1<<31), 60_000, 3000))
	t.Logf("input: %d lines, %d distinct valid msg_ids, %d duplicates injected, %d invalid lines",
		len(in.lines), in.validCount(), in.duplicates, in.invalid)
	h.publish(in.lines)

	p := h.start()
	p.waitStored(1, time.Minute)
	time.Sleep(time.Duration(h.rng.IntN(1000)) * time.Millisecond)
	s, err := p.status()
	if err != nil {
		t.Fatalf("reading /status before SIGTERM failed: %v", err)
	}
	if s.Lag == 0 && s.Buffered == 0 {
		t.Fatalf("%s: the input was drained before SIGTERM (/status %+v), so the stop did not happen mid-run", p.name, s)
	}
	elapsed := p.stop(h.set.shutdownTimeout)
	t.Logf("SIGTERM with stored %d, lag %d, buffered %d: exit status 0 after %s",
		s.storedTotal(), s.Lag, s.Buffered, elapsed.Round(time.Millisecond))
	if !p.logContains(`"msg":"stopped cleanly"`) {
		t.Errorf("%s: the log has no \"stopped cleanly\" line", p.name)
	}

	restarted := h.start()
	restarted.waitDrained(h.partitions(), 2*time.Minute)
	restarted.stop(20 * time.Second)

	h.checkInvariant(in)
}

func TestStateLoss(t *testing.T) {
	h := newHarness(t, false)
	in := generate(t, generatorConfig(h.rng.Int64N(1<<31), 40_000, 3000))
	t.Logf("input: %d lines, %d distinct valid msg_ids, %d duplicates injected, %d invalid lines",
		len(in.lines), in.validCount(), in.duplicates, in.invalid)
	h.publish(in.lines)

	first := h.start()
	first.waitDrained(h.partitions(), 2*time.Minute)
	first.stop(20 * time.Second)

	db := h.openMySQL()
	want, err := readTotals(db)
	if err != nil {
		t.Fatalf("reading user_profiles totals failed: %v", err)
	}
	writes, err := mysqlWrites(db)
	if err != nil {
		t.Fatalf("reading MySQL write times failed: %v", err)
	}
	t.Logf("after the first run: %s; %s", want, writes)
	if err := os.RemoveAll(h.set.stateDir); err != nil {
		t.Fatalf("deleting the state directory failed: %v", err)
	}

	// With state.recovery refuse the processor must not start.
	h.set.recovery = "refuse"
	refuseRun := h.start()
	if !refuseRun.waitExit(time.Minute) {
		t.Fatalf("%s: still running 1 minute after the start with state.recovery refuse and no checkpoint", refuseRun.name)
	}
	if code := refuseRun.exitCode(); code == 0 {
		t.Errorf("%s: exit status 0 without a checkpoint and with state.recovery refuse, want non-zero", refuseRun.name)
	}
	output, err := os.ReadFile(refuseRun.logPath) // the process's stderr
	if err != nil {
		t.Fatalf("reading %s failed: %v", refuseRun.logPath, err)
	}
	if !strings.Contains(string(output), h.set.stateDir) {
		t.Errorf("%s: stderr does not name the state directory %s:\n%s", refuseRun.name, h.set.stateDir, lastLines(string(output), 5))
	}
	if !strings.Contains(string(output), "gamestream replay") {
		t.Errorf("%s: stderr does not name `gamestream replay`:\n%s", refuseRun.name, lastLines(string(output), 5))
	}
	if got, err := mysqlWrites(db); err != nil || got != writes {
		t.Errorf("MySQL after the refused start: %s (error %v), want unchanged: %s", got, err, writes)
	}
	if got, err := readTotals(db); err != nil || got != want {
		t.Errorf("user_profiles after the refused start: %+v (error %v), want %+v", got, err, want)
	}

	// With state.recovery replay the processor rebuilds the state, and MySQL
	// must keep the recorded totals during the whole rebuild.
	h.set.recovery = "replay"
	sampler := startTotalsSampler(db, want, 100*time.Millisecond)
	rebuilt := h.start()
	rebuilt.waitDrained(h.partitions(), 2*time.Minute)
	samples, mismatches := sampler.stop()
	rebuilt.stop(20 * time.Second)

	t.Logf("sampled user_profiles %d times during the rebuild", samples)
	if samples < 10 {
		t.Errorf("only %d samples of user_profiles during the rebuild, want at least 10", samples)
	}
	if len(mismatches) > 0 {
		t.Errorf("%d of %d samples of user_profiles during the rebuild differ from the totals before it, for example:\n%s",
			len(mismatches), samples, strings.Join(mismatches[:min(len(mismatches), 10)], "\n"))
	}
	if !rebuilt.logContains("rebuilding the state from the events stored in PostgreSQL") {
		t.Errorf("%s: the log does not show a rebuild", rebuilt.name)
	}
	if !rebuilt.logContains("state rebuilt from the events stored in PostgreSQL") {
		t.Errorf("%s: the log does not show the state rebuilt from PostgreSQL", rebuilt.name)
	}
	if got, err := readTotals(db); err != nil || got != want {
		t.Errorf("user_profiles after the rebuild: %+v (error %v), want %+v", got, err, want)
	}

	h.checkInvariant(in)
}

// totalsSampler reads user_profiles totals on a goroutine and records every
// sample that differs from the expected totals.
type totalsSampler struct {
	done       chan struct{}
	wg         sync.WaitGroup
	samples    int
	mismatches []string
}

func startTotalsSampler(db *sql.DB, want profileTotals, interval time.Duration) *totalsSampler {
	s := &totalsSampler{done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			got, err := readTotals(db)
			s.samples++
			switch {
			case err != nil:
				s.mismatches = append(s.mismatches, "read failed: "+err.Error())
			case got != want:
				s.mismatches = append(s.mismatches, time.Now().Format(time.RFC3339Nano)+": "+got.String()+", want "+want.String())
			}
			select {
			case <-s.done:
				return
			case <-ticker.C:
			}
		}
	}()
	return s
}

// stop ends sampling and returns the number of samples and the mismatches.
func (s *totalsSampler) stop() (int, []string) {
	close(s.done)
	s.wg.Wait()
	return s.samples, s.mismatches
}
