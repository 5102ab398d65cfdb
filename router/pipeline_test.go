package router_test

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gamestream/gamestream/configs"
	"github.com/gamestream/gamestream/demo"
	"github.com/gamestream/gamestream/handlers"
	"github.com/gamestream/gamestream/internal/testdb"
	"github.com/gamestream/gamestream/loadgen"
	"github.com/gamestream/gamestream/router"
)

// sharedData is the folder of the real game data beside the repository.
const sharedData = "../../shared/data"

// spinSubset is how many real spin events the pipeline tests publish; with
// every auth event and every purchase the input has more than 12,000 events.
const spinSubset = 8000

type testEnv struct {
	broker *demo.Broker
	cfg    *configs.Config
	pgDSN  string
	myDSN  string
	topics []string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	cfg, err := configs.Load("", nil)
	require.NoError(t, err)

	env := &testEnv{pgDSN: testdb.Postgres(t), myDSN: testdb.MySQL(t), cfg: cfg}
	for _, topic := range cfg.Kafka.Topics {
		env.topics = append(env.topics, topic)
	}
	sort.Strings(env.topics)
	env.broker, err = demo.StartBroker(3, append(env.topics, cfg.Kafka.DeadLetterTopic)...)
	require.NoError(t, err)
	t.Cleanup(env.broker.Close)

	cfg.Kafka.Brokers = env.broker.Addrs
	cfg.Kafka.ConsumerGroup = "gamestream-test"
	cfg.Kafka.SessionTimeout = 2 * time.Second
	cfg.Postgres.DSN = env.pgDSN
	cfg.MySQL.DSN = env.myDSN
	cfg.State.Dir = t.TempDir()
	cfg.Watermark.IdleTimeout = time.Second
	cfg.Processor.CommitInterval = 300 * time.Millisecond
	cfg.Processor.BatchSize = 2000
	cfg.HTTP.Listen = "127.0.0.1:0"
	return env
}

func (env *testEnv) start(t *testing.T, ctx context.Context) (*router.Service, func() error) {
	t.Helper()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := router.NewService(ctx, env.cfg, logger)
	require.NoError(t, err)
	stop := demo.RunService(ctx, svc)
	return svc, func() error {
		err := stop()
		svc.Close()
		return err
	}
}

func (env *testEnv) publish(t *testing.T, ctx context.Context, lines [][]byte) {
	t.Helper()
	pub, err := loadgen.NewPublisher(loadgen.PublishConfig{Brokers: env.cfg.Kafka.Brokers, Topics: env.cfg.Kafka.Topics})
	require.NoError(t, err)
	defer pub.Close()
	n, err := pub.Publish(ctx, func(yield func([]byte) bool) {
		for _, l := range lines {
			if !yield(l) {
				return
			}
		}
	})
	require.NoError(t, err)
	require.Equal(t, int64(len(lines)), n)
}

func (env *testEnv) waitDrained(t *testing.T, ctx context.Context, svc *router.Service) {
	t.Helper()
	ends, err := demo.EndOffsets(ctx, env.cfg.Kafka.Brokers, env.topics...)
	require.NoError(t, err)
	waitCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	require.NoError(t, demo.WaitDrained(waitCtx, svc.Processor(), ends, time.Hour, nil))
}

// input is the test's events: a real-data subset plus invalid lines and
// re-sent msg_ids, with what the vault must hold afterwards.
type input struct {
	lines    [][]byte
	invalid  int
	distinct map[handlers.Kind]int
}

