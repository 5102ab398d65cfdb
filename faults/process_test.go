package faults

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// process is one `gamestream run` or `gamestream replay` started by a test.
type process struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	// logPath is the file of the process's stderr, which has its JSON log.
	// Its stdout goes to a file beside it with the suffix .stdout.
	logPath string
	baseURL string
	exited  chan struct{}
}

// status mirrors the JSON document of /status.
type status struct {
	Stored      map[string]int64 `json:"stored"`
	Late        int64            `json:"late_events"`
	Lag         int64            `json:"lag"`
	Buffered    int              `json:"buffered"`
	Partitions  int              `json:"partitions"`
	OpenWindows int              `json:"open_windows"`
	Pending     int              `json:"pending_flush"`
	Watermark   time.Time        `json:"watermark"`
	Drained     bool             `json:"drained"`
	Problems    []string         `json:"problems"`
}

// storedTotal returns the events this process stored, over all kinds.
func (s status) storedTotal() int64 {
	var n int64
	for _, v := range s.Stored {
		n += v
	}
	return n
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

// childEnv returns this process's environment without any GAMESTREAM_
// variable, so only the configuration file and extra reach the child.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GAMESTREAM_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// startProcess starts `gamestream run --config cfgPath` with its output in
// files of the test. The process is killed when the test ends.
func startProcess(t *testing.T, name, cfgPath, listen string, extraEnv ...string) *process {
	t.Helper()
	return startCommand(t, name, cfgPath, listen, []string{"run"}, extraEnv...)
}

// startCommand starts the gamestream command args with --config cfgPath, as
// startProcess does.
func startCommand(t *testing.T, name, cfgPath, listen string, args []string, extraEnv ...string) *process {
	t.Helper()
	logPath := filepath.Join(filepath.Dir(cfgPath), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("creating log file %s failed: %v", logPath, err)
	}
	stdoutFile, err := os.Create(logPath + ".stdout")
	if err != nil {
		logFile.Close()
		t.Fatalf("creating output file %s.stdout failed: %v", logPath, err)
	}

	cmd := exec.Command(binaryPath, append(args, "--config", cfgPath)...)
	cmd.Env = childEnv(extraEnv...)
	cmd.Stdout = stdoutFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		stdoutFile.Close()
		t.Fatalf("starting %s failed: %v", name, err)
	}

	p := &process{t: t, name: name, cmd: cmd, logPath: logPath, baseURL: "http://" + listen, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		stdoutFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if !p.hasExited() {
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.exited
		}
	})
	return p
}

func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits up to 10 s for the process to end.
func (p *process) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !p.hasExited() {
		p.t.Fatalf("%s: sending SIGKILL to pid %d failed: %v", p.name, p.cmd.Process.Pid, err)
	}
	if !p.waitExit(10 * time.Second) {
		p.t.Fatalf("%s: pid %d still runs 10 s after SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// terminate sends SIGTERM.
func (p *process) terminate() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("%s: sending SIGTERM to pid %d failed: %v", p.name, p.cmd.Process.Pid, err)
	}
}

// waitExit reports whether the process ended within timeout.
func (p *process) waitExit(timeout time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(timeout):
		return false
	}
}

// exitCode returns the exit status, or -1 when a signal ended the process.
func (p *process) exitCode() int { return p.cmd.ProcessState.ExitCode() }

// killedBySignal reports whether sig ended the process.
func (p *process) killedBySignal(sig syscall.Signal) bool {
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// status fetches /status.
func (p *process) status() (status, error) {
	var s status
	resp, err := httpClient.Get(p.baseURL + "/status")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /status: %s", resp.Status)
	}
	err = json.NewDecoder(resp.Body).Decode(&s)
	return s, err
}

