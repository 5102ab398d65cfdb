package reconcile

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// maxRepairRows caps the rows of one repair statement. With at most 13
// columns that is 13,000 parameters, below the limit of 65,535 per prepared
// statement.
const maxRepairRows = 1000

// repairTable describes the columns of one MySQL table for the repair.
type repairTable struct {
	// columns lists every written column. The last one is the write time
	// (updated_at or timestamp), which the repairer appends to each row.
	columns []string
	// keyColumns is the number of leading columns that form the primary
	// key.
	keyColumns int
	// keptColumns are left unchanged when the row exists.
	keptColumns []string
}

var repairTables = map[string]repairTable{
	ProfilesTable: {
		columns: []string{"uid", "email", "phone", "total_spins", "total_purchases", "purchase_count",
			"favorite_game", "last_event_at", "updated_at"},
		keyColumns: 1,
	},
	ReportsTable: {
		columns: []string{"report_id", "report_type", "window_start", "window_end", "total_spins",
			"total_purchases", "purchase_count", "avg_purchase", "most_spent_game", "active_users",
			"is_final", "revision", "`timestamp`"},
		keyColumns:  1,
		keptColumns: []string{"revision"},
	},
	AppReportsTable: {
		columns: []string{"report_id", "app_id", "report_type", "window_start", "window_end", "total_spins",
			"total_purchases", "purchase_count", "avg_purchase", "active_users", "is_final", "revision",
			"`timestamp`"},
		keyColumns:  2,
		keptColumns: []string{"revision"},
	},
}

// repairer queues upserts and deletes for one table and sends them in
// statements of up to maxRepairRows rows. Rows arrive from the merge, so
// each statement holds keys in ascending order.
type repairer struct {
	db      *sql.DB
	table   string
	layout  repairTable
	upserts [][]any
	deletes [][]any
	// changed counts the rows upserted and deleted so far.
	changed int
}

func newRepairer(db *sql.DB, table string) *repairer {
	return &repairer{db: db, table: table, layout: repairTables[table]}
}

// upsert queues a row with a value for every column but the write time.
func (r *repairer) upsert(ctx context.Context, values ...any) error {
	if len(values) != len(r.layout.columns)-1 {
		return fmt.Errorf("repair %s: got %d values for %d columns", r.table, len(values), len(r.layout.columns)-1)
	}
	r.upserts = append(r.upserts, values)
	if len(r.upserts) >= maxRepairRows {
		return r.flushUpserts(ctx)
	}
	return nil
}

// remove queues the deletion of the row with the primary key values key.
func (r *repairer) remove(ctx context.Context, key ...any) error {
	if len(key) != r.layout.keyColumns {
		return fmt.Errorf("repair %s: got %d key values for %d key columns", r.table, len(key), r.layout.keyColumns)
	}
	r.deletes = append(r.deletes, key)
	if len(r.deletes) >= maxRepairRows {
		return r.flushDeletes(ctx)
	}
	return nil
}

// flush sends every queued row.
func (r *repairer) flush(ctx context.Context) error {
	if err := r.flushUpserts(ctx); err != nil {
		return err
	}
	return r.flushDeletes(ctx)
}

// flushUpserts sends one INSERT ... ON DUPLICATE KEY UPDATE col =
// VALUES(col) for the queued rows, which MariaDB 10.11 and MySQL 8 both
// accept. The write time is the current time in UTC.
func (r *repairer) flushUpserts(ctx context.Context) error {
	if len(r.upserts) == 0 {
		return nil
	}
	written := microsUTC(time.Now())
	columns := r.layout.columns

	var query strings.Builder
	query.WriteString("INSERT INTO " + r.table + " (" + strings.Join(columns, ", ") + ") VALUES ")
	placeholders := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
	args := make([]any, 0, len(r.upserts)*len(columns))
	for i, row := range r.upserts {
		if i > 0 {
			query.WriteString(", ")
		}
		query.WriteString(placeholders)
		args = append(args, row...)
		args = append(args, written)
	}

	query.WriteString(" ON DUPLICATE KEY UPDATE ")
	assignments := make([]string, 0, len(columns))
	for _, column := range columns[r.layout.keyColumns:] {
		if !slices.Contains(r.layout.keptColumns, column) {
			assignments = append(assignments, column+" = VALUES("+column+")")
		}
	}
	query.WriteString(strings.Join(assignments, ", "))

	if _, err := r.db.ExecContext(ctx, query.String(), args...); err != nil {
		return fmt.Errorf("repair: upsert %d rows into %s (first key %v): %w",
			len(r.upserts), r.table, r.upserts[0][:r.layout.keyColumns], err)
	}
	r.changed += len(r.upserts)
	r.upserts = r.upserts[:0]
	return nil
}

// flushDeletes sends one DELETE for the queued keys.
func (r *repairer) flushDeletes(ctx context.Context) error {
	if len(r.deletes) == 0 {
		return nil
	}
	keyColumns := r.layout.columns[:r.layout.keyColumns]
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(keyColumns)), ", ") + ")"

	var query strings.Builder
	query.WriteString("DELETE FROM " + r.table + " WHERE (" + strings.Join(keyColumns, ", ") + ") IN (")
	args := make([]any, 0, len(r.deletes)*len(keyColumns))
	for i, key := range r.deletes {
		if i > 0 {
			query.WriteString(", ")
		}
		query.WriteString(tuple)
		args = append(args, key...)
	}
	query.WriteString(")")

	result, err := r.db.ExecContext(ctx, query.String(), args...)
	if err != nil {
		return fmt.Errorf("repair: delete %d rows from %s (first key %v): %w", len(r.deletes), r.table, r.deletes[0], err)
	}
	deleted, err := result.RowsAffected()
	if err != nil {
		return fmt.Errorf("repair: count rows deleted from %s: %w", r.table, err)
	}
	r.changed += int(deleted)
	r.deletes = r.deletes[:0]
	return nil
}