func realInput(t *testing.T) input {
	t.Helper()
	var in input
	in.lines = append(in.lines, readLines(t, "bustabit-auth.ndjson", 0)...)
	spins := readLines(t, "bustabit-spins.ndjson", spinSubset)
	in.lines = append(in.lines, spins...)
	purchases := readLines(t, "floodit-purchases.ndjson", 0)
	require.Len(t, purchases, 27)
	in.lines = append(in.lines, purchases...)

	in.distinct = map[handlers.Kind]int{}
	for _, l := range in.lines {
		var head struct{ Type string }
		require.NoError(t, json.Unmarshal(l, &head))
		in.distinct[handlers.Kind(head.Type)]++
	}

	// Re-sends of the same msg_id: an exact copy, and one with other content
	// that must lose to the first copy.
	for i := 0; i < 40; i++ {
		in.lines = append(in.lines, spins[i*10])
		changed := strings.Replace(string(spins[i*10+5]), `"spin_count": 1`, `"spin_count": 7`, 1)
		in.lines = append(in.lines, []byte(changed))
	}
	invalid := []string{
		`{"msg_id": "bad-json", "type": "spin"`,
		`{"msg_id": "no-uid", "type": "spin", "app_id": "bustabit", "timestamp": "2021-11-01T00:00:00Z"}`,
		`{"msg_id": "neg", "type": "purchase", "uid": "u1", "app_id": "a", "timestamp": "2021-11-01T00:00:00Z", "purchase_amount": "-1", "currency": "USD"}`,
		`{"msg_id": "xxx", "type": "purchase", "uid": "u1", "app_id": "a", "timestamp": "2021-11-01T00:00:00Z", "purchase_amount": "1", "currency": "XXX"}`,
		`{"msg_id": "cents", "type": "purchase", "uid": "u1", "app_id": "a", "timestamp": "2021-11-01T00:00:00Z", "purchase_amount": "1.999", "currency": "USD"}`,
		`{"msg_id": "future", "type": "auth", "uid": "u1", "app_id": "a", "timestamp": "2999-01-01T00:00:00Z"}`,
	}
	for _, l := range invalid {
		in.lines = append(in.lines, []byte(l))
	}
	in.invalid = len(invalid)
	return in
}

func readLines(t *testing.T, name string, limit int) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedData, name))
	require.NoError(t, err, "the pipeline tests read the real game data from %s", sharedData)
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() && (limit == 0 || len(lines) < limit) {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	require.NoError(t, sc.Err())
	return lines
}

func TestPipelineRealData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env := newTestEnv(t)
	in := realInput(t)

	svc, stop := env.start(t, ctx)
	env.publish(t, ctx, in.lines)
	env.waitDrained(t, ctx, svc)
	require.NoError(t, stop())

	env.assertVault(t, ctx, in)
	env.assertDeadLetters(t, ctx, in.invalid)
	env.assertMySQLMatchesVault(t, ctx)
}

func TestPipelineRestartMidway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env := newTestEnv(t)
	in := realInput(t)
	env.cfg.Processor.BatchSize = 500

	svc, stop := env.start(t, ctx)
	env.publish(t, ctx, in.lines)
	require.Eventually(t, func() bool {
		var stored int64
		for _, n := range svc.Processor().Progress().Stored {
			stored += n
		}
		return stored > int64(len(in.lines)/3)
	}, time.Minute, 5*time.Millisecond)
	require.NoError(t, stop())
	var storedBefore int64
	for _, n := range svc.Processor().Progress().Stored {
		storedBefore += n
	}
	require.Less(t, storedBefore, int64(len(in.lines)-in.invalid), "the first run must stop before the input is drained")

	svc, stop = env.start(t, ctx)
	require.True(t, svc.Resumed())
	env.waitDrained(t, ctx, svc)
	require.NoError(t, stop())

	env.assertVault(t, ctx, in)
	env.assertDeadLetters(t, ctx, in.invalid)
	env.assertMySQLMatchesVault(t, ctx)
}

func (env *testEnv) assertVault(t *testing.T, ctx context.Context, in input) {
	t.Helper()
	conn, err := pgx.Connect(ctx, env.pgDSN)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for kind, want := range in.distinct {
		var rows, distinct int
		table := "satellite_" + string(kind) + "_info"
		err := conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT msg_id) FROM "+table).Scan(&rows, &distinct)
		require.NoError(t, err)
		require.Equal(t, want, distinct, "distinct msg_ids in %s", table)
		require.Equal(t, want, rows, "rows in %s", table)
	}
	var changed int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM satellite_spin_info WHERE spin_count <> 1").Scan(&changed)
	require.NoError(t, err)
	require.Zero(t, changed, "a re-sent msg_id with other content replaced the first copy")
}

