package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gamestream/gamestream/internal/testdb"
)

// openTestReports migrates a fresh database and opens Reports on it. The
// returned *sql.DB reads the tables back.
func openTestReports(t testing.TB) (*Reports, *sql.DB) {
	t.Helper()
	ctx := context.Background()

	dsn := testdb.MySQL(t)
	require.NoError(t, Migrate(ctx, dsn))
	reports, err := Open(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(reports.Close)

	db, err := sql.Open("mysql", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return reports, db
}

func countRows(t testing.TB, db *sql.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+table).Scan(&n))
	return n
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func nullDec(s string) decimal.NullDecimal { return decimal.NewNullDecimal(dec(s)) }

var (
	dayStart = time.Date(2021, 11, 1, 0, 0, 0, 0, time.UTC)
	written  = time.Date(2021, 11, 1, 12, 0, 0, 0, time.UTC)
)

func dailyReport(revision int, final bool, spins int64) ReportRow {
	return ReportRow{
		ReportID: ReportID("daily", dayStart), ReportType: "daily",
		WindowStart: dayStart, WindowEnd: dayStart.Add(24 * time.Hour),
		TotalSpins: spins, TotalPurchases: dec("30.30"), PurchaseCount: 3,
		AvgPurchase: nullDec("10.10"), MostSpentGame: "poker", ActiveUsers: 7,
		IsFinal: final, Revision: revision,
	}
}

func appReport(appID string, revision int, final bool, spins int64) AppReportRow {
	return AppReportRow{
		ReportID: ReportID("daily", dayStart), ReportType: "daily", AppID: appID,
		WindowStart: dayStart, WindowEnd: dayStart.Add(24 * time.Hour),
		TotalSpins: spins, TotalPurchases: dec("5.00"), PurchaseCount: 1,
		AvgPurchase: nullDec("5.00"), ActiveUsers: 2,
		IsFinal: final, Revision: revision,
	}
}

type storedReport struct {
	spins    int64
	final    bool
	revision int
	stamp    time.Time
}

func readReport(t testing.TB, db *sql.DB, reportID string) storedReport {
	t.Helper()
	var r storedReport
	require.NoError(t, db.QueryRow(
		"SELECT total_spins, is_final, revision, `timestamp` FROM aggregated_reports WHERE report_id = ?", reportID).
		Scan(&r.spins, &r.final, &r.revision, &r.stamp))
	return r
}

func TestReportID(t *testing.T) {
	assert.Equal(t, "daily:2021-11-01T00:00:00Z", ReportID("daily", dayStart))

	berlin := time.FixedZone("CET", 3600)
	assert.Equal(t, "hourly:2021-11-01T09:00:00Z",
		ReportID("hourly", time.Date(2021, 11, 1, 10, 0, 0, 0, berlin)))
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.MySQL(t)

	require.NoError(t, Migrate(ctx, dsn))
	db, err := sql.Open("mysql", dsn)
	require.NoError(t, err)
	defer db.Close()
	versions := countRows(t, db, "goose_db_version")

	require.NoError(t, Migrate(ctx, dsn))
	assert.Equal(t, versions, countRows(t, db, "goose_db_version"))
	for _, table := range []string{"user_profiles", "aggregated_reports", "app_reports"} {
		assert.Zero(t, countRows(t, db, table), table)
	}
}

func TestWriteInsertsThenUpdates(t *testing.T) {
	ctx := context.Background()
	reports, db := openTestReports(t)

	profile := ProfileRow{
		UID: "u1", Email: "u1@example.com", Phone: "+15550100123",
		TotalSpins: 10, TotalPurchases: dec("9.99"), PurchaseCount: 1,
		FavoriteGame: "slots", LastEventAt: written.Add(-time.Minute),
	}
	require.NoError(t, reports.Write(ctx,
		[]ProfileRow{profile}, []ReportRow{dailyReport(1, false, 5)},
		[]AppReportRow{appReport("slots", 1, false, 5)}, written))

	profile.TotalSpins = 25
	profile.TotalPurchases = dec("19.98")
	profile.PurchaseCount = 2
	profile.FavoriteGame = "poker"
	later := written.Add(time.Minute)
	require.NoError(t, reports.Write(ctx,
		[]ProfileRow{profile}, []ReportRow{dailyReport(2, false, 8)},
		[]AppReportRow{appReport("slots", 2, false, 8)}, later))

	var (
		spins, count   int64
		total, game    string
		updatedAt      time.Time
		appSpins       int64
		appRevision    int
		appUpdatedTime time.Time
	)
	require.NoError(t, db.QueryRow(
		"SELECT total_spins, total_purchases, purchase_count, favorite_game, updated_at FROM user_profiles WHERE uid = 'u1'").
		Scan(&spins, &total, &count, &game, &updatedAt))
	assert.Equal(t, int64(25), spins, "total_spins is replaced, not added")
	assert.Equal(t, "19.98", total)
	assert.Equal(t, int64(2), count)
	assert.Equal(t, "poker", game)
	assert.Equal(t, later, updatedAt)

	got := readReport(t, db, ReportID("daily", dayStart))
	assert.Equal(t, int64(8), got.spins)
	assert.Equal(t, 2, got.revision)
	assert.Equal(t, later, got.stamp)

	require.NoError(t, db.QueryRow(
		"SELECT total_spins, revision, `timestamp` FROM app_reports WHERE report_id = ? AND app_id = 'slots'",
		ReportID("daily", dayStart)).Scan(&appSpins, &appRevision, &appUpdatedTime))
	assert.Equal(t, int64(8), appSpins)
	assert.Equal(t, 2, appRevision)
	assert.Equal(t, later, appUpdatedTime)

	assert.Equal(t, 1, countRows(t, db, "user_profiles"))
	assert.Equal(t, 1, countRows(t, db, "aggregated_reports"))
	assert.Equal(t, 1, countRows(t, db, "app_reports"))
}

func TestWriteReportNeverGoesBack(t *testing.T) {
	cases := []struct {
		name        string
		stored      ReportRow
		incoming    ReportRow
		wantApplied bool
	}{
		{"provisional to higher revision", dailyReport(1, false, 5), dailyReport(2, false, 8), true},
		{"provisional to final", dailyReport(1, false, 5), dailyReport(1, true, 8), true},
		{"final to same final", dailyReport(2, true, 5), dailyReport(2, true, 8), true},
		{"final to higher final", dailyReport(2, true, 5), dailyReport(3, true, 8), true},
		{"final to provisional", dailyReport(2, true, 5), dailyReport(2, false, 8), false},
		{"final to newer provisional", dailyReport(2, true, 5), dailyReport(3, false, 8), false},
		{"provisional to lower revision", dailyReport(3, false, 5), dailyReport(2, false, 8), false},
		{"final to lower final", dailyReport(3, true, 5), dailyReport(2, true, 8), false},
		{"provisional to lower final", dailyReport(3, false, 5), dailyReport(2, true, 8), false},
	}
	ctx := context.Background()
	reports, db := openTestReports(t)

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Each case uses its own window so the cases share one database.
			start := dayStart.AddDate(0, 0, i)
			stored, incoming := c.stored, c.incoming
			for _, r := range []*ReportRow{&stored, &incoming} {
				r.WindowStart, r.WindowEnd = start, start.Add(24*time.Hour)
				r.ReportID = ReportID("daily", start)
			}
			storedApp := appReport("slots", stored.Revision, stored.IsFinal, stored.TotalSpins)
			incomingApp := appReport("slots", incoming.Revision, incoming.IsFinal, incoming.TotalSpins)
			storedApp.ReportID, incomingApp.ReportID = stored.ReportID, stored.ReportID

			require.NoError(t, reports.Write(ctx, nil, []ReportRow{stored}, []AppReportRow{storedApp}, written))
			later := written.Add(time.Hour)
			require.NoError(t, reports.Write(ctx, nil, []ReportRow{incoming}, []AppReportRow{incomingApp}, later))

			want, wantStamp := stored, written
			if c.wantApplied {
				want, wantStamp = incoming, later
			}
			got := readReport(t, db, stored.ReportID)
			assert.Equal(t, want.TotalSpins, got.spins, "total_spins")
			assert.Equal(t, want.IsFinal, got.final, "is_final")
			assert.Equal(t, want.Revision, got.revision, "revision")
			assert.Equal(t, wantStamp, got.stamp, "timestamp")

			var (
				appSpins    int64
				appFinal    bool
				appRevision int
			)
			require.NoError(t, db.QueryRow(
				"SELECT total_spins, is_final, revision FROM app_reports WHERE report_id = ? AND app_id = 'slots'",
				stored.ReportID).Scan(&appSpins, &appFinal, &appRevision))
			assert.Equal(t, want.TotalSpins, appSpins, "app total_spins")
			assert.Equal(t, want.IsFinal, appFinal, "app is_final")
			assert.Equal(t, want.Revision, appRevision, "app revision")
		})
	}
}

