package postgres

import (
	"context"
	"crypto/md5"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gamestream/gamestream/handlers"
	"github.com/gamestream/gamestream/internal/testdb"
)

const testGroup = "processor"

// openTestVault migrates a fresh database and opens a Vault on it.
func openTestVault(t testing.TB) (*Vault, string) {
	t.Helper()
	ctx := context.Background()

	dsn := testdb.Postgres(t)
	require.NoError(t, Migrate(ctx, dsn))
	vault, err := Open(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(vault.Close)
	return vault, dsn
}

func connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func countRows(t testing.TB, conn *pgx.Conn, table string) int {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

var eventTime = time.Date(2021, 11, 1, 12, 30, 45, 123456000, time.UTC)

func spin(msgID, uid, appID string, count int64) handlers.Event {
	return handlers.Event{
		MsgID: msgID, Kind: handlers.KindSpin, UID: uid, AppID: appID, Time: eventTime,
		SpinCount: count,
		Bet:       decimal.NewNullDecimal(decimal.RequireFromString("1.50")),
		Win:       decimal.NullDecimal{},
		Currency:  "coins",
	}
}

func auth(msgID, uid, appID, email string) handlers.Event {
	return handlers.Event{
		MsgID: msgID, Kind: handlers.KindAuth, UID: uid, AppID: appID, Time: eventTime,
		Email: email,
	}
}

func purchase(msgID, uid, appID, amount, currency, reporting string) handlers.Event {
	return handlers.Event{
		MsgID: msgID, Kind: handlers.KindPurchase, UID: uid, AppID: appID, Time: eventTime,
		Amount:          decimal.RequireFromString(amount),
		Currency:        currency,
		AmountReporting: decimal.RequireFromString(reporting),
		ProductID:       "gems_100",
	}
}

func at(topic string, partition int32, offset int64) handlers.Source {
	return handlers.Source{Topic: topic, Partition: partition, Offset: offset}
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.Postgres(t)

	require.NoError(t, Migrate(ctx, dsn))
	conn := connect(t, dsn)
	versions := countRows(t, conn, "goose_db_version")

	require.NoError(t, Migrate(ctx, dsn))
	assert.Equal(t, versions, countRows(t, conn, "goose_db_version"))

	for _, table := range []string{
		"hub_user", "hub_app", "link_user_app", "satellite_auth_info", "satellite_spin_info",
		"satellite_purchase_info", "satellite_aggregated_report_info", "processor_offsets",
	} {
		assert.Zero(t, countRows(t, conn, table), table)
	}
}

func TestWriteBatchInsertsOnce(t *testing.T) {
	ctx := context.Background()
	vault, dsn := openTestVault(t)
	conn := connect(t, dsn)
	load := time.Date(2021, 11, 1, 13, 0, 0, 0, time.UTC)

	records := []Record{
		{Event: spin("s1", "u1", "slots", 3), Source: at("spins", 0, 10)},
		{Event: spin("s2", "u2", "slots", 1), Source: at("spins", 1, 4)},
		{Event: auth("a1", "u1", "slots", "u1@example.com"), Source: at("auth", 0, 7)},
		{Event: purchase("p1", "u2", "poker", "9.99", "USD", "9.99"), Source: at("purchases", 0, 2)},
	}
	offsets := map[TopicPartition]int64{
		{"spins", 0}: 11, {"spins", 1}: 5, {"auth", 0}: 8, {"purchases", 0}: 3,
	}

	stored, inserted, err := vault.WriteBatch(ctx, testGroup, records, offsets, load)
	require.NoError(t, err)
	assert.Equal(t, []bool{true, true, true, true}, stored)
	assert.Equal(t, map[handlers.Kind]int{handlers.KindAuth: 1, handlers.KindSpin: 2, handlers.KindPurchase: 1}, inserted)

	assert.Equal(t, 2, countRows(t, conn, "hub_user"))
	assert.Equal(t, 2, countRows(t, conn, "hub_app"))
	assert.Equal(t, 3, countRows(t, conn, "link_user_app"))
	assert.Equal(t, 1, countRows(t, conn, "satellite_auth_info"))
	assert.Equal(t, 2, countRows(t, conn, "satellite_spin_info"))
	assert.Equal(t, 1, countRows(t, conn, "satellite_purchase_info"))

	// The same batch again, as after a crash before the Kafka commit.
	stored, inserted, err = vault.WriteBatch(ctx, testGroup, records, offsets, load.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, []bool{true, true, true, true}, stored)
	assert.Equal(t, map[handlers.Kind]int{handlers.KindAuth: 0, handlers.KindSpin: 0, handlers.KindPurchase: 0}, inserted)

	assert.Equal(t, 2, countRows(t, conn, "hub_user"))
	assert.Equal(t, 3, countRows(t, conn, "link_user_app"))
	assert.Equal(t, 2, countRows(t, conn, "satellite_spin_info"))

	var loadDTS time.Time
	require.NoError(t, conn.QueryRow(ctx, "SELECT load_dts FROM satellite_spin_info WHERE msg_id = 's1'").Scan(&loadDTS))
	assert.True(t, load.Equal(loadDTS), "load_dts %v, want %v", loadDTS, load)

	got, err := vault.Offsets(ctx, testGroup)
	require.NoError(t, err)
	assert.Equal(t, offsets, got)
}

func TestWriteBatchDuplicateFromOtherOffset(t *testing.T) {
	ctx := context.Background()
	vault, dsn := openTestVault(t)
	conn := connect(t, dsn)
	load := time.Date(2021, 11, 1, 13, 0, 0, 0, time.UTC)

	first := Record{Event: purchase("p1", "u1", "poker", "10.00", "EUR", "11.50"), Source: at("purchases", 2, 40)}
	_, _, err := vault.WriteBatch(ctx, testGroup, []Record{first}, nil, load)
	require.NoError(t, err)

	// The producer sent p1 again with other content; Kafka gave it a new offset.
	again := Record{Event: purchase("p1", "u1", "poker", "99.00", "EUR", "113.85"), Source: at("purchases", 2, 41)}
	stored, inserted, err := vault.WriteBatch(ctx, testGroup, []Record{again}, nil, load)
	require.NoError(t, err)
	assert.Equal(t, []bool{false}, stored)
	assert.Zero(t, inserted[handlers.KindPurchase])

	var (
		amount string
		offset int64
	)
	require.NoError(t, conn.QueryRow(ctx,
		"SELECT amount::text, kafka_offset FROM satellite_purchase_info WHERE msg_id = 'p1'").Scan(&amount, &offset))
	assert.Equal(t, "10.00", amount)
	assert.Equal(t, int64(40), offset)

	// The first copy replayed from its own position is still reported as stored.
	stored, _, err = vault.WriteBatch(ctx, testGroup, []Record{first, again}, nil, load)
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false}, stored)
}

