package mysql

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockTimeout bounds the wait for another process that is
// migrating the same database.
const migrationLockTimeout = 5 * time.Minute

// Migrate applies every pending migration of the read-model schema to the
// database at dsn. It records applied versions in goose_db_version, so a
// second call changes nothing. A named lock (GET_LOCK) serialises concurrent
// calls on the same database.
func Migrate(ctx context.Context, dsn string) error {
	db, err := openDB(ctx, dsn)
	if err != nil {
		return fmt.Errorf("migrate reports: %w", err)
	}
	defer db.Close()

	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate reports: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectMySQL, db, migrations,
		goose.WithSessionLocker(namedLocker{timeout: migrationLockTimeout}),
		// Ignore Go migrations that other packages register with goose's
		// global registry.
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrate reports: %w", err)
	}

	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("migrate reports: %w", err)
	}
	return nil
}

// namedLocker is a goose session locker built on GET_LOCK and RELEASE_LOCK,
// which MySQL and MariaDB both provide. The lock name contains the database
// name, so migrations of different databases on one server do not wait for
// each other. MySQL 8 limits lock names to 64 characters, so longer names
// are cut.
type namedLocker struct {
	timeout time.Duration
}

const lockNameSQL = `LEFT(CONCAT('gamestream.migrate.', DATABASE()), 64)`

// SessionLock waits up to l.timeout for the migration lock of the current
// database.
func (l namedLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	var acquired sql.NullInt64
	err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(`+lockNameSQL+`, ?)`, int(l.timeout.Seconds())).
		Scan(&acquired)
	if err != nil {
		return fmt.Errorf("get migration lock: %w", err)
	}
	if !acquired.Valid || acquired.Int64 != 1 {
		return fmt.Errorf("get migration lock: timed out after %s while another session held it", l.timeout)
	}
	return nil
}

// SessionUnlock releases the migration lock of the current database.
func (l namedLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var released sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT RELEASE_LOCK(`+lockNameSQL+`)`).Scan(&released); err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	if !released.Valid || released.Int64 != 1 {
		return errors.New("release migration lock: this session did not hold it")
	}
	return nil
}
