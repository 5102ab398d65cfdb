package reconcile

import (
	"bytes"
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gamestream/gamestream/handlers"
	"github.com/gamestream/gamestream/internal/testdb"
	"github.com/gamestream/gamestream/stores/mysql"
	"github.com/gamestream/gamestream/stores/postgres"
	"github.com/gamestream/gamestream/windows"
)

// The fixture covers 2021-03-28, the day Europe/Berlin moves its clocks
// forward, so the berlin_daily window of that date lasts 23 hours, from
// 2021-03-27T23:00Z to 2021-03-28T22:00Z. Its figures are written out by
// hand below:
//
//	u1: auth a1 10:00 (slots), a2 and a3 both at 11:00 (a3 wins the tie),
//	    spins slots 5, poker 3+2, purchases poker 10.00 and slots 0.01,
//	    so spins tie at 5 and poker wins on its purchase total.
//	u2: no auth, slots and dice each 4 spins and 2.50 in purchases from
//	    22:30Z to 22:55Z (00:30 to 00:55 on 2021-03-29 in Berlin), so dice
//	    wins both ties as the smaller app_id.
//	u3: one auth event at 21:30Z (poker), no spins or purchases.
//	u4: one spin of 7 on slots at 10:45Z, late for hourly only.
//	u5: one spin on slots on 2021-03-29 09:10Z, in windows that are still
//	    provisional.
var (
	day        = time.Date(2021, 3, 28, 0, 0, 0, 0, time.UTC)
	berlinDay  = time.Date(2021, 3, 27, 23, 0, 0, 0, time.UTC)
	berlinNext = time.Date(2021, 3, 28, 22, 0, 0, 0, time.UTC)
)

