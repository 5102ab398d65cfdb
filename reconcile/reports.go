package reconcile

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/gamestream/gamestream/stores/mysql"
	"github.com/gamestream/gamestream/windows"
)

// vaultReportsSQL recomputes the windows of one spec that end at or before
// $1, leaving out the events that late_event_info lists for report_type $2.
// %s is the LATERAL SELECT of windowBoundsSQL.
//
// Each window yields one row per app (is_window false), sorted by app_id in
// byte order, and then one row for the whole window (is_window true).
// Windows come in order of window_start, which is the order of their
// report_id. active_users counts the distinct users of any kind of event.
const vaultReportsSQL = `
WITH events AS (
    SELECT 'auth' AS kind, msg_id, uid, app_id, created_at, load_dts,
           0::bigint AS spins, 0::numeric AS amount, 0 AS purchases
    FROM satellite_auth_info WHERE created_at < $1
    UNION ALL
    SELECT 'spin', msg_id, uid, app_id, created_at, load_dts, spin_count, 0, 0
    FROM satellite_spin_info WHERE created_at < $1
    UNION ALL
    SELECT 'purchase', msg_id, uid, app_id, created_at, load_dts, 0, amount_reporting, 1
    FROM satellite_purchase_info WHERE created_at < $1
),
assigned AS (
    SELECT e.uid, e.app_id, e.load_dts, e.spins, e.amount, e.purchases, w.window_start, w.window_end
    FROM events AS e
    CROSS JOIN LATERAL (%s) AS w(window_start, window_end)
    WHERE NOT EXISTS (
        SELECT 1 FROM late_event_info AS l
        WHERE l.report_type = $2 AND l.kind = e.kind AND l.msg_id = e.msg_id)
)
SELECT window_start, window_end, app_id, grouping(app_id) = 1 AS is_window,
       sum(spins)::bigint, sum(amount)::text, sum(purchases)::bigint, count(DISTINCT uid), max(load_dts)
FROM assigned
WHERE window_end <= $1
GROUP BY GROUPING SETS ((window_start, window_end), (window_start, window_end, app_id))
ORDER BY window_start, is_window, app_id COLLATE "C"`

// finalCutoffSQL returns the latest window_end of a final row of a report
// type in either report table, or NULL.
const finalCutoffSQL = `
SELECT MAX(window_end) FROM (
    SELECT MAX(window_end) AS window_end FROM aggregated_reports WHERE report_type = ? AND is_final = 1
    UNION ALL
    SELECT MAX(window_end) FROM app_reports WHERE report_type = ? AND is_final = 1
) AS finals`

const storedReportsSQL = `
SELECT report_id, window_start, window_end, total_spins, total_purchases, purchase_count, avg_purchase,
       most_spent_game, active_users, is_final, ` + "`timestamp`" + `
FROM aggregated_reports
WHERE report_type = ? AND window_end <= ?
ORDER BY report_id`

const storedAppReportsSQL = `
SELECT report_id, app_id, window_start, window_end, total_spins, total_purchases, purchase_count, avg_purchase,
       active_users, is_final, ` + "`timestamp`" + `
FROM app_reports
WHERE report_type = ? AND window_end <= ?
ORDER BY report_id, app_id`

// figures holds the compared columns of an aggregated_reports or
// app_reports row. mostSpentGame stays NULL for app rows.
type figures struct {
	windowStart    time.Time
	windowEnd      time.Time
	totalSpins     int64
	totalPurchases decimal.Decimal
	purchaseCount  int64
	avgPurchase    decimal.NullDecimal
	mostSpentGame  sql.NullString
	activeUsers    int64
	isFinal        bool
}

func (f figures) format(withGame bool) string {
	pairs := []string{
		"window_start", formatTime(f.windowStart),
		"window_end", formatTime(f.windowEnd),
		"total_spins", formatInt(f.totalSpins),
		"total_purchases", formatMoney(f.totalPurchases),
		"purchase_count", formatInt(f.purchaseCount),
		"avg_purchase", formatNullMoney(f.avgPurchase),
	}
	if withGame {
		pairs = append(pairs, "most_spent_game", formatNullText(f.mostSpentGame))
	}
	finality := "0"
	if f.isFinal {
		finality = "1"
	}
	pairs = append(pairs, "active_users", formatInt(f.activeUsers), "is_final", finality)
	return fields(pairs...)
}

func (f figures) equal(g figures) bool {
	return sameTime(f.windowStart, g.windowStart) &&
		sameTime(f.windowEnd, g.windowEnd) &&
		f.totalSpins == g.totalSpins &&
		f.totalPurchases.Equal(g.totalPurchases) &&
		f.purchaseCount == g.purchaseCount &&
		sameNullMoney(f.avgPurchase, g.avgPurchase) &&
		sameNullText(f.mostSpentGame, g.mostSpentGame) &&
		f.activeUsers == g.activeUsers &&
		f.isFinal == g.isFinal
}