func (env *testEnv) assertDeadLetters(t *testing.T, ctx context.Context, want int) {
	t.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers(env.cfg.Kafka.Brokers...),
		kgo.ConsumeTopics(env.cfg.Kafka.DeadLetterTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer client.Close()
	reasons := map[string]bool{}
	got := 0
	pollCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for got < want && pollCtx.Err() == nil {
		client.PollFetches(pollCtx).EachRecord(func(r *kgo.Record) {
			got++
			headers := map[string]string{}
			for _, h := range r.Headers {
				headers[h.Key] = string(h.Value)
			}
			require.NotEmpty(t, headers[handlers.HeaderReason], "record %q", r.Value)
			require.NotEmpty(t, headers[handlers.HeaderTopic])
			require.NotEmpty(t, headers[handlers.HeaderOffset])
			reasons[headers[handlers.HeaderReason]] = true
		})
	}
	require.Equal(t, want, got, "dead-letter records")
	for _, reason := range []string{"invalid_json", "missing_field", "negative_amount", "unknown_currency", "too_many_decimals", "future_timestamp"} {
		require.True(t, reasons[reason], "no dead-letter record with reason %s; got %v", reason, reasons)
	}
}

// assertMySQLMatchesVault recomputes every profile and every window report
// with SQL over the vault's satellites and compares them with MySQL.
func (env *testEnv) assertMySQLMatchesVault(t *testing.T, ctx context.Context) {
	t.Helper()
	conn, err := pgx.Connect(ctx, env.pgDSN)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SET TIME ZONE 'UTC'")
	require.NoError(t, err)
	db, err := sql.Open("mysql", env.myDSN)
	require.NoError(t, err)
	defer db.Close()

	wantProfiles := queryPostgres(t, ctx, conn, recomputeProfilesSQL)
	gotProfiles := queryMySQL(t, ctx, db, `SELECT uid, coalesce(email, ''), coalesce(phone, ''), total_spins,
		total_purchases, purchase_count, coalesce(favorite_game, ''), last_event_at FROM user_profiles ORDER BY uid`)
	require.Greater(t, len(wantProfiles), 4000)
	requireSameRows(t, "user_profiles", wantProfiles, gotProfiles)

	for _, w := range []struct{ name, start string }{
		{"minute", "date_trunc('minute', created_at)"},
		{"hourly", "date_trunc('hour', created_at)"},
		{"daily", "date_trunc('day', created_at)"},
		{"weekly", "date_trunc('week', created_at)"},
	} {
		want := queryPostgres(t, ctx, conn, recomputeReportsSQL(w.name, w.start))
		got := queryMySQL(t, ctx, db, `SELECT report_type, window_start, window_end, total_spins, total_purchases,
			purchase_count, coalesce(avg_purchase, -1), coalesce(most_spent_game, ''), active_users, is_final
			FROM aggregated_reports WHERE report_type = ? ORDER BY window_start`, w.name)
		require.NotEmpty(t, want)
		requireSameRows(t, "aggregated_reports "+w.name, want, got)

		wantApps := queryPostgres(t, ctx, conn, recomputeAppReportsSQL(w.name, w.start))
		gotApps := queryMySQL(t, ctx, db, `SELECT report_type, window_start, app_id, total_spins, total_purchases,
			purchase_count, coalesce(avg_purchase, -1), active_users, is_final
			FROM app_reports WHERE report_type = ? ORDER BY window_start, app_id`, w.name)
		requireSameRows(t, "app_reports "+w.name, wantApps, gotApps)
	}
}

// events is every stored event as (uid, app_id, created_at, spins, amount,
// purchases).
const eventsCTE = `ev AS (
	SELECT uid, app_id, created_at, spin_count AS spins, 0::numeric AS amount, 0 AS purchases FROM satellite_spin_info
	UNION ALL SELECT uid, app_id, created_at, 0, amount_reporting, 1 FROM satellite_purchase_info
	UNION ALL SELECT uid, app_id, created_at, 0, 0, 0 FROM satellite_auth_info)`

const recomputeProfilesSQL = `WITH ` + eventsCTE + `,
per_app AS (SELECT uid, app_id, sum(spins) AS spins, sum(amount) AS amount FROM ev GROUP BY uid, app_id),
fav AS (SELECT DISTINCT ON (uid) uid, app_id FROM per_app WHERE spins > 0 OR amount > 0
	ORDER BY uid, spins DESC, amount DESC, app_id COLLATE "C"),
contact AS (SELECT DISTINCT ON (uid) uid, email, phone FROM satellite_auth_info
	ORDER BY uid, created_at DESC, msg_id COLLATE "C" DESC),
totals AS (SELECT uid, sum(spins) AS spins, sum(amount) AS amount, sum(purchases) AS purchases, max(created_at) AS last
	FROM ev GROUP BY uid)
SELECT t.uid, coalesce(c.email, ''), coalesce(c.phone, ''), t.spins, t.amount, t.purchases, coalesce(f.app_id, ''), t.last
FROM totals t LEFT JOIN contact c USING (uid) LEFT JOIN fav f USING (uid) ORDER BY t.uid COLLATE "C"`

func recomputeReportsSQL(name, start string) string {
	return fmt.Sprintf(`WITH `+eventsCTE+`,
w AS (SELECT %[2]s AS ws, * FROM ev),
spend AS (SELECT DISTINCT ON (ws) ws, app_id FROM (SELECT ws, app_id, sum(amount) AS amount FROM w WHERE purchases = 1 GROUP BY ws, app_id) s
	ORDER BY ws, amount DESC, app_id COLLATE "C")
SELECT '%[1]s', w.ws, w.ws + %[3]s, sum(spins), sum(amount), sum(purchases),
	coalesce(round(sum(amount) / nullif(sum(purchases), 0), 2), -1), coalesce(min(spend.app_id), ''), count(DISTINCT uid), 1
FROM w LEFT JOIN spend USING (ws) GROUP BY w.ws ORDER BY w.ws`, name, start, windowLength(name))
}

func recomputeAppReportsSQL(name, start string) string {
	return fmt.Sprintf(`WITH `+eventsCTE+`, w AS (SELECT %[2]s AS ws, * FROM ev)
SELECT '%[1]s', ws, app_id, sum(spins), sum(amount), sum(purchases),
	coalesce(round(sum(amount) / nullif(sum(purchases), 0), 2), -1), count(DISTINCT uid), 1
FROM w GROUP BY ws, app_id ORDER BY ws, app_id COLLATE "C"`, name, start)
}

func windowLength(name string) string {
	return map[string]string{
		"minute": "interval '1 minute'", "hourly": "interval '1 hour'",
		"daily": "interval '1 day'", "weekly": "interval '7 days'",
	}[name]
}

func queryPostgres(t *testing.T, ctx context.Context, conn *pgx.Conn, query string) [][]string {
	t.Helper()
	rows, err := conn.Query(ctx, query)
	require.NoError(t, err, query)
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		values, err := rows.Values()
		require.NoError(t, err)
		out = append(out, normalize(values))
	}
	require.NoError(t, rows.Err())
	return out
}

