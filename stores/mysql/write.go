package mysql

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/shopspring/decimal"

	"github.com/gamestream/gamestream/internal/failpoint"
)

const (
	// maxRowsPerStatement caps the rows of one INSERT. With at most 13
	// columns that is 13,000 parameters, below the limit of 65,535
	// parameters per prepared statement.
	maxRowsPerStatement = 1000

	// Write runs its transaction at most maxWriteAttempts times when it
	// fails with a deadlock or a lock wait timeout.
	maxWriteAttempts = 4
	retryBaseDelay   = 50 * time.Millisecond
)

// MySQL error numbers after which the whole transaction can run again.
const (
	errLockWaitTimeout = 1205
	errDeadlock        = 1213
)

// maxMoney is the first value that no longer fits DECIMAL(20,2).
var maxMoney = decimal.New(1, 18)

// reportGuard is true when an incoming report row may replace the stored
// one: it must not turn a final row (is_final = 1) back into a provisional
// one, nor lower the revision.
//
// MySQL and MariaDB apply ON DUPLICATE KEY UPDATE assignments from left to
// right, and later assignments see the new values of earlier columns. The
// guard is safe under that rule: assigning is_final or revision changes
// them only when the guard holds, and then to VALUES(is_final) or
// VALUES(revision), which keeps it true. The two assignments still come
// last, so every other column is compared against the stored values.
const reportGuard = `VALUES(is_final) >= is_final AND VALUES(revision) >= revision`

var (
	profileColumns = []string{
		"uid", "email", "phone", "total_spins", "total_purchases", "purchase_count",
		"favorite_game", "last_event_at", "updated_at",
	}
	reportColumns = []string{
		"report_id", "report_type", "window_start", "window_end", "total_spins", "total_purchases",
		"purchase_count", "avg_purchase", "most_spent_game", "active_users", "`timestamp`",
		"is_final", "revision",
	}
	appReportColumns = []string{
		"report_id", "app_id", "report_type", "window_start", "window_end", "total_spins",
		"total_purchases", "purchase_count", "avg_purchase", "active_users", "`timestamp`",
		"is_final", "revision",
	}
)

// statement is one multi-row upsert of a Write.
type statement struct {
	table    string
	firstKey string
	rows     int
	query    string
	args     []any
}

// Write upserts profiles, window reports and per-app window reports in one
// transaction. Each row holds absolute values and replaces the stored row
// of its key, with one exception: a report row is kept when the incoming
// row would turn it from final back to provisional or lower its revision.
// updated_at and timestamp are set to writtenAt.
//
// Rows are sorted by key and sent in statements of up to 1,000 rows, so
// concurrent writers lock keys in the same order. When one call holds two
// rows with the same key, the later row is applied last. Money is rounded
// to two decimal places (half away from zero) and must be below 10^18 in
// magnitude to fit DECIMAL(20,2). Times are stored in UTC, truncated to
// microseconds.
//
// Write runs the transaction up to four times when it fails with a deadlock
// (error 1213) or a lock wait timeout (1205). After any returned error
// nothing of the call is stored.
func (r *Reports) Write(ctx context.Context, profiles []ProfileRow, reports []ReportRow,
	apps []AppReportRow, writtenAt time.Time) error {
	if writtenAt.IsZero() {
		return errors.New("write reports: writtenAt is the zero time")
	}

	statements, err := buildStatements(profiles, reports, apps, writtenAt)
	if err != nil {
		return fmt.Errorf("write reports: %w", err)
	}
	if len(statements) == 0 {
		return nil
	}

	for attempt := 1; ; attempt++ {
		err := r.writeOnce(ctx, statements)
		if err == nil {
			return nil
		}
		if !isRetryable(err) {
			return fmt.Errorf("write reports: %w", err)
		}
		if attempt == maxWriteAttempts {
			return fmt.Errorf("write reports: failed %d times: %w", attempt, err)
		}
		if err := sleepContext(ctx, time.Duration(attempt)*retryBaseDelay); err != nil {
			return fmt.Errorf("write reports: %w", err)
		}
	}
}