func at(hour, minute int) time.Time {
	return day.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

func authEvent(msgID, uid, appID string, when time.Time, email, phone string) handlers.Event {
	return handlers.Event{MsgID: msgID, Kind: handlers.KindAuth, UID: uid, AppID: appID, Time: when,
		Email: email, Phone: phone}
}

func spinEvent(msgID, uid, appID string, when time.Time, count int64) handlers.Event {
	return handlers.Event{MsgID: msgID, Kind: handlers.KindSpin, UID: uid, AppID: appID, Time: when,
		SpinCount: count}
}

func purchaseEvent(msgID, uid, appID string, when time.Time, amount string) handlers.Event {
	return handlers.Event{MsgID: msgID, Kind: handlers.KindPurchase, UID: uid, AppID: appID, Time: when,
		Amount: dec(amount), Currency: "USD", AmountReporting: dec(amount)}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func nullDec(s string) decimal.NullDecimal { return decimal.NewNullDecimal(dec(s)) }

func fixtureEvents() []handlers.Event {
	return []handlers.Event{
		authEvent("a1", "u1", "slots", at(10, 0), "old@example.com", "+4915100000001"),
		authEvent("a2", "u1", "slots", at(11, 0), "b@example.com", "+4915100000002"),
		authEvent("a3", "u1", "slots", at(11, 0), "a@example.com", ""),
		authEvent("a4", "u3", "poker", at(21, 30), "c@example.com", "+15550000003"),
		spinEvent("s1", "u1", "slots", at(10, 15), 5),
		spinEvent("s2", "u1", "poker", at(10, 20), 3),
		spinEvent("s3", "u1", "poker", at(10, 40), 2),
		spinEvent("s4", "u2", "slots", at(22, 30), 4),
		spinEvent("s5", "u2", "dice", at(22, 45), 4),
		spinEvent("s6", "u4", "slots", at(10, 45), 7),
		spinEvent("s7", "u5", "slots", at(33, 10), 1),
		purchaseEvent("p1", "u1", "poker", at(10, 30), "10.00"),
		purchaseEvent("p2", "u1", "slots", at(10, 50), "0.01"),
		purchaseEvent("p3", "u2", "slots", at(22, 50), "2.50"),
		purchaseEvent("p4", "u2", "dice", at(22, 55), "2.50"),
	}
}

func identity(s string) string { return s }

func fixtureProfiles() []mysql.ProfileRow {
	return []mysql.ProfileRow{
		{UID: "u1", Email: "a@example.com", TotalSpins: 10, TotalPurchases: dec("10.01"), PurchaseCount: 2,
			FavoriteGame: "poker", LastEventAt: at(11, 0)},
		{UID: "u2", TotalSpins: 8, TotalPurchases: dec("5.00"), PurchaseCount: 2, FavoriteGame: "dice",
			LastEventAt: at(22, 55)},
		{UID: "u3", Email: "c@example.com", Phone: "+15550000003", TotalPurchases: dec("0"), LastEventAt: at(21, 30)},
		{UID: "u4", TotalSpins: 7, TotalPurchases: dec("0"), FavoriteGame: "slots", LastEventAt: at(10, 45)},
		{UID: "u5", TotalSpins: 1, TotalPurchases: dec("0"), FavoriteGame: "slots", LastEventAt: at(33, 10)},
	}
}

// report builds a window row and its app rows with the given revision and
// finality.
type reportFixture struct {
	row  mysql.ReportRow
	apps []mysql.AppReportRow
}

func window(reportType string, start, end time.Time, spins int64, total string, count int64, avg string,
	game string, users int64, final bool, revision int, apps ...mysql.AppReportRow) reportFixture {
	id := mysql.ReportID(reportType, start)
	row := mysql.ReportRow{ReportID: id, ReportType: reportType, WindowStart: start, WindowEnd: end,
		TotalSpins: spins, TotalPurchases: dec(total), PurchaseCount: count, MostSpentGame: game,
		ActiveUsers: users, IsFinal: final, Revision: revision}
	if avg != "" {
		row.AvgPurchase = nullDec(avg)
	}
	for i := range apps {
		apps[i].ReportID, apps[i].ReportType = id, reportType
		apps[i].WindowStart, apps[i].WindowEnd = start, end
		apps[i].IsFinal, apps[i].Revision = final, revision
	}
	return reportFixture{row: row, apps: apps}
}

func app(appID string, spins int64, total string, count int64, avg string, users int64) mysql.AppReportRow {
	row := mysql.AppReportRow{AppID: appID, TotalSpins: spins, TotalPurchases: dec(total), PurchaseCount: count,
		ActiveUsers: users}
	if avg != "" {
		row.AvgPurchase = nullDec(avg)
	}
	return row
}

func fixtureReports() []reportFixture {
	hour := time.Hour
	return []reportFixture{
		// 10:00 leaves out s6, which late_event_info lists for hourly.
		// 10.01 / 2 = 5.005 rounds half away from zero to 5.01.
		window("hourly", at(10, 0), at(10, 0).Add(hour), 10, "10.01", 2, "5.01", "poker", 1, true, 2,
			app("poker", 5, "10.00", 1, "10.00", 1),
			app("slots", 5, "0.01", 1, "0.01", 1)),
		window("hourly", at(11, 0), at(11, 0).Add(hour), 0, "0", 0, "", "", 1, true, 1,
			app("slots", 0, "0", 0, "", 1)),
		window("hourly", at(21, 0), at(21, 0).Add(hour), 0, "0", 0, "", "", 1, true, 1,
			app("poker", 0, "0", 0, "", 1)),
		window("hourly", at(22, 0), at(22, 0).Add(hour), 8, "5.00", 2, "2.50", "dice", 1, true, 1,
			app("dice", 4, "2.50", 1, "2.50", 1),
			app("slots", 4, "2.50", 1, "2.50", 1)),
		// Provisional and after the last final hourly window, so it is not
		// compared even though its figures are out of date.
		window("hourly", at(33, 0), at(33, 0).Add(hour), 0, "0", 0, "", "", 0, false, 1,
			app("slots", 0, "0", 0, "", 0)),
		// The 23-hour Berlin day includes s6 (u4) and a4 (u3).
		window("berlin_daily", berlinDay, berlinNext, 17, "10.01", 2, "5.01", "poker", 3, true, 1,
			app("poker", 5, "10.00", 1, "10.00", 2),
			app("slots", 12, "0.01", 1, "0.01", 2)),
		window("berlin_daily", berlinNext, berlinNext.Add(24*hour), 8, "5.00", 2, "2.50", "dice", 1, false, 3,
			app("dice", 4, "2.50", 1, "2.50", 1),
			app("slots", 4, "2.50", 1, "2.50", 1)),
		// A report type that no spec names.
		window("legacy", day, day.Add(24*hour), 1, "0", 0, "", "", 1, true, 1),
	}
}

func fixtureSpecs(t *testing.T) []windows.Spec {
	t.Helper()
	specs, err := windows.ValidateSpecs([]windows.SpecConfig{
		{Name: "hourly", Size: "1h", EmitInterval: time.Second},
		{Name: "berlin_daily", Size: "day", TimeZone: "Europe/Berlin", EmitInterval: time.Second},
	})
	require.NoError(t, err)
	return specs
}

// fixture is a vault and a read-model database holding the data set above.
type fixture struct {
	cfg    Config
	vault  *postgres.Vault
	db     *sql.DB
	start  time.Time
	offset int64
}

// newFixture stores the events an hour ago and writes the read models half
// an hour ago, so MySQL was written after every stored event.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()

	pgDSN := testdb.Postgres(t)
	require.NoError(t, postgres.Migrate(ctx, pgDSN))
	vault, err := postgres.Open(ctx, pgDSN)
	require.NoError(t, err)
	t.Cleanup(vault.Close)

	myDSN := testdb.MySQL(t)
	require.NoError(t, mysql.Migrate(ctx, myDSN))
	reports, err := mysql.Open(ctx, myDSN)
	require.NoError(t, err)
	t.Cleanup(reports.Close)
	db, err := sql.Open("mysql", myDSN)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })

	f := &fixture{
		cfg:   Config{PostgresDSN: pgDSN, MySQLDSN: myDSN, Specs: fixtureSpecs(t)},
		vault: vault,
		db:    db,
		start: time.Now().UTC(),
	}
	f.store(t, f.start.Add(-time.Hour), fixtureEvents()...)
	require.NoError(t, vault.InsertLateEvents(ctx, []postgres.LateEvent{
		{Kind: handlers.KindSpin, MsgID: "s6", ReportType: "hourly", CreatedAt: at(10, 45)},
	}, "gamestream", f.start.Add(-time.Hour)))

	var rows []mysql.ReportRow
	var apps []mysql.AppReportRow
	for _, r := range fixtureReports() {
		rows = append(rows, r.row)
		apps = append(apps, r.apps...)
	}
	require.NoError(t, reports.Write(ctx, fixtureProfiles(), rows, apps, f.start.Add(-30*time.Minute)))
	return f
}