// vaultApp is one app of a recomputed window.
type vaultApp struct {
	appID      string
	figures    figures
	exactTotal decimal.Decimal
	newestLoad time.Time
}

// vaultWindow is a recomputed window with its apps sorted by app_id.
type vaultWindow struct {
	reportID   string
	figures    figures
	newestLoad time.Time
	apps       []vaultApp
}

// storedReport is an aggregated_reports row, or an app_reports row when
// appID is set.
type storedReport struct {
	reportID string
	appID    string
	figures  figures
	written  time.Time
}

func (s storedReport) key() string {
	if s.appID == "" {
		return s.reportID
	}
	return s.reportID + "/" + s.appID
}

func compareStored(a, b storedReport) int {
	return cmp.Or(strings.Compare(a.reportID, b.reportID), strings.Compare(a.appID, b.appID))
}

// vaultWindowReader reads the rows of vaultReportsSQL and returns one window
// per call: its app rows and then its window row.
func vaultWindowReader(rows pgx.Rows, spec windows.Spec) func() (vaultWindow, bool, error) {
	return func() (vaultWindow, bool, error) {
		var w vaultWindow
		for rows.Next() {
			var (
				f          figures
				appID      sql.NullString
				isWindow   bool
				amount     string
				newestLoad time.Time
			)
			err := rows.Scan(&f.windowStart, &f.windowEnd, &appID, &isWindow, &f.totalSpins, &amount,
				&f.purchaseCount, &f.activeUsers, &newestLoad)
			if err != nil {
				return vaultWindow{}, false, err
			}
			f.windowStart, f.windowEnd, f.isFinal = f.windowStart.UTC(), f.windowEnd.UTC(), true
			reportID := mysql.ReportID(spec.Name, f.windowStart)
			exact, err := parseMoney(amount, "total_purchases of report "+reportID)
			if err != nil {
				return vaultWindow{}, false, err
			}
			f.totalPurchases = roundMoney(exact)
			f.avgPurchase = average(exact, f.purchaseCount)

			if !isWindow {
				w.apps = append(w.apps, vaultApp{appID: appID.String, figures: f, exactTotal: exact, newestLoad: newestLoad})
				continue
			}
			w.reportID, w.figures, w.newestLoad = reportID, f, newestLoad
			w.figures.mostSpentGame = mostSpentGame(w.apps)
			return w, true, nil
		}
		if err := rows.Err(); err != nil {
			return vaultWindow{}, false, err
		}
		if len(w.apps) > 0 {
			return vaultWindow{}, false, fmt.Errorf("app rows of the window starting %s without a window row",
				formatTime(w.apps[0].figures.windowStart))
		}
		return vaultWindow{}, false, nil
	}
}

// mostSpentGame returns the app with the highest exact purchase total among
// apps with purchases, ties to the smaller app_id in byte order, or NULL.
// apps are sorted by app_id, so the first of equal totals wins.
func mostSpentGame(apps []vaultApp) sql.NullString {
	var best *vaultApp
	for i := range apps {
		app := &apps[i]
		if app.figures.purchaseCount == 0 {
			continue
		}
		if best == nil || app.exactTotal.GreaterThan(best.exactTotal) {
			best = app
		}
	}
	if best == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: best.appID, Valid: true}
}

func scanStoredReport(rows *sql.Rows) (storedReport, error) {
	var (
		s      storedReport
		f      = &s.figures
		amount string
		avg    sql.NullString
	)
	err := rows.Scan(&s.reportID, &f.windowStart, &f.windowEnd, &f.totalSpins, &amount, &f.purchaseCount, &avg,
		&f.mostSpentGame, &f.activeUsers, &f.isFinal, &s.written)
	if err != nil {
		return storedReport{}, err
	}
	return s, parseStoredMoney(&s, amount, avg)
}

func scanStoredAppReport(rows *sql.Rows) (storedReport, error) {
	var (
		s      storedReport
		f      = &s.figures
		amount string
		avg    sql.NullString
	)
	err := rows.Scan(&s.reportID, &s.appID, &f.windowStart, &f.windowEnd, &f.totalSpins, &amount, &f.purchaseCount,
		&avg, &f.activeUsers, &f.isFinal, &s.written)
	if err != nil {
		return storedReport{}, err
	}
	return s, parseStoredMoney(&s, amount, avg)
}

func parseStoredMoney(s *storedReport, amount string, avg sql.NullString) error {
	var err error
	if s.figures.totalPurchases, err = parseMoney(amount, "total_purchases of "+s.key()); err != nil {
		return err
	}
	s.figures.avgPurchase, err = parseNullMoney(avg, "avg_purchase of "+s.key())
	return err
}

