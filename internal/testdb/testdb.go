// Package testdb creates throwaway databases on the local PostgreSQL and
// MySQL/MariaDB servers for tests.
//
// Every database gets a unique name of the form gs_t_<16 hex digits>, so
// tests in several packages, runs and a demo can share one server. The
// database is dropped when the test ends.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Environment variables that override the admin connection of each server.
const (
	// PostgresEnv names a pgx URL of the PostgreSQL server's admin database.
	PostgresEnv = "GAMESTREAM_TEST_POSTGRES_URL"
	// MySQLEnv names a go-sql-driver DSN of the MySQL server's admin database.
	MySQLEnv = "GAMESTREAM_TEST_MYSQL_DSN"
)

// Default admin connections, used when the environment variables are unset.
const (
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultMySQLDSN    = "root@tcp(127.0.0.1:3306)/test"
)

// adminTimeout bounds each CREATE DATABASE or DROP DATABASE call.
const adminTimeout = 30 * time.Second

// Postgres creates a fresh database on the PostgreSQL server and returns its
// pgx URL. The database is dropped with WITH (FORCE) when t ends, which ends
// connections the test left open (PostgreSQL 13 or later).
//
// Postgres fails the test when the server is unreachable.
func Postgres(t testing.TB) string {
	t.Helper()

	adminURL := os.Getenv(PostgresEnv)
	if adminURL == "" {
		adminURL = DefaultPostgresURL
	}
	parsed, err := url.Parse(adminURL)
	if err != nil {
		t.Fatalf("testdb: invalid %s %q: %v", PostgresEnv, adminURL, err)
	}

	name := uniqueName(t)
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()

	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("testdb: connect to PostgreSQL at %s failed: %v\n"+
			"Start PostgreSQL 15 on that address with trust auth for user postgres "+
			"(for example `service postgresql start`), or set %s to a reachable admin database URL.",
			parsed.Redacted(), err, PostgresEnv)
	}
	defer conn.Close(context.Background())

	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testdb: create PostgreSQL database %s: %v", name, err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()

		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("testdb: connect to PostgreSQL at %s to drop %s: %v", parsed.Redacted(), name, err)
			return
		}
		defer conn.Close(context.Background())

		drop := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"
		if _, err := conn.Exec(ctx, drop); err != nil {
			t.Errorf("testdb: drop PostgreSQL database %s: %v", name, err)
		}
	})

	dsn := *parsed
	dsn.Path = "/" + name
	return dsn.String()
}

// MySQL creates a fresh database with the utf8mb4_bin collation on the
// MySQL/MariaDB server and returns its go-sql-driver DSN, which sets
// parseTime=true, loc=UTC, the session time zone +00:00 and
// multiStatements=true. The database is dropped when t ends.
//
// MySQL fails the test when the server is unreachable.
func MySQL(t testing.TB) string {
	t.Helper()

	adminDSN := os.Getenv(MySQLEnv)
	if adminDSN == "" {
		adminDSN = DefaultMySQLDSN
	}
	cfg, err := mysql.ParseDSN(adminDSN)
	if err != nil {
		t.Fatalf("testdb: invalid %s %q: %v", MySQLEnv, adminDSN, err)
	}

	name := uniqueName(t)
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()

	admin, err := openMySQL(ctx, cfg)
	if err != nil {
		t.Fatalf("testdb: connect to MySQL at %s failed: %v\n"+
			"Start MariaDB 10.11 or MySQL 8 on that address with user root and no password "+
			"(for example `service mariadb start`), or set %s to a reachable admin DSN.",
			cfg.Addr, err, MySQLEnv)
	}
	defer admin.Close()

	create := "CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
	if _, err := admin.ExecContext(ctx, create); err != nil {
		t.Fatalf("testdb: create MySQL database %s: %v", name, err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()

		admin, err := openMySQL(ctx, cfg)
		if err != nil {
			t.Errorf("testdb: connect to MySQL at %s to drop %s: %v", cfg.Addr, name, err)
			return
		}
		defer admin.Close()

		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Errorf("testdb: drop MySQL database %s: %v", name, err)
		}
	})

	dsn := cfg.Clone()
	dsn.DBName = name
	dsn.ParseTime = true
	dsn.Loc = time.UTC
	dsn.MultiStatements = true
	if dsn.Params == nil {
		dsn.Params = map[string]string{}
	}
	dsn.Params["time_zone"] = "'+00:00'"
	return dsn.FormatDSN()
}

// openMySQL opens a connection pool on cfg and pings the server.
func openMySQL(ctx context.Context, cfg *mysql.Config) (*sql.DB, error) {
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// uniqueName returns gs_t_ followed by 16 random hex digits.
func uniqueName(t testing.TB) string {
	t.Helper()

	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("testdb: read random bytes for a database name: %v", err)
	}
	return "gs_t_" + hex.EncodeToString(b[:])
}
