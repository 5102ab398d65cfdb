package testdb

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPostgresCreatesAndDrops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var dsn string
	var leftOpen *pgx.Conn
	defer func() {
		if leftOpen != nil {
			leftOpen.Close(context.Background())
		}
	}()
	t.Run("use", func(t *testing.T) {
		dsn = Postgres(t)

		conn, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err)
		defer conn.Close(ctx)

		var current string
		require.NoError(t, conn.QueryRow(ctx, "SELECT current_database()").Scan(&current))
		assert.True(t, strings.HasPrefix(current, "gs_t_"), "database name %q", current)

		// This connection stays open until the outer test ends, so the drop
		// in the subtest's cleanup must end it.
		leftOpen, err = pgx.Connect(ctx, dsn)
		require.NoError(t, err)
	})

	parsed, err := url.Parse(dsn)
	require.NoError(t, err)
	name := strings.TrimPrefix(parsed.Path, "/")

	adminURL := os.Getenv(PostgresEnv)
	if adminURL == "" {
		adminURL = DefaultPostgresURL
	}
	admin, err := pgx.Connect(ctx, adminURL)
	require.NoError(t, err)
	defer admin.Close(ctx)

	var exists bool
	require.NoError(t, admin.QueryRow(ctx,
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists))
	assert.False(t, exists, "database %s still exists after cleanup", name)
}

func TestMySQLCreatesAndDrops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var dsn string
	t.Run("use", func(t *testing.T) {
		dsn = MySQL(t)

		db, err := sql.Open("mysql", dsn)
		require.NoError(t, err)
		defer db.Close()

		var current, collation, zone string
		require.NoError(t, db.QueryRowContext(ctx,
			"SELECT DATABASE(), @@collation_database, @@session.time_zone").Scan(&current, &collation, &zone))
		assert.True(t, strings.HasPrefix(current, "gs_t_"), "database name %q", current)
		assert.Equal(t, "utf8mb4_bin", collation)
		assert.Equal(t, "+00:00", zone)
	})

	cfg, err := mysql.ParseDSN(dsn)
	require.NoError(t, err)
	assert.True(t, cfg.ParseTime)
	assert.Equal(t, time.UTC, cfg.Loc)

	adminDSN := os.Getenv(MySQLEnv)
	if adminDSN == "" {
		adminDSN = DefaultMySQLDSN
	}
	admin, err := sql.Open("mysql", adminDSN)
	require.NoError(t, err)
	defer admin.Close()

	var count int
	require.NoError(t, admin.QueryRowContext(ctx,
		"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", cfg.DBName).Scan(&count))
	assert.Zero(t, count, "database %s still exists after cleanup", cfg.DBName)
}
