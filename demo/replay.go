package demo

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/gamestream/gamestream/configs"
	"github.com/gamestream/gamestream/reconcile"
	"github.com/gamestream/gamestream/router"
	"github.com/gamestream/gamestream/windows"
)

// ReplayCheck is the outcome of the replay that `demo --replay` runs after
// the first pass.
type ReplayCheck struct {
	// Elapsed is the duration of the replay, from the check of the consumer
	// group to the last MySQL write.
	Elapsed time.Duration
	// Rows is the number of MySQL rows compared before and after it.
	Rows int64
	// Identical reports whether every MySQL row, write times aside, is the
	// same after the replay as before it.
	Identical bool
	// Reconcile is the comparison of MySQL with the vault after the replay.
	Reconcile *reconcile.Result
}

// digestQueries select every MySQL column except the write times, in key
// order.
var digestQueries = []string{
	`SELECT uid, coalesce(email, ''), coalesce(phone, ''), total_spins, total_purchases, purchase_count,
		coalesce(favorite_game, ''), last_event_at FROM user_profiles ORDER BY uid`,
	`SELECT report_id, report_type, window_start, window_end, total_spins, total_purchases, purchase_count,
		coalesce(avg_purchase, ''), coalesce(most_spent_game, ''), active_users, is_final, revision
		FROM aggregated_reports ORDER BY report_id`,
	`SELECT report_id, app_id, report_type, window_start, window_end, total_spins, total_purchases, purchase_count,
		coalesce(avg_purchase, ''), active_users, is_final, revision FROM app_reports ORDER BY report_id, app_id`,
}

// digestMySQL returns a SHA-256 digest of the MySQL rows without their
// write times, and the number of rows.
func digestMySQL(ctx context.Context, dsn string) (string, int64, error) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return "", 0, err
	}
	defer db.Close()

	hash := sha256.New()
	var count int64
	for _, query := range digestQueries {
		rows, err := db.QueryContext(ctx, query)
		if err != nil {
			return "", 0, fmt.Errorf("reading MySQL for the digest: %w", err)
		}
		columns, err := rows.Columns()
		if err != nil {
			rows.Close()
			return "", 0, err
		}
		values := make([]sql.RawBytes, len(columns))
		targets := make([]any, len(columns))
		for i := range values {
			targets[i] = &values[i]
		}
		for rows.Next() {
			if err := rows.Scan(targets...); err != nil {
				rows.Close()
				return "", 0, err
			}
			line := make([]string, len(values))
			for i, v := range values {
				line[i] = string(v)
			}
			hash.Write([]byte(strings.Join(line, "\x1f") + "\n"))
			count++
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return "", 0, err
		}
		rows.Close()
	}
	return hex.EncodeToString(hash.Sum(nil)), count, nil
}

// replayAndCompare runs `gamestream replay` from the log start against the
// demo's broker and databases, and compares MySQL before and after it.
func replayAndCompare(ctx context.Context, base *configs.Config, specs []windows.Spec, logger *slog.Logger,
	out io.Writer) (*ReplayCheck, error) {
	before, rows, err := digestMySQL(ctx, base.MySQL.DSN)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := router.Replay(ctx, base, time.Time{}, logger, out); err != nil {
		return nil, fmt.Errorf("replaying the log: %w", err)
	}
	check := &ReplayCheck{Elapsed: time.Since(start), Rows: rows}
	after, _, err := digestMySQL(ctx, base.MySQL.DSN)
	if err != nil {
		return nil, err
	}
	check.Identical = before == after
	check.Reconcile, err = reconcile.Run(ctx, reconcile.Config{PostgresDSN: base.Postgres.DSN, MySQLDSN: base.MySQL.DSN, Specs: specs})
	if err != nil {
		return nil, fmt.Errorf("reconciling MySQL with the vault after the replay: %w", err)
	}
	return check, nil
}