// store writes events to the vault with load_dts loadTime.
func (f *fixture) store(t *testing.T, loadTime time.Time, events ...handlers.Event) {
	t.Helper()
	records := make([]postgres.Record, len(events))
	for i, e := range events {
		records[i] = postgres.Record{Event: e, Source: handlers.Source{Topic: "game." + string(e.Kind), Offset: f.offset}}
		f.offset++
	}
	_, _, err := f.vault.WriteBatch(context.Background(), "gamestream", records, nil, loadTime)
	require.NoError(t, err)
}

func (f *fixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	_, err := f.db.Exec(query, args...)
	require.NoError(t, err)
}

func (f *fixture) run(t *testing.T, cfg Config) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	result, err := Run(ctx, cfg)
	require.NoError(t, err)
	require.Len(t, result.Tables, 3)
	return result
}

func keys(table TableResult) []string {
	out := make([]string, len(table.Examples))
	for i, d := range table.Examples {
		out[i] = d.Key
	}
	slices.Sort(out)
	return out
}

func example(t *testing.T, table TableResult, key string) Difference {
	t.Helper()
	for _, d := range table.Examples {
		if d.Key == key {
			return d
		}
	}
	t.Fatalf("%s: no difference with key %q in %v", table.Table, key, keys(table))
	return Difference{}
}

func TestRunAllEqual(t *testing.T) {
	f := newFixture(t)
	result := f.run(t, f.cfg)

	profiles, reports, apps := result.Tables[0], result.Tables[1], result.Tables[2]
	assert.Equal(t, 0, result.Differences(), "examples: %v %v %v", profiles.Examples, reports.Examples, apps.Examples)

	assert.Equal(t, ProfilesTable, profiles.Table)
	assert.Equal(t, 5, profiles.Compared)
	assert.Equal(t, 0, profiles.Pending)

	assert.Equal(t, ReportsTable, reports.Table)
	assert.Equal(t, 5, reports.Compared, "4 final hourly windows and 1 final berlin_daily window")
	assert.Equal(t, 1, reports.Skipped, "the legacy report")

	assert.Equal(t, AppReportsTable, apps.Table)
	assert.Equal(t, 8, apps.Compared)
	assert.Equal(t, 0, apps.Skipped)
}