// reportMerge holds the cursors of the comparison of one spec.
type reportMerge struct {
	spec     windows.Spec
	expected *cursor[vaultWindow]
	reports  *cursor[storedReport]
	apps     *cursor[storedReport]
	// reportTable and appTable collect the results of both tables.
	reportTable *table
	appTable    *table
}

// compareReports merges the recomputed windows of every spec with
// aggregated_reports and app_reports.
func (r *runner) compareReports(ctx context.Context, reports, apps *table) error {
	if err := r.countSkipped(ctx, reports, apps); err != nil {
		return err
	}
	for _, spec := range r.cfg.Specs {
		if err := r.compareSpec(ctx, spec, reports, apps); err != nil {
			return fmt.Errorf("report type %s: %w", spec.Name, err)
		}
	}
	if err := reports.finishRepair(ctx); err != nil {
		return err
	}
	return apps.finishRepair(ctx)
}

// countSkipped counts the report rows of report types that no spec names.
func (r *runner) countSkipped(ctx context.Context, reports, apps *table) error {
	where := ""
	args := make([]any, 0, len(r.cfg.Specs))
	if len(r.cfg.Specs) > 0 {
		where = " WHERE report_type NOT IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(r.cfg.Specs)), ", ") + ")"
		for _, spec := range r.cfg.Specs {
			args = append(args, spec.Name)
		}
	}
	for _, t := range []*table{reports, apps} {
		query := "SELECT COUNT(*) FROM " + t.result.Table + where
		if err := r.readModels.db.QueryRowContext(ctx, query, args...).Scan(&t.result.Skipped); err != nil {
			return fmt.Errorf("count rows of unconfigured report types in %s: %w", t.result.Table, err)
		}
	}
	return nil
}

// compareSpec compares the windows of one spec up to the latest final
// window_end in MySQL.
func (r *runner) compareSpec(ctx context.Context, spec windows.Spec, reports, apps *table) error {
	// Both MySQL snapshots start before the vault query, as in
	// compareProfiles.
	reportSnap, err := r.readModels.snapshot(ctx)
	if err != nil {
		return err
	}
	defer reportSnap.close(ctx)
	appSnap, err := r.readModels.snapshot(ctx)
	if err != nil {
		return err
	}
	defer appSnap.close(ctx)

	var cutoff sql.NullTime
	if err := reportSnap.conn.QueryRowContext(ctx, finalCutoffSQL, spec.Name, spec.Name).Scan(&cutoff); err != nil {
		return fmt.Errorf("query the latest final window_end: %w", err)
	}
	if !cutoff.Valid {
		return nil
	}

	bounds, err := windowBoundsSQL(spec, "e.created_at")
	if err != nil {
		return err
	}
	vaultRows, err := r.vault.Query(ctx, fmt.Sprintf(vaultReportsSQL, bounds), cutoff.Time, spec.Name)
	if err != nil {
		return fmt.Errorf("query vault windows: %w", err)
	}
	defer vaultRows.Close()

	merge := &reportMerge{spec: spec, reportTable: reports, appTable: apps}
	merge.expected = newCursor("vault windows", vaultWindowReader(vaultRows, spec),
		func(a, b vaultWindow) int { return strings.Compare(a.reportID, b.reportID) },
		func(w vaultWindow) string { return w.reportID })
	if _, _, err := merge.expected.peek(); err != nil {
		return err
	}

	reportRows, err := reportSnap.conn.QueryContext(ctx, storedReportsSQL, spec.Name, cutoff.Time)
	if err != nil {
		return fmt.Errorf("query %s: %w", ReportsTable, err)
	}
	defer reportRows.Close()
	merge.reports = newCursor(ReportsTable, rowReader(reportRows, scanStoredReport), compareStored, storedReport.key)

	appRows, err := appSnap.conn.QueryContext(ctx, storedAppReportsSQL, spec.Name, cutoff.Time)
	if err != nil {
		return fmt.Errorf("query %s: %w", AppReportsTable, err)
	}
	defer appRows.Close()
	merge.apps = newCursor(AppReportsTable, rowReader(appRows, scanStoredAppReport), compareStored, storedReport.key)

	return r.mergeReports(ctx, merge)
}

// mergeReports walks the recomputed windows in report_id order. For each
// window it first handles the MySQL rows of smaller report_ids, which have
// no events in the vault, and then the window row and its app rows.
func (r *runner) mergeReports(ctx context.Context, m *reportMerge) error {
	for {
		w, ok, err := m.expected.peek()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := r.mergeWindow(ctx, m, w); err != nil {
			return err
		}
		m.expected.advance()
	}

	if err := r.removeStoredBefore(ctx, m.reports, m.reportTable, ""); err != nil {
		return err
	}
	return r.removeStoredBefore(ctx, m.apps, m.appTable, "")
}