func TestWriteBatchStoredAmountOnReread(t *testing.T) {
	ctx := context.Background()
	vault, _ := openTestVault(t)
	load := time.Date(2021, 11, 1, 13, 0, 0, 0, time.UTC)

	first := Record{Event: purchase("p1", "u1", "poker", "10.00", "EUR", "11.50"), Source: at("purchases", 0, 7)}
	_, _, err := vault.WriteBatch(ctx, testGroup, []Record{first}, nil, load)
	require.NoError(t, err)

	// The same record read again after events.rates changed converts to
	// another amount; the caller gets the stored one back.
	reread := []Record{
		{Event: purchase("p1", "u1", "poker", "10.00", "EUR", "12.00"), Source: at("purchases", 0, 7)},
		{Event: purchase("p2", "u1", "poker", "5.00", "EUR", "6.00"), Source: at("purchases", 0, 8)},
	}
	stored, _, err := vault.WriteBatch(ctx, testGroup, reread, nil, load)
	require.NoError(t, err)
	assert.Equal(t, []bool{true, true}, stored)
	assert.Equal(t, "11.5", reread[0].Event.AmountReporting.String(), "re-read purchase")
	assert.Equal(t, "6", reread[1].Event.AmountReporting.String(), "new purchase keeps its own amount")

	// A duplicate from another position is not folded and keeps its amount.
	dup := []Record{{Event: purchase("p1", "u1", "poker", "10.00", "EUR", "12.00"), Source: at("purchases", 0, 9)}}
	stored, _, err = vault.WriteBatch(ctx, testGroup, dup, nil, load)
	require.NoError(t, err)
	assert.Equal(t, []bool{false}, stored)
	assert.Equal(t, "12", dup[0].Event.AmountReporting.String())
}