// breakReadModels makes one of each kind of difference:
//
//	user_profiles:      u1 wrong total, u2 missing, ghost extra
//	aggregated_reports: 10:00 wrong avg, 11:00 provisional, 15:00 extra
//	app_reports:        berlin slots wrong total, 15:00 slots extra,
//	                    22:00 dice missing
func breakReadModels(t *testing.T, f *fixture) {
	t.Helper()
	written := f.start.Add(-10 * time.Minute)
	f.exec(t, "UPDATE user_profiles SET total_spins = 11 WHERE uid = 'u1'")
	f.exec(t, "DELETE FROM user_profiles WHERE uid = 'u2'")
	f.exec(t, `INSERT INTO user_profiles (uid, total_spins, total_purchases, purchase_count, last_event_at, updated_at)
		VALUES ('ghost', 1, 0, 0, ?, ?)`, at(9, 0), written)

	f.exec(t, "UPDATE aggregated_reports SET avg_purchase = 5.00 WHERE report_id = 'hourly:2021-03-28T10:00:00Z'")
	f.exec(t, "UPDATE aggregated_reports SET is_final = 0 WHERE report_id = 'hourly:2021-03-28T11:00:00Z'")
	f.exec(t, `INSERT INTO aggregated_reports (report_id, report_type, window_start, window_end, total_spins,
		total_purchases, purchase_count, active_users, is_final, revision, `+"`timestamp`"+`)
		VALUES ('hourly:2021-03-28T15:00:00Z', 'hourly', ?, ?, 3, 0, 0, 1, 1, 1, ?)`, at(15, 0), at(16, 0), written)

	f.exec(t, `UPDATE app_reports SET total_purchases = 0.02
		WHERE report_id = 'berlin_daily:2021-03-27T23:00:00Z' AND app_id = 'slots'`)
	f.exec(t, `INSERT INTO app_reports (report_id, app_id, report_type, window_start, window_end, total_spins,
		total_purchases, purchase_count, active_users, is_final, revision, `+"`timestamp`"+`)
		VALUES ('hourly:2021-03-28T15:00:00Z', 'slots', 'hourly', ?, ?, 3, 0, 0, 1, 1, 1, ?)`, at(15, 0), at(16, 0), written)
	f.exec(t, "DELETE FROM app_reports WHERE report_id = 'hourly:2021-03-28T22:00:00Z' AND app_id = 'dice'")
}

func TestRunDetectsDifferences(t *testing.T) {
	f := newFixture(t)
	breakReadModels(t, f)

	result := f.run(t, f.cfg)
	profiles, reports, apps := result.Tables[0], result.Tables[1], result.Tables[2]
	assert.Equal(t, 9, result.Differences())

	assert.Equal(t, 3, profiles.Differences)
	assert.Equal(t, []string{"ghost", "u1", "u2"}, keys(profiles))
	assert.Equal(t, 6, profiles.Compared, "5 users and ghost")
	u1 := example(t, profiles, "u1")
	assert.Contains(t, u1.Expected, "total_spins=10 ")
	assert.Contains(t, u1.Actual, "total_spins=11 ")
	assert.Equal(t, `email="a@example.com" phone=NULL total_spins=10 total_purchases=10.01 purchase_count=2 `+
		`favorite_game="poker" last_event_at=2021-03-28T11:00:00.000000Z`, u1.Expected)
	assert.Empty(t, example(t, profiles, "u2").Actual, "missing in MySQL")
	assert.Contains(t, example(t, profiles, "u2").Expected, `favorite_game="dice"`)
	assert.Empty(t, example(t, profiles, "ghost").Expected, "no events in the vault")

	assert.Equal(t, 3, reports.Differences)
	assert.Equal(t, []string{"hourly:2021-03-28T10:00:00Z", "hourly:2021-03-28T11:00:00Z", "hourly:2021-03-28T15:00:00Z"},
		keys(reports))
	wrongAvg := example(t, reports, "hourly:2021-03-28T10:00:00Z")
	assert.Contains(t, wrongAvg.Expected, "avg_purchase=5.01 ")
	assert.Contains(t, wrongAvg.Actual, "avg_purchase=5.00 ")
	provisional := example(t, reports, "hourly:2021-03-28T11:00:00Z")
	assert.Contains(t, provisional.Expected, "is_final=1")
	assert.Contains(t, provisional.Actual, "is_final=0")
	assert.Empty(t, example(t, reports, "hourly:2021-03-28T15:00:00Z").Expected)

	assert.Equal(t, 3, apps.Differences)
	assert.Equal(t, []string{"berlin_daily:2021-03-27T23:00:00Z/slots", "hourly:2021-03-28T15:00:00Z/slots",
		"hourly:2021-03-28T22:00:00Z/dice"}, keys(apps))
	berlinSlots := example(t, apps, "berlin_daily:2021-03-27T23:00:00Z/slots")
	assert.Contains(t, berlinSlots.Expected, "total_purchases=0.01 ")
	assert.Contains(t, berlinSlots.Actual, "total_purchases=0.02 ")
	assert.Empty(t, example(t, apps, "hourly:2021-03-28T22:00:00Z/dice").Actual)

	for _, table := range result.Tables {
		assert.Zero(t, table.Pending, table.Table)
		assert.Zero(t, table.Repaired, table.Table)
	}
}

