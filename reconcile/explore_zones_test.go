package reconcile

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/gamestream/gamestream/internal/testdb"
)

func TestExploreAllZones(t *testing.T) {
	conn, err := pgx.Connect(context.Background(), testdb.Postgres(t))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), "SELECT name FROM pg_timezone_names WHERE name NOT LIKE 'posix/%' AND name NOT LIKE 'right/%' ORDER BY name")
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	bad := 0
	for _, name := range names {
		loc, err := time.LoadLocation(name)
		if err != nil || name == "Local" {
			continue
		}
		var instants []time.Time
		at := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < 400 && at.Year() < 2040; i++ {
			_, end := at.In(loc).ZoneBounds()
			if end.IsZero() {
				break
			}
			for d := -26 * time.Hour; d <= 26*time.Hour; d += 15 * time.Minute {
				instants = append(instants, end.Add(d).UTC())
			}
			at = end
		}
		if len(instants) == 0 {
			continue
		}
		for _, size := range []string{"day", "week", "month"} {
			spec := newTestSpec(t, size, name)
			got := mismatches(t, conn, spec, instants)
			if len(got) > 0 {
				bad++
				t.Logf("%s/%s: %d+ mismatches, first: %v", name, size, len(got), got[0])
			}
		}
	}
	t.Logf("%d bad of %d", bad, len(names))
}