// readyz fetches /readyz and returns the status code and body.
func (p *process) readyz() (int, string, error) {
	resp, err := httpClient.Get(p.baseURL + "/readyz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// errExited is returned by poll when the process ended while a test waited
// for it.
var errExited = errors.New("process exited")

// poll calls cond every interval until it returns true, the process exits
// or timeout passes. Errors from cond, such as a refused connection during
// start-up, count as false. On timeout the error of the last call, if any,
// is part of the returned error.
func (p *process) poll(timeout, interval time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		done, err := cond()
		if err == nil && done {
			return nil
		}
		last = err
		if p.hasExited() {
			return fmt.Errorf("%w (%s)", errExited, p.cmd.ProcessState)
		}
		if time.Now().After(deadline) {
			if last != nil {
				return fmt.Errorf("timed out after %s (last error: %v)", timeout, last)
			}
			return fmt.Errorf("timed out after %s", timeout)
		}
		time.Sleep(interval)
	}
}

// waitStored waits until this process has stored at least n events, and
// returns the status it saw then.
func (p *process) waitStored(n int64, timeout time.Duration) status {
	p.t.Helper()
	var last status
	err := p.poll(timeout, 50*time.Millisecond, func() (bool, error) {
		s, err := p.status()
		last = s
		return s.storedTotal() >= n, err
	})
	if err != nil {
		p.t.Fatalf("%s: waiting for %d stored events: %v; last /status %+v", p.name, n, err, last)
	}
	return last
}

// waitDrained waits until /status reports drained with all partitions
// assigned, on every poll for at least 2 s, so that a high-water mark read
// before the last records arrived cannot end the wait.
func (p *process) waitDrained(partitions int, timeout time.Duration) status {
	p.t.Helper()
	var last status
	var since time.Time
	err := p.poll(timeout, 200*time.Millisecond, func() (bool, error) {
		s, err := p.status()
		if err != nil {
			return false, err
		}
		last = s
		if !s.Drained || s.Partitions != partitions {
			since = time.Time{}
			return false, nil
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= 2*time.Second, nil
	})
	if err != nil {
		p.t.Fatalf("%s: waiting until drained with %d partitions: %v; last /status %+v", p.name, partitions, err, last)
	}
	return last
}

// stop sends SIGTERM and fails the test unless the process exits with
// status 0 within timeout.
func (p *process) stop(timeout time.Duration) time.Duration {
	p.t.Helper()
	start := time.Now()
	p.terminate()
	if !p.waitExit(timeout) {
		p.t.Fatalf("%s: still running %s after SIGTERM", p.name, timeout)
	}
	elapsed := time.Since(start)
	if code := p.exitCode(); code != 0 {
		p.t.Fatalf("%s: exit status after SIGTERM is %d (%s), want 0", p.name, code, p.cmd.ProcessState)
	}
	return elapsed
}

// outputContains reports whether the process's stdout contains s.
func (p *process) outputContains(s string) bool {
	data, err := os.ReadFile(p.logPath + ".stdout")
	return err == nil && strings.Contains(string(data), s)
}

// logContains reports whether a line of the process's stderr contains s.
func (p *process) logContains(s string) bool {
	data, err := os.ReadFile(p.logPath)
	return err == nil && strings.Contains(string(data), s)
}

// logExcerpt returns the lines at level WARN or ERROR, up to max, and the
// last tail lines of the process's stderr. Lines about dead-lettered events
// are only counted, because the generated input has hundreds of them.
func (p *process) logExcerpt(max, tail int) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var problems, last []string
	deadLettered := 0

	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.Contains(line, `"msg":"event dead-lettered"`) {
			deadLettered++
			continue
		}
		if (strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`)) && len(problems) < max {
			problems = append(problems, line)
		}
		last = append(last, line)
		if len(last) > tail {
			last = last[1:]
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "--- %s (%s): %d dead-lettered events; warnings and errors\n", p.name, p.logPath, deadLettered)
	for _, l := range problems {
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, "--- %s: last %d lines\n", p.name, len(last))
	for _, l := range last {
		b.WriteString(l + "\n")
	}
	return b.String()
}
