package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Migrations are the files migrations/NNNN_name.sql, applied once each in
// the order of NNNN and recorded in cato_schema_migrations. A migration
// whose first line is "-- cato:requires vector" is applied only where the
// server has pgvector (and later, once it has). To change the schema, add
// a file; never edit one that was released.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// requiresVector marks a migration that needs pgvector.
const requiresVector = "-- cato:requires vector"

// migrationLock is the pg_advisory_lock key that serialises migrations
// among replicas starting together ("cato" in ASCII, then "mig").
const migrationLock int64 = 0x6361746f_6d6967

type migration struct {
	version int
	name    string
	sql     string
	vector  bool
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", base)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, base, v)
		}
		seen[v] = base
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		sql := string(b)
		ms = append(ms, migration{version: v, name: base, sql: sql, vector: strings.HasPrefix(sql, requiresVector)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	return ms, nil
}

// migrate enables pgvector when wanted and possible, then applies the
// pending migrations, all under an advisory lock held on one connection.
// It returns whether pgvector is installed.
func migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS, vector VectorMode, log *slog.Logger) (bool, error) {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return false, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return false, fmt.Errorf("taking the migration lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must go even if ctx has ended.
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock); err != nil {
			conn.Conn().Close(context.Background()) // the lock dies with the session
		}
	}()

	hasVector, err := enableVector(ctx, conn.Conn(), vector, log)
	if err != nil {
		return false, err
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS cato_schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return false, fmt.Errorf("creating cato_schema_migrations: %w", err)
	}
	rows, err := conn.Query(ctx, "SELECT version FROM cato_schema_migrations")
	if err != nil {
		return false, err
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return false, fmt.Errorf("reading cato_schema_migrations: %w", err)
	}
	for _, m := range ms {
		if slices.Contains(applied, int32(m.version)) {
			continue
		}
		if m.vector && !hasVector {
			log.Info("migration waits for pgvector", slog.String("migration", m.name))
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// No arguments: the simple protocol, which runs several statements.
			if _, err := tx.Exec(ctx, m.sql, pgx.QueryExecModeSimpleProtocol); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO cato_schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return false, fmt.Errorf("applying migration %s: %w", m.name, err)
		}
		log.Info("applied migration", slog.String("migration", m.name))
	}
	return hasVector, nil
}

// enableVector installs pgvector if mode allows and the server has it, and
// reports whether it is installed.
func enableVector(ctx context.Context, conn *pgx.Conn, mode VectorMode, log *slog.Logger) (bool, error) {
	if mode == VectorOff {
		return false, nil
	}
	var installed, available bool
	err := conn.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector'),
		EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')`).Scan(&installed, &available)
	if err != nil {
		return false, fmt.Errorf("looking for pgvector: %w", err)
	}
	if !installed && available {
		if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector"); err != nil {
			log.Warn("pgvector is available but could not be enabled; vectors are searched in process", slog.Any("err", err))
		} else {
			installed = true
		}
	}
	if !installed && mode == VectorRequire {
		return false, fmt.Errorf("pgvector is required (vector=require) but the server does not have it")
	}
	return installed, nil
}