func TestWriteNullColumns(t *testing.T) {
	ctx := context.Background()
	reports, db := openTestReports(t)

	withContact := ProfileRow{
		UID: "u1", Email: "u1@example.com", Phone: "+15550100123", FavoriteGame: "slots",
		TotalPurchases: decimal.Zero, LastEventAt: written,
	}
	bare := ProfileRow{UID: "u2", TotalPurchases: decimal.Zero, LastEventAt: written}
	noPurchases := dailyReport(1, false, 5)
	noPurchases.TotalPurchases, noPurchases.PurchaseCount = decimal.Zero, 0
	noPurchases.AvgPurchase, noPurchases.MostSpentGame = decimal.NullDecimal{}, ""
	noPurchasesApp := appReport("slots", 1, false, 5)
	noPurchasesApp.AvgPurchase = decimal.NullDecimal{}

	require.NoError(t, reports.Write(ctx, []ProfileRow{withContact, bare}, []ReportRow{noPurchases},
		[]AppReportRow{noPurchasesApp}, written))

	var email, phone, game sql.NullString
	require.NoError(t, db.QueryRow("SELECT email, phone, favorite_game FROM user_profiles WHERE uid = 'u2'").
		Scan(&email, &phone, &game))
	assert.False(t, email.Valid, "email")
	assert.False(t, phone.Valid, "phone")
	assert.False(t, game.Valid, "favorite_game")

	require.NoError(t, db.QueryRow("SELECT email, phone, favorite_game FROM user_profiles WHERE uid = 'u1'").
		Scan(&email, &phone, &game))
	assert.Equal(t, "u1@example.com", email.String)
	assert.Equal(t, "+15550100123", phone.String)
	assert.Equal(t, "slots", game.String)

	var avg, mostSpent sql.NullString
	require.NoError(t, db.QueryRow("SELECT avg_purchase, most_spent_game FROM aggregated_reports WHERE report_id = ?",
		noPurchases.ReportID).Scan(&avg, &mostSpent))
	assert.False(t, avg.Valid, "avg_purchase")
	assert.False(t, mostSpent.Valid, "most_spent_game")

	var appAvg sql.NullString
	require.NoError(t, db.QueryRow("SELECT avg_purchase FROM app_reports WHERE report_id = ?",
		noPurchases.ReportID).Scan(&appAvg))
	assert.False(t, appAvg.Valid, "app avg_purchase")

	// Absolute values: an empty field replaces a stored one with NULL.
	withContact.Email = ""
	require.NoError(t, reports.Write(ctx, []ProfileRow{withContact}, nil, nil, written))
	require.NoError(t, db.QueryRow("SELECT email, phone FROM user_profiles WHERE uid = 'u1'").Scan(&email, &phone))
	assert.False(t, email.Valid, "email after update")
	assert.Equal(t, "+15550100123", phone.String)

	// A later revision with purchases fills the NULL columns.
	withPurchases := dailyReport(2, false, 6)
	require.NoError(t, reports.Write(ctx, nil, []ReportRow{withPurchases}, nil, written))
	require.NoError(t, db.QueryRow("SELECT avg_purchase, most_spent_game FROM aggregated_reports WHERE report_id = ?",
		noPurchases.ReportID).Scan(&avg, &mostSpent))
	assert.Equal(t, "10.10", avg.String)
	assert.Equal(t, "poker", mostSpent.String)
}