func (r *Reports) writeOnce(ctx context.Context, statements []statement) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // returns sql.ErrTxDone after Commit

	for _, s := range statements {
		if _, err := tx.ExecContext(ctx, s.query, s.args...); err != nil {
			return fmt.Errorf("upsert %d rows into %s (first key %q): %w", s.rows, s.table, s.firstKey, err)
		}
	}
	failpoint.Hit(failpoint.MySQLCommit)
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// buildStatements validates and sorts the rows and splits them into
// statements.
func buildStatements(profiles []ProfileRow, reports []ReportRow, apps []AppReportRow,
	writtenAt time.Time) ([]statement, error) {
	written := utcMicros(writtenAt)
	var statements []statement

	profiles = slices.Clone(profiles)
	slices.SortStableFunc(profiles, func(a, b ProfileRow) int { return cmp.Compare(a.UID, b.UID) })
	profileArgs := make([][]any, len(profiles))
	for i, p := range profiles {
		args, err := profileValues(p, written)
		if err != nil {
			return nil, fmt.Errorf("user_profiles uid %q: %w", p.UID, err)
		}
		profileArgs[i] = args
	}
	statements = appendUpserts(statements, "user_profiles", profileColumns, profileUpdate(), profileArgs,
		func(i int) string { return profiles[i].UID })

	reports = slices.Clone(reports)
	slices.SortStableFunc(reports, func(a, b ReportRow) int { return cmp.Compare(a.ReportID, b.ReportID) })
	reportArgs := make([][]any, len(reports))
	for i, rep := range reports {
		args, err := reportValues(rep, written)
		if err != nil {
			return nil, fmt.Errorf("aggregated_reports report_id %q: %w", rep.ReportID, err)
		}
		reportArgs[i] = args
	}
	statements = appendUpserts(statements, "aggregated_reports", reportColumns,
		guardedUpdate(reportColumns, 1), reportArgs,
		func(i int) string { return reports[i].ReportID })

	apps = slices.Clone(apps)
	slices.SortStableFunc(apps, func(a, b AppReportRow) int {
		return cmp.Or(cmp.Compare(a.ReportID, b.ReportID), cmp.Compare(a.AppID, b.AppID))
	})
	appArgs := make([][]any, len(apps))
	for i, app := range apps {
		args, err := appReportValues(app, written)
		if err != nil {
			return nil, fmt.Errorf("app_reports report_id %q app_id %q: %w", app.ReportID, app.AppID, err)
		}
		appArgs[i] = args
	}
	statements = appendUpserts(statements, "app_reports", appReportColumns,
		guardedUpdate(appReportColumns, 2), appArgs,
		func(i int) string { return apps[i].ReportID + "/" + apps[i].AppID })

	return statements, nil
}

// appendUpserts appends one statement per maxRowsPerStatement rows.
func appendUpserts(statements []statement, table string, columns []string, update string,
	rows [][]any, keyOf func(int) string) []statement {
	for start := 0; start < len(rows); start += maxRowsPerStatement {
		end := min(start+maxRowsPerStatement, len(rows))

		var query strings.Builder
		query.WriteString("INSERT INTO ")
		query.WriteString(table)
		query.WriteString(" (")
		query.WriteString(strings.Join(columns, ", "))
		query.WriteString(") VALUES ")
		placeholders := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
		args := make([]any, 0, (end-start)*len(columns))
		for i := start; i < end; i++ {
			if i > start {
				query.WriteString(", ")
			}
			query.WriteString(placeholders)
			args = append(args, rows[i]...)
		}
		query.WriteString(" ON DUPLICATE KEY UPDATE ")
		query.WriteString(update)

		statements = append(statements, statement{
			table:    table,
			firstKey: keyOf(start),
			rows:     end - start,
			query:    query.String(),
			args:     args,
		})
	}
	return statements
}

// profileUpdate replaces every column of a profile but its key.
func profileUpdate() string {
	assignments := make([]string, 0, len(profileColumns)-1)
	for _, c := range profileColumns[1:] {
		assignments = append(assignments, c+" = VALUES("+c+")")
	}
	return strings.Join(assignments, ", ")
}

