package reconcile

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gamestream/gamestream/internal/testdb"
	"github.com/gamestream/gamestream/windows"
)

// sqlBounds assigns every instant with windowBoundsSQL on PostgreSQL.
func sqlBounds(t *testing.T, conn *pgx.Conn, spec windows.Spec, instants []time.Time) (starts, ends []time.Time) {
	t.Helper()
	bounds, err := windowBoundsSQL(spec, "e.created_at")
	require.NoError(t, err)

	query := `SELECT w.window_start, w.window_end
FROM unnest($1::timestamptz[]) WITH ORDINALITY AS e(created_at, i)
CROSS JOIN LATERAL (` + bounds + `) AS w(window_start, window_end)
ORDER BY e.i`
	rows, err := conn.Query(context.Background(), query, instants)
	require.NoError(t, err)
	var start, end time.Time
	_, err = pgx.ForEachRow(rows, []any{&start, &end}, func() error {
		starts = append(starts, start.UTC())
		ends = append(ends, end.UTC())
		return nil
	})
	require.NoError(t, err)
	require.Len(t, starts, len(instants))
	return starts, ends
}

// mismatches returns the instants whose SQL window differs from Assign,
// formatted for a failure message, and stops after 10.
func mismatches(t *testing.T, conn *pgx.Conn, spec windows.Spec, instants []time.Time) []string {
	t.Helper()
	starts, ends := sqlBounds(t, conn, spec, instants)
	var out []string
	for i, instant := range instants {
		wantStart, wantEnd := spec.Assign(instant)
		wantStart, wantEnd = wantStart.Truncate(time.Microsecond), wantEnd.Truncate(time.Microsecond)
		if starts[i].Equal(wantStart) && ends[i].Equal(wantEnd) {
			continue
		}
		out = append(out, instant.Format(time.RFC3339Nano)+": SQL ["+starts[i].Format(time.RFC3339Nano)+", "+
			ends[i].Format(time.RFC3339Nano)+"), Assign ["+wantStart.Format(time.RFC3339Nano)+", "+
			wantEnd.Format(time.RFC3339Nano)+")")
		if len(out) == 10 {
			break
		}
	}
	return out
}

// randomInstants returns n instants with microsecond precision, uniformly
// spread over [from, to).
func randomInstants(rng *rand.Rand, n int, from, to time.Time) []time.Time {
	span := to.Sub(from) / time.Microsecond
	out := make([]time.Time, n)
	for i := range out {
		out[i] = from.Add(time.Duration(rng.Int64N(int64(span))) * time.Microsecond).UTC()
	}
	return out
}

// transitionInstants returns instants every 15 minutes from 26 hours before
// to 26 hours after each clock change of location from 1970 to 2040, so they
// cover the local midnights next to each change.
func transitionInstants(location *time.Location) []time.Time {
	var out []time.Time
	at := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 400 {
		_, end := at.In(location).ZoneBounds()
		if end.IsZero() || end.Year() >= 2040 {
			break
		}
		for offset := -26 * time.Hour; offset <= 26*time.Hour; offset += 15 * time.Minute {
			out = append(out, end.Add(offset).UTC())
		}
		at = end
	}
	return out
}

// midnightInstants returns the instants 1µs before, at and 1µs after each
// local midnight of the days from first to last in location.
func midnightInstants(location *time.Location, first, last time.Time) []time.Time {
	var out []time.Time
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		midnight := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, location)
		out = append(out, midnight.Add(-time.Microsecond).UTC(), midnight.UTC(), midnight.Add(time.Microsecond).UTC())
	}
	return out
}

func newTestSpec(t *testing.T, size, zone string) windows.Spec {
	t.Helper()
	spec, err := windows.NewSpec(windows.SpecConfig{Name: "w", Size: size, TimeZone: zone, EmitInterval: time.Second})
	require.NoError(t, err)
	return spec
}

func TestWindowBoundsSQLFixedSizes(t *testing.T) {
	conn, err := pgx.Connect(context.Background(), testdb.Postgres(t))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })

	rng := rand.New(rand.NewPCG(1, 2))
	instants := randomInstants(rng, 3000, time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	instants = append(instants, randomInstants(rng, 3000, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC))...)
	instants = append(instants, randomInstants(rng, 3000, time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 4, 1, 0, 0, 0, 0, time.UTC))...)
	epoch := time.Unix(0, 0).UTC()
	for _, offset := range []time.Duration{-time.Second, -time.Microsecond, 0, time.Microsecond, 1500 * time.Millisecond} {
		instants = append(instants, epoch.Add(offset))
	}

	for _, size := range []string{"1s", "1500ms", "1m", "90s", "1h", "7h", "24h", "168h", "1000000500ns", "3.000001s"} {
		t.Run(size, func(t *testing.T) {
			spec := newTestSpec(t, size, "")
			require.Empty(t, mismatches(t, conn, spec, instants))
		})
	}
}

func TestWindowBoundsSQLCalendarZones(t *testing.T) {
	conn, err := pgx.Connect(context.Background(), testdb.Postgres(t))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })

	rng := rand.New(rand.NewPCG(3, 4))
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "America/Sao_Paulo", "America/Havana",
		"America/Santiago", "Asia/Beirut", "Asia/Kolkata", "Asia/Tehran", "Australia/Lord_Howe",
		"Pacific/Chatham", "Pacific/Apia", "Africa/Casablanca", "Europe/Dublin", "GMT", "EST"}
	for _, zone := range zones {
		location, err := time.LoadLocation(zone)
		require.NoError(t, err)

		instants := randomInstants(rng, 2000, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
		instants = append(instants, transitionInstants(location)...)
		instants = append(instants, midnightInstants(location, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 12, 31, 0, 0, 0, 0, time.UTC))...)

		for _, size := range []string{"day", "week", "month"} {
			t.Run(zone+"/"+size, func(t *testing.T) {
				spec := newTestSpec(t, size, zone)
				require.NoError(t, checkZone(context.Background(), conn, spec))
				require.Empty(t, mismatches(t, conn, spec, instants))
			})
		}
	}
}

func TestWindowBoundsSQLBerlinDSTDays(t *testing.T) {
	conn, err := pgx.Connect(context.Background(), testdb.Postgres(t))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })

	spec := newTestSpec(t, "day", "Europe/Berlin")
	springDay := time.Date(2021, 3, 28, 12, 0, 0, 0, time.UTC)
	autumnDay := time.Date(2021, 10, 31, 12, 0, 0, 0, time.UTC)
	starts, ends := sqlBounds(t, conn, spec, []time.Time{springDay, autumnDay})

	assert.Equal(t, time.Date(2021, 3, 27, 23, 0, 0, 0, time.UTC), starts[0])
	assert.Equal(t, time.Date(2021, 3, 28, 22, 0, 0, 0, time.UTC), ends[0], "23-hour day")
	assert.Equal(t, time.Date(2021, 10, 30, 22, 0, 0, 0, time.UTC), starts[1])
	assert.Equal(t, time.Date(2021, 10, 31, 23, 0, 0, 0, time.UTC), ends[1], "25-hour day")
}

func TestCheckZoneRejectsAbbreviation(t *testing.T) {
	conn, err := pgx.Connect(context.Background(), testdb.Postgres(t))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })

	err = checkZone(context.Background(), conn, newTestSpec(t, "day", "CET"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `time zone "CET" is also a PostgreSQL time zone abbreviation`)

	for _, zone := range []string{"UTC", "GMT", "EST", "Europe/Paris"} {
		assert.NoError(t, checkZone(context.Background(), conn, newTestSpec(t, "day", zone)), zone)
	}
}