func TestWriteDatetimeMicrosecondsUTC(t *testing.T) {
	ctx := context.Background()
	reports, db := openTestReports(t)

	// 12:30:45.1234567 in UTC+05:30; the nanoseconds beyond microseconds are cut.
	india := time.FixedZone("IST", 5*3600+1800)
	lastEvent := time.Date(2021, 11, 1, 18, 0, 45, 123456789, india)
	writtenAt := time.Date(2021, 11, 1, 12, 31, 0, 999999000, time.UTC)
	require.NoError(t, reports.Write(ctx,
		[]ProfileRow{{UID: "u1", TotalPurchases: decimal.Zero, LastEventAt: lastEvent}}, nil, nil, writtenAt))

	var (
		got, updated time.Time
		raw          string
	)
	require.NoError(t, db.QueryRow(
		"SELECT last_event_at, updated_at, CAST(last_event_at AS CHAR) FROM user_profiles WHERE uid = 'u1'").
		Scan(&got, &updated, &raw))
	want := time.Date(2021, 11, 1, 12, 30, 45, 123456000, time.UTC)
	assert.Equal(t, want, got)
	assert.Equal(t, time.UTC, got.Location())
	assert.Equal(t, writtenAt, updated)
	assert.Equal(t, "2021-11-01 12:30:45.123456", raw, "stored wall clock is UTC")
}

