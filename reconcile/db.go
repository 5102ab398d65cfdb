package reconcile

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	storesmysql "github.com/gamestream/gamestream/stores/mysql"
)

// closeTimeout bounds the ROLLBACK that ends a MySQL snapshot, which also
// runs after the context of Run has ended.
const closeTimeout = 10 * time.Second

// connectVault connects to the vault at dsn. Run uses this one connection
// for every vault query, one after another.
func connectVault(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse PostgreSQL DSN: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL at %s:%d database %s: %w",
			cfg.Host, cfg.Port, cfg.Database, err)
	}
	return conn, nil
}

// readModels is the MySQL connection pool of a Run.
type readModels struct {
	db *sql.DB
}

// openReadModels opens a pool on dsn with the connection options of
// stores/mysql and pings the server.
func openReadModels(ctx context.Context, dsn string) (*readModels, error) {
	cfg, err := storesmysql.ConnConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse MySQL DSN: %w", err)
	}

	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to MySQL at %s: %w", cfg.Addr, err)
	}
	db := sql.OpenDB(connector)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("ping MySQL at %s database %s: %w", cfg.Addr, cfg.DBName, err)
	}
	return &readModels{db: db}, nil
}

// Close closes every connection of the pool.
func (m *readModels) Close() {
	// The error only reports idle connections that failed to close
	// cleanly, which the caller cannot act on.
	_ = m.db.Close()
}

// snapshot is a MySQL connection inside a read-only transaction with a
// consistent snapshot, so its queries see the tables as of its start.
type snapshot struct {
	conn *sql.Conn
}

// snapshot starts a REPEATABLE READ transaction WITH CONSISTENT SNAPSHOT on
// a connection of its own. InnoDB creates the read view at once, not at the
// first read, so the snapshot is older than any vault query started after
// this call returns.
func (m *readModels) snapshot(ctx context.Context) (*snapshot, error) {
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("get a MySQL connection: %w", err)
	}
	// SET TRANSACTION applies to the next transaction only, so the
	// connection goes back to the pool with its session isolation level.
	for _, statement := range []string{
		"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
		"START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
	} {
		if _, err := conn.ExecContext(ctx, statement); err != nil {
			conn.Close()
			return nil, fmt.Errorf("start MySQL snapshot: %s: %w", statement, err)
		}
	}
	return &snapshot{conn: conn}, nil
}

// close ends the transaction and returns the connection to the pool. A
// connection whose ROLLBACK fails is discarded instead, so no later query
// runs inside the old transaction.
func (s *snapshot) close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()

	if _, err := s.conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		_ = s.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = s.conn.Close()
}

// cursor reads rows of one side of a merge one at a time and lets the
// caller look at the next row before consuming it. It checks that keys
// strictly increase, because the merge is only correct on sorted input.
type cursor[T any] struct {
	name    string
	read    func() (T, bool, error)
	compare func(a, b T) int
	keyOf   func(T) string

	row      T
	ok       bool
	loaded   bool
	previous T
	started  bool
}

func newCursor[T any](name string, read func() (T, bool, error), compare func(a, b T) int,
	keyOf func(T) string) *cursor[T] {
	return &cursor[T]{name: name, read: read, compare: compare, keyOf: keyOf}
}

// peek returns the next row without consuming it. ok is false at the end.
func (c *cursor[T]) peek() (row T, ok bool, err error) {
	if c.loaded {
		return c.row, c.ok, nil
	}
	row, ok, err = c.read()
	if err != nil {
		return row, false, fmt.Errorf("read %s: %w", c.name, err)
	}
	if ok && c.started && c.compare(c.previous, row) >= 0 {
		return row, false, fmt.Errorf("read %s: key %q follows %q: rows must be sorted by key in byte order "+
			"(utf8mb4_bin in MySQL)", c.name, c.keyOf(row), c.keyOf(c.previous))
	}
	c.row, c.ok, c.loaded = row, ok, true
	return row, ok, nil
}

// advance consumes the row that peek returned.
func (c *cursor[T]) advance() {
	if c.loaded && c.ok {
		c.previous, c.started = c.row, true
	}
	c.loaded = false
}

// rowSource is the part of pgx.Rows and *sql.Rows that rowReader uses.
type rowSource interface {
	Next() bool
	Err() error
}

// rowReader adapts pgx or database/sql rows to a cursor. scan reads the
// current row.
func rowReader[R rowSource, T any](rows R, scan func(R) (T, error)) func() (T, bool, error) {
	return func() (T, bool, error) {
		var zero T
		if !rows.Next() {
			return zero, false, rows.Err()
		}
		row, err := scan(rows)
		if err != nil {
			return zero, false, err
		}
		return row, true, nil
	}
}