func TestWriteBatchDuplicatesWithinBatch(t *testing.T) {
	ctx := context.Background()
	vault, dsn := openTestVault(t)
	conn := connect(t, dsn)
	load := time.Date(2021, 11, 1, 13, 0, 0, 0, time.UTC)

	records := []Record{
		{Event: spin("m1", "u1", "slots", 5), Source: at("spins", 0, 100)},
		{Event: spin("m1", "u9", "slots", 7), Source: at("spins", 0, 101)},
		// The same msg_id in another kind is another satellite row.
		{Event: auth("m1", "u1", "slots", ""), Source: at("auth", 0, 3)},
		// The same record twice, as a consumer may see after a rebalance.
		{Event: spin("m2", "u2", "slots", 1), Source: at("spins", 1, 8)},
		{Event: spin("m2", "u2", "slots", 1), Source: at("spins", 1, 8)},
	}
	stored, inserted, err := vault.WriteBatch(ctx, testGroup, records, nil, load)
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false, true, true, true}, stored)
	assert.Equal(t, 2, inserted[handlers.KindSpin])
	assert.Equal(t, 1, inserted[handlers.KindAuth])

	var (
		uid       string
		spinCount int64
	)
	require.NoError(t, conn.QueryRow(ctx,
		"SELECT uid, spin_count FROM satellite_spin_info WHERE msg_id = 'm1'").Scan(&uid, &spinCount))
	assert.Equal(t, "u1", uid)
	assert.Equal(t, int64(5), spinCount)

	// Only the inserted record's user reaches the hub.
	assert.Equal(t, 2, countRows(t, conn, "hub_user"))
}

func TestWriteBatchOffsetsKeepMax(t *testing.T) {
	ctx := context.Background()
	vault, _ := openTestVault(t)
	load := time.Date(2021, 11, 1, 13, 0, 0, 0, time.UTC)

	_, _, err := vault.WriteBatch(ctx, testGroup, nil,
		map[TopicPartition]int64{{"spins", 0}: 100, {"spins", 1}: 5}, load)
	require.NoError(t, err)

	// A late batch must not move spins/0 back; spins/2 had only invalid records.
	_, _, err = vault.WriteBatch(ctx, testGroup, nil,
		map[TopicPartition]int64{{"spins", 0}: 50, {"spins", 1}: 7, {"spins", 2}: 3}, load)
	require.NoError(t, err)

	_, _, err = vault.WriteBatch(ctx, "other-group", nil, map[TopicPartition]int64{{"spins", 0}: 1}, load)
	require.NoError(t, err)

	got, err := vault.Offsets(ctx, testGroup)
	require.NoError(t, err)
	assert.Equal(t, map[TopicPartition]int64{{"spins", 0}: 100, {"spins", 1}: 7, {"spins", 2}: 3}, got)

	other, err := vault.Offsets(ctx, "other-group")
	require.NoError(t, err)
	assert.Equal(t, map[TopicPartition]int64{{"spins", 0}: 1}, other)

	none, err := vault.Offsets(ctx, "unknown-group")
	require.NoError(t, err)
	assert.Empty(t, none)
}

