// Package postgres stores raw game events and final window reports in a
// PostgreSQL vault modelled on Data Vault 2.0, together with the Kafka
// offsets that the processor has committed.
//
// Hubs (hub_user, hub_app) and the link (link_user_app) keep the first time
// a business key was seen. Satellites keep one row per event, keyed by
// msg_id, so that a redelivered event is stored once. Every write of a batch
// and its offsets happens in one transaction.
package postgres

import (
	"context"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gamestream/gamestream/handlers"
)

// DefaultReportingCurrency is the reporting currency stored beside
// amount_reporting unless Open gets WithReportingCurrency.
const DefaultReportingCurrency = "USD"

// Record is one validated event and the Kafka position it was read from.
type Record struct {
	Event  handlers.Event
	Source handlers.Source
}

// TopicPartition names one Kafka partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String formats the partition as topic/partition.
func (tp TopicPartition) String() string {
	return fmt.Sprintf("%s/%d", tp.Topic, tp.Partition)
}

// Vault is the PostgreSQL event vault. It is safe for concurrent use.
type Vault struct {
	pool              *pgxpool.Pool
	reportingCurrency string
}

// Option configures a Vault in Open.
type Option func(*Vault) error

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// WithReportingCurrency sets the ISO 4217 code stored in
// satellite_purchase_info.reporting_currency, the currency of
// Event.AmountReporting. The default is DefaultReportingCurrency.
func WithReportingCurrency(code string) Option {
	return func(v *Vault) error {
		if !currencyCode.MatchString(code) {
			return fmt.Errorf("invalid reporting currency %q: expected three upper-case letters (ISO 4217)", code)
		}
		v.reportingCurrency = code
		return nil
	}
}

// Open connects a pool to the database at dsn (a pgx URL or key=value
// string) and pings it. Open does not apply migrations, so call Migrate first.
func Open(ctx context.Context, dsn string, opts ...Option) (*Vault, error) {
	v := &Vault{reportingCurrency: DefaultReportingCurrency}
	for _, opt := range opts {
		if err := opt(v); err != nil {
			return nil, fmt.Errorf("open vault: %w", err)
		}
	}

	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open vault: parse dsn: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open vault on %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open vault: ping %s:%d database %s: %w",
			cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}

	v.pool = pool
	return v, nil
}

// Close closes every connection of the pool. It waits for connections in
// use to be released.
func (v *Vault) Close() {
	v.pool.Close()
}

// Ping checks that the database is reachable.
func (v *Vault) Ping(ctx context.Context) error {
	if err := v.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping vault: %w", err)
	}
	return nil
}