// guardedUpdate replaces every column after the keyColumns first ones when
// reportGuard holds. reportColumns and appReportColumns end with is_final
// and revision, so those two are assigned last.
func guardedUpdate(columns []string, keyColumns int) string {
	assignments := make([]string, 0, len(columns)-keyColumns)
	for _, c := range columns[keyColumns:] {
		assignments = append(assignments, c+" = IF("+reportGuard+", VALUES("+c+"), "+c+")")
	}
	return strings.Join(assignments, ", ")
}

func profileValues(p ProfileRow, written time.Time) ([]any, error) {
	if p.UID == "" {
		return nil, errors.New("missing uid")
	}
	if p.LastEventAt.IsZero() {
		return nil, errors.New("missing last_event_at (zero time)")
	}
	total, err := money(p.TotalPurchases)
	if err != nil {
		return nil, fmt.Errorf("total_purchases: %w", err)
	}
	return []any{
		p.UID, nullText(p.Email), nullText(p.Phone), p.TotalSpins, total, p.PurchaseCount,
		nullText(p.FavoriteGame), utcMicros(p.LastEventAt), written,
	}, nil
}

func reportValues(r ReportRow, written time.Time) ([]any, error) {
	if r.ReportID == "" || r.ReportType == "" {
		return nil, errors.New("missing report_id or report_type")
	}
	if r.WindowStart.IsZero() || r.WindowEnd.IsZero() {
		return nil, errors.New("missing window_start or window_end (zero time)")
	}
	total, err := money(r.TotalPurchases)
	if err != nil {
		return nil, fmt.Errorf("total_purchases: %w", err)
	}
	avg, err := nullMoney(r.AvgPurchase)
	if err != nil {
		return nil, fmt.Errorf("avg_purchase: %w", err)
	}
	return []any{
		r.ReportID, r.ReportType, utcMicros(r.WindowStart), utcMicros(r.WindowEnd), r.TotalSpins, total,
		r.PurchaseCount, avg, nullText(r.MostSpentGame), r.ActiveUsers, written,
		r.IsFinal, int64(r.Revision),
	}, nil
}

func appReportValues(a AppReportRow, written time.Time) ([]any, error) {
	if a.ReportID == "" || a.ReportType == "" || a.AppID == "" {
		return nil, errors.New("missing report_id, report_type or app_id")
	}
	if a.WindowStart.IsZero() || a.WindowEnd.IsZero() {
		return nil, errors.New("missing window_start or window_end (zero time)")
	}
	total, err := money(a.TotalPurchases)
	if err != nil {
		return nil, fmt.Errorf("total_purchases: %w", err)
	}
	avg, err := nullMoney(a.AvgPurchase)
	if err != nil {
		return nil, fmt.Errorf("avg_purchase: %w", err)
	}
	return []any{
		a.ReportID, a.AppID, a.ReportType, utcMicros(a.WindowStart), utcMicros(a.WindowEnd), a.TotalSpins,
		total, a.PurchaseCount, avg, a.ActiveUsers, written,
		a.IsFinal, int64(a.Revision),
	}, nil
}

// money rounds d to two decimal places for a DECIMAL(20,2) column.
func money(d decimal.Decimal) (string, error) {
	rounded := d.Round(2)
	if rounded.Abs().GreaterThanOrEqual(maxMoney) {
		return "", fmt.Errorf("value %s out of range: DECIMAL(20,2) holds less than 10^18 in magnitude", d)
	}
	return rounded.StringFixed(2), nil
}

func nullMoney(d decimal.NullDecimal) (any, error) {
	if !d.Valid {
		return nil, nil
	}
	return money(d.Decimal)
}

// nullText returns nil for "" so that an empty optional field is stored as
// NULL.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// utcMicros returns t in UTC, truncated to the microseconds of DATETIME(6).
func utcMicros(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// isRetryable reports whether err is a deadlock or a lock wait timeout,
// after which the whole transaction can run again.
func isRetryable(err error) bool {
	var mysqlErr *mysql.MySQLError
	if !errors.As(err, &mysqlErr) {
		return false
	}
	return mysqlErr.Number == errDeadlock || mysqlErr.Number == errLockWaitTimeout
}

func sleepContext(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