func TestWriteBatchHubsKeepFirstSeen(t *testing.T) {
	ctx := context.Background()
	vault, dsn := openTestVault(t)
	conn := connect(t, dsn)
	firstLoad := time.Date(2021, 11, 1, 13, 0, 0, 0, time.UTC)
	secondLoad := firstLoad.Add(time.Hour)

	_, _, err := vault.WriteBatch(ctx, testGroup,
		[]Record{{Event: spin("s1", "u1", "slots", 1), Source: at("spins", 0, 1)}}, nil, firstLoad)
	require.NoError(t, err)
	_, _, err = vault.WriteBatch(ctx, testGroup, []Record{
		{Event: auth("a1", "u1", "slots", "u1@example.com"), Source: at("auth", 0, 1)},
		{Event: auth("a2", "u2", "slots", ""), Source: at("auth", 0, 2)},
	}, nil, secondLoad)
	require.NoError(t, err)

	cases := []struct {
		query      string
		wantLoad   time.Time
		wantSource string
	}{
		{"SELECT load_dts, record_source FROM hub_user WHERE uid = 'u1'", firstLoad, "spins"},
		{"SELECT load_dts, record_source FROM hub_user WHERE uid = 'u2'", secondLoad, "auth"},
		{"SELECT load_dts, record_source FROM hub_app WHERE app_id = 'slots'", firstLoad, "spins"},
		{"SELECT load_dts, record_source FROM link_user_app WHERE link_hk = decode(md5('u1' || chr(31) || 'slots'), 'hex')", firstLoad, "spins"},
		{"SELECT load_dts, record_source FROM link_user_app WHERE link_hk = decode(md5('u2' || chr(31) || 'slots'), 'hex')", secondLoad, "auth"},
	}
	for _, c := range cases {
		var (
			loadDTS time.Time
			source  string
		)
		require.NoError(t, conn.QueryRow(ctx, c.query).Scan(&loadDTS, &source), c.query)
		assert.True(t, c.wantLoad.Equal(loadDTS), "%s: load_dts %v, want %v", c.query, loadDTS, c.wantLoad)
		assert.Equal(t, c.wantSource, source, c.query)
	}

	// Hash keys are the MD5 of the business key, computed the same way in Go.
	var userHK, linkUserHK []byte
	require.NoError(t, conn.QueryRow(ctx, "SELECT user_hk FROM hub_user WHERE uid = 'u1'").Scan(&userHK))
	sum := md5.Sum([]byte("u1"))
	assert.Equal(t, sum[:], userHK)
	require.NoError(t, conn.QueryRow(ctx,
		"SELECT l.user_hk FROM link_user_app l JOIN satellite_spin_info s ON s.link_hk = l.link_hk WHERE s.msg_id = 's1'").
		Scan(&linkUserHK))
	assert.Equal(t, sum[:], linkUserHK)
}

func TestWriteBatchKeepsExactValues(t *testing.T) {
	ctx := context.Background()
	vault, dsn := openTestVault(t)
	conn := connect(t, dsn)
	load := time.Date(2021, 11, 1, 13, 0, 0, 0, time.UTC)

	sum := decimal.RequireFromString("0.1").Add(decimal.RequireFromString("0.2"))
	p1 := purchase("p1", "u1", "poker", "0", "USD", "0")
	p1.Amount, p1.AmountReporting = sum, sum
	p1.ProductID = ""
	records := []Record{
		{Event: p1, Source: at("purchases", 0, 1)},
		{Event: purchase("p2", "u1", "poker", "1500", "JPY", "9.87"), Source: at("purchases", 0, 2)},
		{Event: purchase("p3", "u1", "poker", "1.234", "BHD", "3.27"), Source: at("purchases", 0, 3)},
		{Event: spin("s1", "u1", "slots", 1), Source: at("spins", 0, 1)},
		{Event: auth("a1", "u1", "slots", ""), Source: at("auth", 0, 1)},
	}
	_, _, err := vault.WriteBatch(ctx, testGroup, records, nil, load)
	require.NoError(t, err)

	purchases := []struct {
		msgID, amount, currency, reporting string
	}{
		{"p1", "0.3", "USD", "0.3"},
		{"p2", "1500", "JPY", "9.87"},
		{"p3", "1.234", "BHD", "3.27"},
	}
	for _, p := range purchases {
		var amount, currency, reporting, reportingCurrency string
		var productID *string
		require.NoError(t, conn.QueryRow(ctx,
			`SELECT amount::text, currency, amount_reporting::text, reporting_currency, product_id
			 FROM satellite_purchase_info WHERE msg_id = $1`, p.msgID).
			Scan(&amount, &currency, &reporting, &reportingCurrency, &productID))
		assert.Equal(t, p.amount, amount, p.msgID)
		assert.Equal(t, p.currency, currency, p.msgID)
		assert.Equal(t, p.reporting, reporting, p.msgID)
		assert.Equal(t, DefaultReportingCurrency, reportingCurrency, p.msgID)
		if p.msgID == "p1" {
			assert.Nil(t, productID, "empty product_id is stored as NULL")
		} else {
			assert.Equal(t, "gems_100", *productID)
		}
	}

	var (
		bet, win, currency *string
		createdAt          time.Time
	)
	require.NoError(t, conn.QueryRow(ctx,
		"SELECT bet::text, win::text, currency, created_at FROM satellite_spin_info WHERE msg_id = 's1'").
		Scan(&bet, &win, &currency, &createdAt))
	require.NotNil(t, bet)
	assert.Equal(t, "1.50", *bet)
	assert.Nil(t, win, "absent win is stored as NULL")
	assert.Equal(t, "coins", *currency)
	assert.True(t, eventTime.Equal(createdAt), "created_at %v, want %v", createdAt, eventTime)

	var email, phone *string
	require.NoError(t, conn.QueryRow(ctx,
		"SELECT email, phone FROM satellite_auth_info WHERE msg_id = 'a1'").Scan(&email, &phone))
	assert.Nil(t, email)
	assert.Nil(t, phone)
}