// mergeWindow compares one recomputed window with its aggregated_reports row
// and its app_reports rows.
func (r *runner) mergeWindow(ctx context.Context, m *reportMerge, w vaultWindow) error {
	if err := r.removeStoredBefore(ctx, m.reports, m.reportTable, w.reportID); err != nil {
		return err
	}
	stored, ok, err := m.reports.peek()
	if err != nil {
		return err
	}
	if ok && stored.reportID == w.reportID {
		m.reports.advance()
	} else {
		stored, ok = storedReport{}, false
	}
	m.reportTable.compared()
	expected := expectedReport{key: w.reportID, figures: w.figures, newestLoad: w.newestLoad}
	if err := r.matchReport(ctx, m, m.reportTable, expected, stored, ok); err != nil {
		return err
	}

	if err := r.removeStoredBefore(ctx, m.apps, m.appTable, w.reportID); err != nil {
		return err
	}
	next := 0
	for {
		stored, haveStored, err := m.apps.peek()
		if err != nil {
			return err
		}
		haveStored = haveStored && stored.reportID == w.reportID
		if next == len(w.apps) && !haveStored {
			return nil
		}
		m.appTable.compared()

		switch {
		case haveStored && (next == len(w.apps) || stored.appID < w.apps[next].appID):
			err = r.removeStored(ctx, m.appTable, stored)
			m.apps.advance()
		case !haveStored || w.apps[next].appID < stored.appID:
			app := w.apps[next]
			expected := expectedReport{key: w.reportID, appID: app.appID, figures: app.figures, newestLoad: app.newestLoad}
			err = r.matchReport(ctx, m, m.appTable, expected, storedReport{}, false)
			next++
		default:
			app := w.apps[next]
			expected := expectedReport{key: w.reportID, appID: app.appID, figures: app.figures, newestLoad: app.newestLoad}
			err = r.matchReport(ctx, m, m.appTable, expected, stored, true)
			next++
			m.apps.advance()
		}
		if err != nil {
			return err
		}
	}
}

// removeStoredBefore handles every stored row whose report_id sorts before
// reportID, or every remaining row when reportID is "". The vault has no
// events for those windows.
func (r *runner) removeStoredBefore(ctx context.Context, c *cursor[storedReport], t *table, reportID string) error {
	for {
		stored, ok, err := c.peek()
		if err != nil {
			return err
		}
		if !ok || (reportID != "" && stored.reportID >= reportID) {
			return nil
		}
		t.compared()
		if err := r.removeStored(ctx, t, stored); err != nil {
			return err
		}
		c.advance()
	}
}

// removeStored records a MySQL row without events in the vault as a
// difference and queues its deletion.
func (r *runner) removeStored(ctx context.Context, t *table, stored storedReport) error {
	t.differ(stored.key(), "", stored.figures.format(stored.appID == ""))
	if t.repair == nil {
		return nil
	}
	if stored.appID == "" {
		return t.repair.remove(ctx, stored.reportID)
	}
	return t.repair.remove(ctx, stored.reportID, stored.appID)
}

// expectedReport is a recomputed row of either report table. appID is ""
// for aggregated_reports.
type expectedReport struct {
	key        string
	appID      string
	figures    figures
	newestLoad time.Time
}

// matchReport compares a recomputed row with the stored row, if any.
func (r *runner) matchReport(ctx context.Context, m *reportMerge, t *table, e expectedReport,
	stored storedReport, haveStored bool) error {
	if haveStored && e.figures.equal(stored.figures) {
		return nil
	}
	if (!haveStored || e.newestLoad.After(stored.written)) && r.start.Sub(e.newestLoad) < PendingWindow {
		t.result.Pending++
		return nil
	}

	withGame := e.appID == ""
	key, actual := e.key, ""
	if !withGame {
		key += "/" + e.appID
	}
	if haveStored {
		actual = stored.figures.format(withGame)
	}
	t.differ(key, e.figures.format(withGame), actual)
	if t.repair == nil {
		return nil
	}

	f := e.figures
	if withGame {
		return t.repair.upsert(ctx, e.key, m.spec.Name, microsUTC(f.windowStart), microsUTC(f.windowEnd),
			f.totalSpins, moneyArg(f.totalPurchases), f.purchaseCount, nullMoneyArg(f.avgPurchase),
			nullTextArg(f.mostSpentGame), f.activeUsers, true, 1)
	}
	return t.repair.upsert(ctx, e.key, e.appID, m.spec.Name, microsUTC(f.windowStart), microsUTC(f.windowEnd),
		f.totalSpins, moneyArg(f.totalPurchases), f.purchaseCount, nullMoneyArg(f.avgPurchase),
		f.activeUsers, true, 1)
}
