package faults

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// replay starts `gamestream replay --from from` with the current settings.
func (h *harness) replay(from time.Time) *process {
	h.t.Helper()
	name := fmt.Sprintf("replay-%02d", len(h.runs)+1)
	cfgPath := h.writeConfig(name+".yaml", h.set)
	p := startCommand(h.t, name, cfgPath, h.set.listen, []string{"replay", "--from", from.UTC().Format(time.RFC3339Nano)})
	h.runs = append(h.runs, p)
	return p
}

func TestReplayFromTimeSurvivesKill(t *testing.T) {
	h := newHarness(t, false)
	in := generate(t, generatorConfig(h.rng.Int64N(1<<31), 40_000, 3000))
	t.Logf("input: %d lines, %d distinct valid msg_ids, %d duplicates injected, %d invalid lines",
		len(in.lines), in.validCount(), in.duplicates, in.invalid)
	half := len(in.lines) / 2
	h.publish(in.lines[:half])
	time.Sleep(50 * time.Millisecond)
	from := time.Now()
	time.Sleep(50 * time.Millisecond)
	h.publish(in.lines[half:])

	first := h.start()
	first.waitDrained(h.partitions(), 2*time.Minute)
	first.stop(20 * time.Second)
	db := h.openMySQL()
	want, err := readTotals(db)
	if err != nil {
		t.Fatalf("reading user_profiles totals failed: %v", err)
	}
	t.Logf("after the first run: %s", want)

	// A replay killed while it rebuilds leaves MySQL as it was, and the next
	// run finishes the rebuild from the replay's checkpoint.
	sampler := startTotalsSampler(db, want, 100*time.Millisecond)
	killed := h.replay(from)
	if err := killed.poll(time.Minute, 20*time.Millisecond, func() (bool, error) {
		return killed.outputContains("rebuilding"), nil
	}); err != nil {
		t.Fatalf("%s: no rebuild started within 1 minute: %v\n%s", killed.name, err, killed.logExcerpt(20, 20))
	}
	delay := time.Duration(h.rng.Int64N(int64(300 * time.Millisecond)))
	time.Sleep(delay)
	killed.kill()
	t.Logf("%s: SIGKILL %s after the rebuild started", killed.name, delay.Round(time.Millisecond))

	resumed := h.start()
	resumed.waitDrained(h.partitions(), 2*time.Minute)
	samples, mismatches := sampler.stop()
	resumed.stop(20 * time.Second)
	t.Logf("sampled user_profiles %d times during the killed replay and the resumed rebuild", samples)
	if len(mismatches) > 0 {
		t.Errorf("%d of %d samples of user_profiles differ from the totals before the replay, for example:\n%s",
			len(mismatches), samples, strings.Join(mismatches[:min(len(mismatches), 10)], "\n"))
	}
	if !resumed.logContains("continuing to rebuild the state from the log") {
		t.Errorf("%s: the log does not show the rebuild continued", resumed.name)
	}
	if got, err := readTotals(db); err != nil || got != want {
		t.Errorf("user_profiles after the resumed rebuild: %+v (error %v), want %+v", got, err, want)
	}
	h.checkInvariant(in)

	// A replay that runs to the end exits 0 and leaves the same totals.
	full := h.replay(from)
	if !full.waitExit(2 * time.Minute) {
		t.Fatalf("%s: still running 2 minutes after the start", full.name)
	}
	if code := full.exitCode(); code != 0 {
		t.Fatalf("%s: exit status %d, want 0\n%s", full.name, code, full.logExcerpt(20, 20))
	}
	if !full.outputContains("replay finished") {
		t.Errorf("%s: stdout does not report the end of the replay", full.name)
	}
	if got, err := readTotals(db); err != nil || got != want {
		t.Errorf("user_profiles after the replay: %+v (error %v), want %+v", got, err, want)
	}
	h.checkInvariant(in)
}