func TestWriteBatchRejectsUnknownKind(t *testing.T) {
	ctx := context.Background()
	vault, dsn := openTestVault(t)
	conn := connect(t, dsn)

	bad := spin("x1", "u1", "slots", 1)
	bad.Kind = "bonus"
	_, _, err := vault.WriteBatch(ctx, testGroup, []Record{
		{Event: spin("s1", "u1", "slots", 1), Source: at("spins", 0, 1)},
		{Event: bad, Source: at("spins", 0, 2)},
	}, map[TopicPartition]int64{{"spins", 0}: 3}, time.Now())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"x1"`)

	assert.Zero(t, countRows(t, conn, "satellite_spin_info"))
	assert.Zero(t, countRows(t, conn, "processor_offsets"))
}

func TestWriteBatchReportingCurrencyOption(t *testing.T) {
	ctx := context.Background()
	_, dsn := openTestVault(t)
	conn := connect(t, dsn)

	_, err := Open(ctx, dsn, WithReportingCurrency("usd"))
	require.Error(t, err)

	vault, err := Open(ctx, dsn, WithReportingCurrency("EUR"))
	require.NoError(t, err)
	defer vault.Close()

	_, _, err = vault.WriteBatch(ctx, testGroup, []Record{
		{Event: purchase("p1", "u1", "poker", "5", "USD", "4.35"), Source: at("purchases", 0, 1)},
	}, nil, time.Now())
	require.NoError(t, err)

	var code string
	require.NoError(t, conn.QueryRow(ctx,
		"SELECT reporting_currency FROM satellite_purchase_info WHERE msg_id = 'p1'").Scan(&code))
	assert.Equal(t, "EUR", code)
}

// TestWriteBatchConcurrentOverlap runs writers whose batches share users,
// apps and msg_ids in opposite orders. Every writer reads from its own
// partition, so exactly one copy of each msg_id may be reported as stored.
func TestWriteBatchConcurrentOverlap(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vault, dsn := openTestVault(t)
	conn := connect(t, dsn)

	const (
		writers = 4
		rounds  = 5
		perKind = 200
	)
	type result struct {
		records []Record
		stored  []bool
	}
	results := make(chan result, writers*rounds)
	errs := make(chan error, writers*rounds)

	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range rounds {
				records := make([]Record, 0, perKind)
				for i := range perKind {
					n := i
					if w%2 == 1 {
						n = perKind - 1 - i
					}
					msgID := fmt.Sprintf("r%d-m%03d", round, n)
					uid := fmt.Sprintf("u%03d", n%50)
					records = append(records, Record{
						Event:  spin(msgID, uid, fmt.Sprintf("app%d", n%7), 1),
						Source: at("spins", int32(w), int64(round*perKind+i)),
					})
				}
				stored, _, err := vault.WriteBatch(ctx, testGroup, records,
					map[TopicPartition]int64{{"spins", int32(w)}: int64((round + 1) * perKind)}, time.Now())
				if err != nil {
					errs <- err
					return
				}
				results <- result{records: records, stored: stored}
			}
		}()
	}
	wg.Wait()
	close(results)
	close(errs)

	for err := range errs {
		require.NoError(t, err)
	}
	storedCopies := map[string]int{}
	for r := range results {
		for i, rec := range r.records {
			if r.stored[i] {
				storedCopies[rec.Event.MsgID]++
			}
		}
	}
	assert.Len(t, storedCopies, rounds*perKind)
	for msgID, copies := range storedCopies {
		assert.Equal(t, 1, copies, msgID)
	}
	assert.Equal(t, rounds*perKind, countRows(t, conn, "satellite_spin_info"))
	assert.Equal(t, 50, countRows(t, conn, "hub_user"))
}

func TestInsertReports(t *testing.T) {
	ctx := context.Background()
	vault, dsn := openTestVault(t)
	conn := connect(t, dsn)
	load := time.Date(2021, 11, 2, 0, 5, 0, 0, time.UTC)
	start := time.Date(2021, 11, 1, 0, 0, 0, 0, time.UTC)

	row := ReportRow{
		ReportID: "daily:2021-11-01T00:00:00Z", Revision: 1, ReportType: "daily",
		WindowStart: start, WindowEnd: start.Add(24 * time.Hour),
		TotalSpins: 42, TotalPurchases: decimal.RequireFromString("30.30"), PurchaseCount: 3,
		AvgPurchase:   decimal.NewNullDecimal(decimal.RequireFromString("10.10")),
		MostSpentGame: "poker", ActiveUsers: 7,
	}
	empty := ReportRow{
		ReportID: "hourly:2021-11-01T03:00:00Z", Revision: 1, ReportType: "hourly",
		WindowStart: start.Add(3 * time.Hour), WindowEnd: start.Add(4 * time.Hour),
		TotalPurchases: decimal.Zero,
	}
	require.NoError(t, vault.InsertReports(ctx, []ReportRow{row, empty}, "reports", load))

	// The same revision again with other figures changes nothing.
	changed := row
	changed.TotalSpins = 1000
	require.NoError(t, vault.InsertReports(ctx, []ReportRow{changed}, "reports", load))

	revised := row
	revised.Revision = 2
	revised.TotalSpins = 43
	require.NoError(t, vault.InsertReports(ctx, []ReportRow{revised}, "reports", load))

	assert.Equal(t, 3, countRows(t, conn, "satellite_aggregated_report_info"))

	var (
		spins          int64
		total          string
		avg, game      *string
		windowEnd      time.Time
		loadDTS        time.Time
		recordSource   string
		revisionOneRow = "SELECT total_spins, total_purchases::text, avg_purchase::text, most_spent_game, window_end, load_dts, record_source FROM satellite_aggregated_report_info WHERE report_id = $1 AND revision = $2"
	)
	require.NoError(t, conn.QueryRow(ctx, revisionOneRow, row.ReportID, 1).
		Scan(&spins, &total, &avg, &game, &windowEnd, &loadDTS, &recordSource))
	assert.Equal(t, int64(42), spins)
	assert.Equal(t, "30.30", total)
	require.NotNil(t, avg)
	assert.Equal(t, "10.10", *avg)
	require.NotNil(t, game)
	assert.Equal(t, "poker", *game)
	assert.True(t, row.WindowEnd.Equal(windowEnd))
	assert.True(t, load.Equal(loadDTS))
	assert.Equal(t, "reports", recordSource)

	require.NoError(t, conn.QueryRow(ctx, revisionOneRow, empty.ReportID, 1).
		Scan(&spins, &total, &avg, &game, &windowEnd, &loadDTS, &recordSource))
	assert.Nil(t, avg, "avg_purchase of a window without purchases is NULL")
	assert.Nil(t, game, "most_spent_game of a window without purchases is NULL")
	assert.Equal(t, "0", total)

	require.NoError(t, conn.QueryRow(ctx, revisionOneRow, row.ReportID, 2).
		Scan(&spins, &total, &avg, &game, &windowEnd, &loadDTS, &recordSource))
	assert.Equal(t, int64(43), spins)
}

func TestIsRetryable(t *testing.T) {
	assert.True(t, isRetryable(fmt.Errorf("insert: %w", &pgconn.PgError{Code: "40P01"})))
	assert.True(t, isRetryable(&pgconn.PgError{Code: "40001"}))
	assert.False(t, isRetryable(&pgconn.PgError{Code: "23503"}))
	assert.False(t, isRetryable(context.Canceled))
}
