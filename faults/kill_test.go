package faults

import (
	"fmt"
	"sort"
	"syscall"
	"testing"
	"time"
)

// Ways a run of TestKillRandomly ends.
const (
	killSignal     = "sigkill"
	killPostgres   = "postgres-commit"
	killCheckpoint = "checkpoint-commit"
	killMySQL      = "mysql-commit"
)

// failpointEnv names the variable that internal/failpoint reads to arm a
// failpoint in the processor.
const failpointEnv = "GAMESTREAM_TEST_FAILPOINT"

// killPlan returns the ends of the killed runs in random order: each
// failpoint once and SIGKILL from the test for the rest.
func killPlan(h *harness, kills int) []string {
	plan := []string{killPostgres, killCheckpoint, killMySQL}
	for len(plan) < kills {
		plan = append(plan, killSignal)
	}
	h.rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	return plan
}

// failpointHit returns the N of an armed failpoint: the process kills
// itself the Nth time it reaches the point. With batch_size 1000 and
// commit_interval 500ms the ranges put each kill within about 4 s of the
// start. A checkpoint is taken every commit interval from the processor's
// start, also before the consumer has joined the group, so its N starts
// higher.
func failpointHit(h *harness, point string) int {
	switch point {
	case killCheckpoint:
		return 4 + h.rng.IntN(4)
	case killPostgres:
		return 3 + h.rng.IntN(6)
	default:
		return 2 + h.rng.IntN(4)
	}
}

func TestKillRandomly(t *testing.T) {
	h := newHarness(t, false)
	h.set.batchSize = 1000
	in := generate(t, generatorConfig(h.rng.Int64N(1<<31), 120_000, 5000))
	t.Logf("input: %d lines, %d distinct valid msg_ids, %d duplicates injected, %d invalid lines",
		len(in.lines), in.validCount(), in.duplicates, in.invalid)

	plan := killPlan(h, 12)
	kills := make(map[string]int)

	// Each run gets an equal share of what is left of the first 90% of the
	// input, published in 25 slices 150 ms apart, and more slices while the
	// run lasts longer.
	// So the input never pauses while a processor runs, because after a pause
	// longer than watermark.idle_timeout the rest of the input would be late.
	feed := &feeder{h: h, lines: in.lines}
	reserve := len(in.lines) / 10

	for i, end := range plan {
		var env []string
		if end != killSignal {
			env = append(env, fmt.Sprintf("%s=%s:%d", failpointEnv, end, failpointHit(h, end)))
		}
		rowsBefore := h.vaultRows()
		started := time.Now()
		p := h.start(env...)
		share := max(0, len(in.lines)-reserve-feed.next) / (len(plan) - i)
		published := feed.run(share, max(1, share/25), 150*time.Millisecond, p.exited)

		var last status
		if end == killSignal {
			first := p.waitStored(1, time.Minute)
			firstStored := time.Since(started)
			delay := 300*time.Millisecond + time.Duration(h.rng.Int64N(int64(2200*time.Millisecond)))
			time.Sleep(delay)
			var err error
			last, err = p.status()
			if err != nil {
				t.Fatalf("%s: reading /status before the kill failed: %v", p.name, err)
			}
			p.kill()
			if last.storedTotal() <= 0 {
				t.Errorf("%s: /status stored %v before the kill, want events stored by this run", p.name, last.Stored)
			}
			t.Logf("%s: first batch stored %s after the start; SIGKILL %s later; stored %d then %d, lag %d, late %d",
				p.name, firstStored.Round(time.Millisecond), delay.Round(time.Millisecond),
				first.storedTotal(), last.storedTotal(), last.Lag, last.Late)
		} else {
			last = p.watchUntilExit(time.Minute)
			if !p.hasExited() {
				t.Fatalf("%s: %s was not reached within 1 minute (%s)", p.name, end, env[0])
			}
			if !p.killedBySignal(syscall.SIGKILL) {
				t.Fatalf("%s: ended with %s, want SIGKILL from %s", p.name, p.cmd.ProcessState, env[0])
			}
			t.Logf("%s: killed itself at %s; /status last showed stored %d, lag %d, buffered %d",
				p.name, env[0], last.storedTotal(), last.Lag, last.Buffered)
		}
		if err := <-published; err != nil {
			t.Fatal(err)
		}

		rowsAfter := h.vaultRows()
		if rowsAfter <= rowsBefore && last.storedTotal() == 0 {
			t.Errorf("%s: neither the vault (%d rows) nor /status shows events stored by this run", p.name, rowsAfter)
		}
		kills[end]++
	}

	h.publish(in.lines[feed.next:])
	final := h.start()
	s := final.waitDrained(h.partitions(), 2*time.Minute)
	final.stop(20 * time.Second)

	names := make([]string, 0, len(kills))
	for name := range kills {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Logf("kills by %s: %d", name, kills[name])
	}
	t.Logf("final run stored %d events; vault rows %d", s.storedTotal(), h.vaultRows())

	h.checkInvariant(in)
}

// watchUntilExit polls /status until the process exits or timeout passes and
// returns the last status it read.
func (p *process) watchUntilExit(timeout time.Duration) status {
	var last status
	deadline := time.Now().Add(timeout)
	for !p.hasExited() && time.Now().Before(deadline) {
		if s, err := p.status(); err == nil {
			last = s
		}
		time.Sleep(50 * time.Millisecond)
	}
	return last
}

// feeder publishes lines in order from a cursor.
type feeder struct {
	h     *harness
	lines [][]byte
	// next is the index of the first line not published yet. Only the
	// goroutine of run changes it, so read it only after that run's result.
	next int
}

// run publishes at least count lines, in slices with a pause between them,
// and goes on with further slices until stop is closed or the lines run
// out. It runs on a goroutine, and the returned channel receives the result.
func (f *feeder) run(count, slice int, pause time.Duration, stop <-chan struct{}) <-chan error {
	done := make(chan error, 1)
	go func() {
		for published := 0; f.next < len(f.lines); {
			if published >= count {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
			}
			end := min(f.next+slice, len(f.lines))
			if err := f.h.tryPublish(f.lines[f.next:end]); err != nil {
				done <- err
				return
			}
			published += end - f.next
			f.next = end
			select {
			case <-time.After(pause):
			case <-f.h.ctx.Done():
				done <- f.h.ctx.Err()
				return
			}
		}
		done <- nil
	}()
	return done
}

// publishPaced publishes lines in slices with a pause between them on a
// goroutine. The returned channel receives the result.
func (h *harness) publishPaced(lines [][]byte, slices int, pause time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		for i := range slices {
			part := lines[i*len(lines)/slices : (i+1)*len(lines)/slices]
			if err := h.tryPublish(part); err != nil {
				done <- err
				return
			}
			select {
			case <-time.After(pause):
			case <-h.ctx.Done():
				done <- h.ctx.Err()
				return
			}
		}
		done <- nil
	}()
	return done
}