func TestRunLimitsExamples(t *testing.T) {
	f := newFixture(t)
	breakReadModels(t, f)

	cfg := f.cfg
	cfg.Examples = 1
	result := f.run(t, cfg)
	for _, table := range result.Tables {
		assert.Equal(t, 3, table.Differences, table.Table)
		assert.Len(t, table.Examples, 1, table.Table)
	}
}

func TestRunRepairFixesDifferences(t *testing.T) {
	f := newFixture(t)
	breakReadModels(t, f)

	cfg := f.cfg
	cfg.Repair = true
	repaired := f.run(t, cfg)
	for _, table := range repaired.Tables {
		assert.Equal(t, 3, table.Differences, table.Table)
		assert.Equal(t, 3, table.Repaired, table.Table)
	}

	again := f.run(t, f.cfg)
	assert.Equal(t, 0, again.Differences(), "examples: %v", again.Tables)
	assert.Equal(t, 5, again.Tables[0].Compared)
	assert.Equal(t, 5, again.Tables[1].Compared)
	assert.Equal(t, 8, again.Tables[2].Compared)

	var (
		final    bool
		revision int
		stamp    time.Time
	)
	require.NoError(t, f.db.QueryRow(`SELECT is_final, revision, `+"`timestamp`"+` FROM aggregated_reports
		WHERE report_id = 'hourly:2021-03-28T11:00:00Z'`).Scan(&final, &revision, &stamp))
	assert.True(t, final)
	assert.Equal(t, 1, revision, "revision of an existing row is kept")
	assert.WithinDuration(t, time.Now(), stamp, time.Minute)

	require.NoError(t, f.db.QueryRow(`SELECT revision FROM aggregated_reports
		WHERE report_id = 'hourly:2021-03-28T10:00:00Z'`).Scan(&revision))
	assert.Equal(t, 2, revision, "revision of an existing row is kept")

	require.NoError(t, f.db.QueryRow(`SELECT is_final, revision FROM app_reports
		WHERE report_id = 'hourly:2021-03-28T22:00:00Z' AND app_id = 'dice'`).Scan(&final, &revision))
	assert.True(t, final)
	assert.Equal(t, 1, revision, "a new row gets revision 1")

	var count int
	require.NoError(t, f.db.QueryRow(`SELECT COUNT(*) FROM user_profiles WHERE uid = 'ghost'`).Scan(&count))
	assert.Zero(t, count)
	require.NoError(t, f.db.QueryRow(`SELECT COUNT(*) FROM app_reports
		WHERE report_id = 'hourly:2021-03-28T15:00:00Z'`).Scan(&count))
	assert.Zero(t, count)
}

