package faults

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/gamestream/gamestream/internal/testdb"
	"github.com/gamestream/gamestream/loadgen"
)

// Topics of the default configuration.
var (
	inputTopics = map[string]string{"auth": "game.auth", "spin": "game.spin", "purchase": "game.purchase"}
	deadLetter  = "game.dlq"
)

// partitionsPerTopic is the partition count of every topic.
const partitionsPerTopic = 3

// satellites maps each kind to its vault table.
var satellites = map[string]string{
	"auth":     "satellite_auth_info",
	"spin":     "satellite_spin_info",
	"purchase": "satellite_purchase_info",
}

// settings are the values a test sets in the processor's configuration. The
// other settings keep the defaults of configs/gamestream.yaml.
type settings struct {
	brokers         []string
	group           string
	instanceID      string
	postgresDSN     string
	mysqlDSN        string
	stateDir        string
	recovery        string
	listen          string
	batchSize       int
	commitInterval  time.Duration
	shutdownTimeout time.Duration
}

// harness is one test's broker, databases, configuration and processes.
type harness struct {
	t *testing.T
	// ctx ends when the test's cleanup starts, which stops publishing
	// goroutines that a failed test leaves behind.
	ctx    context.Context
	rng    *rand.Rand
	dir    string
	broker *broker
	// pgDSN and myDSN reach the servers directly, while set.postgresDSN and
	// set.mysqlDSN may go through a proxy.
	pgDSN string
	myDSN string
	set   settings
	runs  []*process
}

// newHarness starts a broker with the default topics, creates both
// databases and prepares settings that reach them directly. With
// brokerDataDir set the broker keeps its data in a directory of the test,
// so broker.restart keeps the log.
func newHarness(t *testing.T, brokerDataDir bool) *harness {
	t.Helper()
	h := &harness{t: t, ctx: t.Context(), rng: newRand(t), dir: t.TempDir()}
	topics := []string{deadLetter}
	for _, topic := range inputTopics {
		topics = append(topics, topic)
	}
	sort.Strings(topics)
	dataDir := ""
	if brokerDataDir {
		dataDir = filepath.Join(h.dir, "kfake")
	}
	h.broker = startBroker(t, partitionsPerTopic, dataDir, topics...)
	h.pgDSN = testdb.Postgres(t)
	h.myDSN = testdb.MySQL(t)
	h.set = settings{
		brokers:         []string{h.broker.addr()},
		group:           "faults",
		instanceID:      "faults-1",
		postgresDSN:     h.pgDSN,
		mysqlDSN:        h.myDSN,
		stateDir:        filepath.Join(h.dir, "state"),
		recovery:        "replay",
		listen:          fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		batchSize:       2000,
		commitInterval:  500 * time.Millisecond,
		shutdownTimeout: 10 * time.Second,
	}
	t.Cleanup(h.logRunsOnFailure)
	return h
}

// writeConfig writes s as a YAML file named name in the test's directory
// and returns its path.
func (h *harness) writeConfig(name string, s settings) string {
	h.t.Helper()
	q := func(v string) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	brokers := make([]string, len(s.brokers))
	for i, b := range s.brokers {
		brokers[i] = q(b)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "kafka:\n")
	fmt.Fprintf(&b, "  brokers: [%s]\n", strings.Join(brokers, ", "))
	fmt.Fprintf(&b, "  consumer_group: %s\n", q(s.group))
	fmt.Fprintf(&b, "  session_timeout: 3s\n")
	fmt.Fprintf(&b, "  instance_id: %s\n", q(s.instanceID))
	fmt.Fprintf(&b, "postgres:\n  dsn: %s\n", q(s.postgresDSN))
	fmt.Fprintf(&b, "mysql:\n  dsn: %s\n", q(s.mysqlDSN))
	fmt.Fprintf(&b, "state:\n  dir: %s\n  recovery: %s\n", q(s.stateDir), q(s.recovery))
	fmt.Fprintf(&b, "processor:\n")
	fmt.Fprintf(&b, "  batch_size: %d\n", s.batchSize)
	fmt.Fprintf(&b, "  commit_interval: %s\n", s.commitInterval)
	fmt.Fprintf(&b, "  shutdown_timeout: %s\n", s.shutdownTimeout)
	fmt.Fprintf(&b, "watermark:\n  idle_timeout: 1s\n")
	fmt.Fprintf(&b, "http:\n  listen: %s\n", q(s.listen))
	fmt.Fprintf(&b, "log:\n  level: info\n")

	path := filepath.Join(h.dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		h.t.Fatalf("writing configuration %s failed: %v", path, err)
	}
	return path
}