func TestWriteRoundsMoney(t *testing.T) {
	ctx := context.Background()
	reports, db := openTestReports(t)

	cases := []struct{ uid, in, want string }{
		{"u1", "12.345", "12.35"},
		{"u2", "-12.345", "-12.35"},
		{"u3", "0.3", "0.30"},
		{"u4", "1500", "1500.00"},
		{"u5", "999999999999999999.99", "999999999999999999.99"},
	}
	var rows []ProfileRow
	for _, c := range cases {
		rows = append(rows, ProfileRow{UID: c.uid, TotalPurchases: dec(c.in), LastEventAt: written})
	}
	require.NoError(t, reports.Write(ctx, rows, nil, nil, written))

	for _, c := range cases {
		var total string
		require.NoError(t, db.QueryRow("SELECT total_purchases FROM user_profiles WHERE uid = ?", c.uid).Scan(&total))
		assert.Equal(t, c.want, total, c.in)
	}

	tooLarge := ProfileRow{UID: "u6", TotalPurchases: dec("1000000000000000000"), LastEventAt: written}
	err := reports.Write(ctx, []ProfileRow{tooLarge}, nil, nil, written)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"u6"`)
}

func TestWriteUIDsAreCaseAndAccentSensitive(t *testing.T) {
	ctx := context.Background()
	reports, db := openTestReports(t)

	var rows []ProfileRow
	for _, uid := range []string{"user", "User", "USER", "usér", "ｕｓｅｒ", " user"} {
		rows = append(rows, ProfileRow{UID: uid, TotalPurchases: decimal.Zero, LastEventAt: written})
	}
	require.NoError(t, reports.Write(ctx, rows, nil, nil, written))
	assert.Equal(t, len(rows), countRows(t, db, "user_profiles"))
}

// TestWriteUIDTrailingSpaceMatches records a limit of utf8mb4_bin: it is a
// PAD SPACE collation on MariaDB 10.11 and MySQL 8, so keys that differ only
// in trailing spaces are one row.
func TestWriteUIDTrailingSpaceMatches(t *testing.T) {
	ctx := context.Background()
	reports, db := openTestReports(t)

	rows := []ProfileRow{
		{UID: "user", TotalSpins: 1, TotalPurchases: decimal.Zero, LastEventAt: written},
		{UID: "user ", TotalSpins: 2, TotalPurchases: decimal.Zero, LastEventAt: written},
	}
	require.NoError(t, reports.Write(ctx, rows, nil, nil, written))
	assert.Equal(t, 1, countRows(t, db, "user_profiles"))
}

func TestWriteIsAtomic(t *testing.T) {
	ctx := context.Background()
	reports, db := openTestReports(t)

	profiles := []ProfileRow{{UID: "u1", TotalPurchases: decimal.Zero, LastEventAt: written}}
	// The server rejects an app_id longer than VARCHAR(128) in strict mode,
	// after the profile statement has run.
	bad := appReport(strings.Repeat("a", 129), 1, false, 1)
	err := reports.Write(ctx, profiles, []ReportRow{dailyReport(1, false, 1)}, []AppReportRow{bad}, written)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "app_reports")

	assert.Zero(t, countRows(t, db, "user_profiles"))
	assert.Zero(t, countRows(t, db, "aggregated_reports"))
}

func TestWriteSplitsLargeWrites(t *testing.T) {
	ctx := context.Background()
	reports, db := openTestReports(t)

	const n = 2500
	rows := make([]ProfileRow, n)
	for i := range rows {
		// Reverse order checks that Write sorts before chunking.
		rows[i] = ProfileRow{
			UID: fmt.Sprintf("user-%05d", n-i), TotalSpins: int64(i),
			TotalPurchases: decimal.New(int64(i), -2), LastEventAt: written,
		}
	}
	statements, err := buildStatements(rows, nil, nil, written)
	require.NoError(t, err)
	require.Len(t, statements, 3)
	assert.Equal(t, 1000, statements[0].rows)
	assert.Equal(t, "user-00001", statements[0].firstKey)
	assert.Equal(t, "user-01001", statements[1].firstKey)
	assert.Equal(t, 500, statements[2].rows)

	require.NoError(t, reports.Write(ctx, rows, nil, nil, written))
	assert.Equal(t, n, countRows(t, db, "user_profiles"))

	var spins int64
	require.NoError(t, db.QueryRow("SELECT total_spins FROM user_profiles WHERE uid = 'user-02500'").Scan(&spins))
	assert.Equal(t, int64(0), spins)
}

func TestWriteRejectsInvalidRows(t *testing.T) {
	ctx := context.Background()
	reports, _ := openTestReports(t)

	cases := []struct {
		name     string
		profiles []ProfileRow
		reports  []ReportRow
		apps     []AppReportRow
	}{
		{name: "empty uid", profiles: []ProfileRow{{LastEventAt: written}}},
		{name: "zero last_event_at", profiles: []ProfileRow{{UID: "u1"}}},
		{name: "empty report_id", reports: []ReportRow{{ReportType: "daily", WindowStart: dayStart, WindowEnd: dayStart}}},
		{name: "zero window", apps: []AppReportRow{{ReportID: "r", ReportType: "daily", AppID: "a"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Error(t, reports.Write(ctx, c.profiles, c.reports, c.apps, written))
		})
	}
}

func BenchmarkWrite(b *testing.B) {
	ctx := context.Background()
	reports, _ := openTestReports(b)

	const (
		rowsPerWrite = 1000
		users        = 10000
	)
	round := 0
	for b.Loop() {
		b.StopTimer()
		// Keys cycle through 10,000 users, so after ten rounds every write
		// updates existing rows.
		rows := make([]ProfileRow, rowsPerWrite)
		for i := range rows {
			n := (round*rowsPerWrite + i) % users
			rows[i] = ProfileRow{
				UID: fmt.Sprintf("user-%05d", n), Email: fmt.Sprintf("user-%05d@example.com", n),
				TotalSpins: int64(round + i), TotalPurchases: decimal.New(int64(round*100+i), -2),
				PurchaseCount: int64(round), FavoriteGame: "slots", LastEventAt: written,
			}
		}
		b.StartTimer()

		if err := reports.Write(ctx, rows, nil, nil, written.Add(time.Duration(round)*time.Second)); err != nil {
			b.Fatal(err)
		}
		round++
	}
	b.ReportMetric(float64(round*rowsPerWrite)/b.Elapsed().Seconds(), "rows/s")
}

func TestWriteRetriesLockWaitTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Connections of this Reports give up on a row lock after one second.
	dsn := testdb.MySQL(t)
	require.NoError(t, Migrate(ctx, dsn))
	reports, err := Open(ctx, dsn+"&innodb_lock_wait_timeout=1")
	require.NoError(t, err)
	defer reports.Close()

	profile := ProfileRow{UID: "u1", TotalSpins: 1, TotalPurchases: decimal.Zero, LastEventAt: written}
	require.NoError(t, reports.Write(ctx, []ProfileRow{profile}, nil, nil, written))

	db, err := sql.Open("mysql", dsn)
	require.NoError(t, err)
	defer db.Close()
	holder, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	var spins int64
	require.NoError(t, holder.QueryRowContext(ctx,
		"SELECT total_spins FROM user_profiles WHERE uid = 'u1' FOR UPDATE").Scan(&spins))

	// Release the row after the first attempt has timed out.
	released := make(chan error, 1)
	go func() {
		time.Sleep(1500 * time.Millisecond)
		released <- holder.Commit()
	}()

	profile.TotalSpins = 2
	start := time.Now()
	require.NoError(t, reports.Write(ctx, []ProfileRow{profile}, nil, nil, written))
	assert.Greater(t, time.Since(start), time.Second, "Write returned before the lock wait timeout")
	require.NoError(t, <-released)

	require.NoError(t, db.QueryRowContext(ctx, "SELECT total_spins FROM user_profiles WHERE uid = 'u1'").Scan(&spins))
	assert.Equal(t, int64(2), spins)
}

func TestIsRetryable(t *testing.T) {
	assert.True(t, isRetryable(fmt.Errorf("upsert: %w", &mysql.MySQLError{Number: 1213})))
	assert.True(t, isRetryable(&mysql.MySQLError{Number: 1205}))
	assert.False(t, isRetryable(&mysql.MySQLError{Number: 1406}))
	assert.False(t, isRetryable(context.DeadlineExceeded))
}