func queryMySQL(t *testing.T, ctx context.Context, db *sql.DB, query string, args ...any) [][]string {
	t.Helper()
	rows, err := db.QueryContext(ctx, query, args...)
	require.NoError(t, err, query)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out [][]string
	for rows.Next() {
		values := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range values {
			ptrs[i] = &values[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		out = append(out, normalize(values))
	}
	require.NoError(t, rows.Err())
	return out
}

// normalize renders values so that both drivers' results compare equal:
// numbers as canonical decimals, times as UTC RFC 3339 with microseconds.
func normalize(values []any) []string {
	out := make([]string, len(values))
	for i, v := range values {
		switch x := v.(type) {
		case time.Time:
			out[i] = x.UTC().Format("2006-01-02T15:04:05.000000Z")
		case []byte:
			out[i] = canonicalNumber(string(x))
		case string:
			out[i] = canonicalNumber(x)
		case nil:
			out[i] = "NULL"
		default:
			if num, ok := v.(driver.Valuer); ok {
				if s, err := num.Value(); err == nil {
					out[i] = canonicalNumber(fmt.Sprint(s))
					continue
				}
			}
			out[i] = canonicalNumber(fmt.Sprint(x))
		}
	}
	return out
}

func canonicalNumber(s string) string {
	if d, err := decimal.NewFromString(s); err == nil {
		return d.String()
	}
	return s
}

func requireSameRows(t *testing.T, what string, want, got [][]string) {
	t.Helper()
	wantSet := map[string]bool{}
	for _, r := range want {
		wantSet[strings.Join(r, "|")] = true
	}
	var missing, extra []string
	for _, r := range got {
		key := strings.Join(r, "|")
		if !wantSet[key] {
			extra = append(extra, key)
		}
		delete(wantSet, key)
	}
	for key := range wantSet {
		missing = append(missing, key)
	}
	sort.Strings(missing)
	sort.Strings(extra)
	require.Equal(t, len(want), len(got), "%s: row count; first missing %v; first unexpected %v", what, head(missing), head(extra))
	if len(missing) > 0 {
		t.Fatalf("%s: %d rows recomputed from the vault are absent or different in MySQL; first: %v; MySQL has instead: %v",
			what, len(missing), head(missing), head(extra))
	}
}

func head(s []string) []string {
	if len(s) > 3 {
		return s[:3]
	}
	return s
}