// start writes the current settings and starts a processor with them.
func (h *harness) start(extraEnv ...string) *process {
	h.t.Helper()
	name := fmt.Sprintf("run-%02d", len(h.runs)+1)
	cfgPath := h.writeConfig(name+".yaml", h.set)
	p := startProcess(h.t, name, cfgPath, h.set.listen, extraEnv...)
	h.runs = append(h.runs, p)
	return p
}

// logRunsOnFailure logs the warnings, errors and last lines of every run
// when the test failed.
func (h *harness) logRunsOnFailure() {
	if !h.t.Failed() {
		return
	}
	for i, p := range h.runs {
		tail := 5
		if i == len(h.runs)-1 {
			tail = 30
		}
		h.t.Log("\n" + p.logExcerpt(20, tail))
	}
}

// partitions returns the number of input partitions a processor owns.
func (h *harness) partitions() int { return len(inputTopics) * partitionsPerTopic }

// publish sends lines to the broker and fails the test unless every one is
// acknowledged within 2 minutes.
func (h *harness) publish(lines [][]byte) {
	h.t.Helper()
	if err := h.tryPublish(lines); err != nil {
		h.t.Fatal(err)
	}
}

// tryPublish is publish for goroutines other than the test's.
func (h *harness) tryPublish(lines [][]byte) error {
	pub, err := loadgen.NewPublisher(loadgen.PublishConfig{Brokers: []string{h.broker.addr()}, Topics: inputTopics})
	if err != nil {
		return err
	}
	defer pub.Close()
	ctx, cancel := context.WithTimeout(h.ctx, 2*time.Minute)
	defer cancel()
	n, err := pub.Publish(ctx, func(yield func([]byte) bool) {
		for _, l := range lines {
			if !yield(l) {
				return
			}
		}
	})
	if err != nil {
		return fmt.Errorf("publishing %d lines failed after %d: %w", len(lines), n, err)
	}
	if n != int64(len(lines)) {
		return fmt.Errorf("publishing %d lines: %d acknowledged", len(lines), n)
	}
	return nil
}

// vaultRows returns the number of rows in all satellite tables.
func (h *harness) vaultRows() int64 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, h.pgDSN)
	if err != nil {
		h.t.Fatalf("connecting to PostgreSQL failed: %v", err)
	}
	defer conn.Close(context.Background())
	var total int64
	for _, table := range satellites {
		var n int64
		err := conn.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
		// Before the first run has migrated the database the table is missing.
		if err != nil && !strings.Contains(err.Error(), "does not exist") {
			h.t.Fatalf("counting rows of %s failed: %v", table, err)
		}
		total += n
	}
	return total
}

// checkInvariant checks the state after the input is drained: the vault
// contains every valid msg_id once, no event was late, and `gamestream
// reconcile` finds MySQL equal to the recomputation from the vault.
func (h *harness) checkInvariant(in input) {
	h.t.Helper()
	h.checkVault(in)
	h.checkNoLateEvents()
	out := h.reconcile()
	h.t.Logf("reconcile: exit status 0 (no differences):\n%s", lastLines(out, 10))
}

// checkVault fails the test unless every satellite table contains each
// distinct valid msg_id of its kind exactly once and nothing else.
func (h *harness) checkVault(in input) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, h.pgDSN)
	if err != nil {
		h.t.Fatalf("connecting to PostgreSQL failed: %v", err)
	}
	defer conn.Close(context.Background())

	kinds := []string{"auth", "spin", "purchase"}
	for _, kind := range kinds {
		table := satellites[kind]
		want := in.valid[kind]

		var rows, distinct int64
		err := conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT msg_id) FROM "+table).Scan(&rows, &distinct)
		if err != nil {
			h.t.Fatalf("counting rows of %s failed: %v", table, err)
		}
		if rows != int64(len(want)) {
			h.t.Errorf("%s has %d rows, want %d (the distinct valid msg_ids published)", table, rows, len(want))
		}
		if distinct != rows {
			h.t.Errorf("%s has %d rows but %d distinct msg_ids", table, rows, distinct)
		}

		got := make(map[string]bool, len(want))
		idRows, err := conn.Query(ctx, "SELECT msg_id FROM "+table)
		if err != nil {
			h.t.Fatalf("reading msg_ids of %s failed: %v", table, err)
		}
		for idRows.Next() {
			var id string
			if err := idRows.Scan(&id); err != nil {
				h.t.Fatalf("reading msg_ids of %s failed: %v", table, err)
			}
			got[id] = true
		}
		if err := idRows.Err(); err != nil {
			h.t.Fatalf("reading msg_ids of %s failed: %v", table, err)
		}
		var missing, unexpected []string
		for id := range want {
			if !got[id] {
				missing = append(missing, id)
			}
		}
		for id := range got {
			if !want[id] {
				unexpected = append(unexpected, id)
			}
		}
		if len(missing) > 0 {
			h.t.Errorf("%s lacks %d valid msg_ids, for example %v", table, len(missing), firstSorted(missing, 5))
		}
		if len(unexpected) > 0 {
			h.t.Errorf("%s has %d msg_ids that are not valid input, for example %v", table, len(unexpected), firstSorted(unexpected, 5))
		}
	}
}

