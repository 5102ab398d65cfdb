package demo

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// RecreateDatabases drops and creates the database name on the PostgreSQL and
// MySQL servers that pgDSN and myDSN point at, and returns DSNs for the new
// databases. It never touches any other database.
func RecreateDatabases(ctx context.Context, pgDSN, myDSN, name string) (pgOut, myOut string, err error) {
	pgOut, err = recreatePostgres(ctx, pgDSN, name)
	if err != nil {
		return "", "", err
	}
	myOut, err = recreateMySQL(ctx, myDSN, name)
	if err != nil {
		return "", "", err
	}
	return pgOut, myOut, nil
}

func recreatePostgres(ctx context.Context, dsn, name string) (string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("dropping PostgreSQL database %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", fmt.Errorf("creating PostgreSQL database %s: %w", name, err)
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("postgres.dsn must be a URL such as postgres://user@host:5432/db to derive the demo database: %q", dsn)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func recreateMySQL(ctx context.Context, dsn, name string) (string, error) {
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("parsing mysql.dsn: %w", err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return "", err
	}
	defer db.Close()
	quoted := "`" + name + "`"
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoted); err != nil {
		return "", fmt.Errorf("dropping MySQL database %s: %w", name, err)
	}
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+quoted+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return "", fmt.Errorf("creating MySQL database %s: %w", name, err)
	}
	cfg.DBName = name
	return cfg.FormatDSN(), nil
}