func TestRunPendingOnLiveSystem(t *testing.T) {
	f := newFixture(t)

	// u1's new spin falls into windows that are still provisional, and
	// MySQL has not been written since it was stored.
	f.store(t, f.start.Add(-10*time.Second), spinEvent("s8", "u1", "slots", at(33, 20), 2))
	// u8 is new, stored 30 seconds ago, in final windows whose reports are
	// not written yet.
	f.store(t, f.start.Add(-30*time.Second), spinEvent("s9", "u8", "slots", at(10, 5), 1))
	// u9 was stored 10 minutes ago and never reached MySQL.
	f.store(t, f.start.Add(-10*time.Minute), spinEvent("s10", "u9", "slots", at(33, 30), 1))

	result := f.run(t, f.cfg)
	profiles, reports, apps := result.Tables[0], result.Tables[1], result.Tables[2]

	assert.Equal(t, 2, profiles.Pending, "u1 and u8")
	assert.Equal(t, 1, profiles.Differences)
	assert.Equal(t, []string{"u9"}, keys(profiles))

	assert.Equal(t, 2, reports.Pending, "hourly 10:00 and the berlin_daily day")
	assert.Equal(t, 0, reports.Differences, "examples: %v", reports.Examples)
	assert.Equal(t, 2, apps.Pending, "slots in both windows")
	assert.Equal(t, 0, apps.Differences, "examples: %v", apps.Examples)
}

func TestRunRepairSkipsPendingRows(t *testing.T) {
	f := newFixture(t)
	f.store(t, f.start.Add(-10*time.Second), spinEvent("s8", "u1", "slots", at(33, 20), 2))
	f.store(t, f.start.Add(-10*time.Minute), spinEvent("s10", "u9", "slots", at(33, 30), 1))

	cfg := f.cfg
	cfg.Repair = true
	result := f.run(t, cfg)
	assert.Equal(t, 1, result.Tables[0].Pending)
	assert.Equal(t, 1, result.Tables[0].Repaired, "u9 only")

	var spins int64
	require.NoError(t, f.db.QueryRow(`SELECT total_spins FROM user_profiles WHERE uid = 'u1'`).Scan(&spins))
	assert.Equal(t, int64(10), spins, "the pending profile is left to the processor")
}

func TestRunRejectsNegativeExamples(t *testing.T) {
	_, err := Run(context.Background(), Config{PostgresDSN: "postgres://x", MySQLDSN: "root@tcp(x)/y", Examples: -1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid number of examples -1")
}

func TestResultPrint(t *testing.T) {
	result := &Result{Tables: []TableResult{
		{Table: ProfilesTable, Compared: 3, Differences: 2, Pending: 1, Repaired: 1,
			Examples: []Difference{
				{Key: "u1", Expected: `email="a b" total_spins=8 favorite_game="x"`,
					Actual: `email="a b" total_spins=9 favorite_game="x y"`},
				{Key: "u2", Expected: "total_spins=8", Actual: ""},
			}},
		{Table: ReportsTable, Compared: 2, Skipped: 4},
	}}
	var out bytes.Buffer
	result.Print(&out)

	assert.Equal(t, strings.Join([]string{
		"user_profiles: compared 3, differences 2, pending 1, repaired 1",
		"  key  expected                         | actual",
		`  u1   total_spins=8 favorite_game="x"  | total_spins=9 favorite_game="x y"`,
		"  u2   total_spins=8                    | (absent)",
		"aggregated_reports: compared 2, differences 0, pending 0, repaired 0, skipped 4 (report type not configured)",
		"differences in total: 2",
		"",
	}, "\n"), out.String())
}

func TestSplitFieldsKeepsQuotedSpaces(t *testing.T) {
	assert.Equal(t, []string{`email="a b=c"`, "phone=NULL", "total=1.50"},
		splitFields(`email="a b=c" phone=NULL total=1.50`))
}

func TestTableProgressLines(t *testing.T) {
	var out bytes.Buffer
	tbl := &table{result: &TableResult{Table: ProfilesTable, Compared: progressInterval - 2}, progress: &out}
	tbl.compared()
	assert.Empty(t, out.String())
	tbl.compared()
	assert.Equal(t, "user_profiles: 100000 rows compared\n", out.String())
}

func TestCursorRejectsUnsortedKeys(t *testing.T) {
	keysIn := []string{"a", "c", "b"}
	next := 0
	read := func() (string, bool, error) {
		if next == len(keysIn) {
			return "", false, nil
		}
		next++
		return keysIn[next-1], true, nil
	}
	c := newCursor("test rows", read, strings.Compare, identity)

	for _, want := range []string{"a", "c"} {
		got, ok, err := c.peek()
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, want, got)
		c.advance()
	}
	_, _, err := c.peek()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `key "b" follows "c"`)
}
