// Package mysql writes the dashboard read models (user profiles, window
// reports and per-app window reports) to MySQL 8 or MariaDB 10.11.
//
// Every write upserts absolute values with INSERT ... ON DUPLICATE KEY
// UPDATE col = VALUES(col), the form both servers accept. Timestamps are
// stored as DATETIME(6) in UTC, and sessions run with time_zone '+00:00'.
package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/shopspring/decimal"
)

// ProfileRow is the current state of one user, a row of user_profiles.
type ProfileRow struct {
	UID string
	// Email and Phone are stored as NULL when empty.
	Email          string
	Phone          string
	TotalSpins     int64
	TotalPurchases decimal.Decimal
	PurchaseCount  int64
	// FavoriteGame is an app_id computed by the processor; "" is stored as
	// NULL.
	FavoriteGame string
	LastEventAt  time.Time
}

// ReportRow is one window report, a row of aggregated_reports.
type ReportRow struct {
	ReportID       string
	ReportType     string
	WindowStart    time.Time
	WindowEnd      time.Time
	TotalSpins     int64
	TotalPurchases decimal.Decimal
	PurchaseCount  int64
	// AvgPurchase is NULL when the window has no purchase.
	AvgPurchase decimal.NullDecimal
	// MostSpentGame is the app_id with the highest purchase total; "" is
	// stored as NULL.
	MostSpentGame string
	ActiveUsers   int64
	// IsFinal marks a report of a closed window. Revision counts the
	// versions of the report.
	IsFinal  bool
	Revision int
}

// AppReportRow is the report of one app in one window, a row of
// app_reports.
type AppReportRow struct {
	ReportID       string
	ReportType     string
	AppID          string
	WindowStart    time.Time
	WindowEnd      time.Time
	TotalSpins     int64
	TotalPurchases decimal.Decimal
	PurchaseCount  int64
	AvgPurchase    decimal.NullDecimal
	ActiveUsers    int64
	IsFinal        bool
	Revision       int
}

// ReportID returns the key of a report: reportType, a colon and windowStart
// in UTC RFC 3339, for example daily:2021-11-01T00:00:00Z. Sub-second parts
// of windowStart are dropped.
func ReportID(reportType string, windowStart time.Time) string {
	return reportType + ":" + windowStart.UTC().Format(time.RFC3339)
}

// Reports writes the read models. It is safe for concurrent use.
type Reports struct {
	db *sql.DB
}

// Open connects to the database at dsn (a go-sql-driver DSN) and pings it.
// Open overrides the DSN so that connections use parseTime=true, loc=UTC,
// the session time zone '+00:00' and client-side interpolation of
// parameters. It does not apply migrations, so call Migrate first.
func Open(ctx context.Context, dsn string) (*Reports, error) {
	db, err := openDB(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("open reports: %w", err)
	}
	return &Reports{db: db}, nil
}

// Close closes every connection. It waits for running queries to finish.
func (r *Reports) Close() {
	// The error only reports idle connections that failed to close
	// cleanly, which the caller cannot act on at shutdown.
	_ = r.db.Close()
}

// Ping checks that the database is reachable.
func (r *Reports) Ping(ctx context.Context) error {
	if err := r.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping reports: %w", err)
	}
	return nil
}

// ConnConfig parses dsn and sets the options that every connection to the
// read models needs: parseTime, loc=UTC, the session time zone '+00:00' and
// client-side interpolation, so DATETIME(6) values are read and written as
// UTC.
func ConnConfig(dsn string) (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse dsn: %w", err)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	// Interpolation saves the prepare round trip of each multi-row INSERT.
	// The driver rejects it for character sets where it would be unsafe.
	cfg.InterpolateParams = true
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	return cfg, nil
}

func openDB(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := ConnConfig(dsn)
	if err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.Addr, err)
	}
	db := sql.OpenDB(connector)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("ping %s database %s: %w", cfg.Addr, cfg.DBName, err)
	}
	return db, nil
}