// checkNoLateEvents fails the test when the windows left out a stored event
// because the watermark had passed its window. While a processor runs and
// more input is to come, the tests never pause their input for longer than
// watermark.idle_timeout, and a partition with unread records holds the
// watermark back, so no fault may make an event late.
func (h *harness) checkNoLateEvents() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, h.pgDSN)
	if err != nil {
		h.t.Fatalf("connecting to PostgreSQL failed: %v", err)
	}
	defer conn.Close(context.Background())

	rows, err := conn.Query(ctx, `SELECT report_type, count(*), min(created_at)::text, max(created_at)::text,
		min(load_dts)::text, max(load_dts)::text FROM late_event_info GROUP BY report_type ORDER BY report_type`)
	if err != nil {
		h.t.Fatalf("reading late_event_info failed: %v", err)
	}
	defer rows.Close()
	var late []string
	for rows.Next() {
		var reportType, firstEvent, lastEvent, firstLoad, lastLoad string
		var count int64
		if err := rows.Scan(&reportType, &count, &firstEvent, &lastEvent, &firstLoad, &lastLoad); err != nil {
			h.t.Fatalf("reading late_event_info failed: %v", err)
		}
		late = append(late, fmt.Sprintf("%s: %d events from %s to %s, recorded from %s to %s",
			reportType, count, firstEvent, lastEvent, firstLoad, lastLoad))
	}
	if err := rows.Err(); err != nil {
		h.t.Fatalf("reading late_event_info failed: %v", err)
	}
	if len(late) > 0 {
		h.t.Errorf("late_event_info lists events that the windows left out, want none:\n%s", strings.Join(late, "\n"))
	}
}

func firstSorted(ids []string, n int) []string {
	sort.Strings(ids)
	return ids[:min(n, len(ids))]
}

// reconcile runs `gamestream reconcile` on the direct database connections
// and fails the test unless it exits with status 0. It returns the
// command's output.
func (h *harness) reconcile() string {
	h.t.Helper()
	s := h.set
	s.postgresDSN = h.pgDSN
	s.mysqlDSN = h.myDSN
	cfgPath := h.writeConfig("reconcile.yaml", s)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binaryPath, "reconcile", "--config", cfgPath)
	cmd.Env = childEnv()
	out, err := cmd.CombinedOutput()
	text := strings.TrimSpace(string(out))
	if err != nil {
		h.t.Fatalf("gamestream reconcile failed (%v); exit status 0 means zero differences, 2 differences found, 1 an error. Output:\n%s",
			err, lastLines(text, 40))
	}
	return text
}

func lastLines(text string, n int) string {
	lines := strings.Split(text, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// profileTotals is what a dashboard reads from user_profiles.
type profileTotals struct {
	rows      int64
	spins     int64
	purchases string
}

func (p profileTotals) String() string {
	return fmt.Sprintf("%d profiles, total spins %d, total purchases %s", p.rows, p.spins, p.purchases)
}

// openMySQL opens the test's MySQL database directly.
func (h *harness) openMySQL() *sql.DB {
	h.t.Helper()
	cfg, err := mysql.ParseDSN(h.myDSN)
	if err != nil {
		h.t.Fatalf("parsing the MySQL DSN failed: %v", err)
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		h.t.Fatalf("opening MySQL failed: %v", err)
	}
	db := sql.OpenDB(connector)
	h.t.Cleanup(func() { db.Close() })
	return db
}

// readTotals returns the row count and sums of user_profiles.
func readTotals(db *sql.DB) (profileTotals, error) {
	var p profileTotals
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := db.QueryRowContext(ctx,
		"SELECT count(*), COALESCE(SUM(total_spins), 0), CAST(COALESCE(SUM(total_purchases), 0) AS CHAR) FROM user_profiles").
		Scan(&p.rows, &p.spins, &p.purchases)
	return p, err
}

// mysqlWrites returns the latest write times of user_profiles and
// aggregated_reports and the number of report rows, which change with any
// write to MySQL.
func mysqlWrites(db *sql.DB) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var profiles, reports sql.NullString
	var count int64
	if err := db.QueryRowContext(ctx, "SELECT CAST(MAX(updated_at) AS CHAR) FROM user_profiles").Scan(&profiles); err != nil {
		return "", err
	}
	err := db.QueryRowContext(ctx, "SELECT CAST(MAX(`timestamp`) AS CHAR), count(*) FROM aggregated_reports").Scan(&reports, &count)
	return fmt.Sprintf("profiles written up to %s, %d reports written up to %s", profiles.String, count, reports.String), err
}
