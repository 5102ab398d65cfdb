package reconcile

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gamestream/gamestream/windows"
)

// zoneNamePattern matches IANA time zone names, which are safe to embed in
// an SQL string literal.
var zoneNamePattern = regexp.MustCompile(`^[A-Za-z0-9_/+-]+$`)

// windowBoundsSQL returns a SELECT for a LATERAL join that yields the columns
// (window_start, window_end) of the window of spec that contains the
// timestamptz expression column. Both bounds are timestamptz values. They
// equal spec.Assign truncated to microseconds, the precision of PostgreSQL
// timestamps and of DATETIME(6).
//
// Fixed windows are computed in exact numeric nanoseconds since the Unix
// epoch, so sizes with a fraction of a second (or of a microsecond) align as
// in Go, also before 1970 and after 2262 (the int64 nanosecond limits).
//
// Calendar windows truncate the local time in spec.Location and convert the
// local midnight back with AT TIME ZONE. Where local midnight is skipped by a
// DST gap that starts at midnight, PostgreSQL applies the offset before the
// gap and so returns the instant the gap ends, as Assign does. Where clocks
// go back to midnight on the same date, so that midnight occurs twice (from
// 01:00 to 00:00 in America/Havana), the SQL picks the first occurrence, as
// Assign does.
//
// NOTE: Assign moves local times before midnight that repeat after a clock
// change back across midnight into the window of the next date. This SQL
// keeps them in the window of their own date, so both disagree on such days,
// which occurred in America/St_Johns, America/Goose_Bay and America/Moncton
// before 2011 and in Antarctica/Casey in 2010 (IANA time zone database
// 2025b). The tests compare both over every transition from 1970 to 2040 in
// a list of zones that includes Europe/Berlin, America/New_York,
// America/Sao_Paulo and America/Havana. PostgreSQL and Go also read separate
// copies of the time zone database, which must be the same release to
// agree.
func windowBoundsSQL(spec windows.Spec, column string) (string, error) {
	if spec.Fixed > 0 {
		return fixedBoundsSQL(spec.Fixed, column), nil
	}

	var step string
	switch spec.Unit {
	case windows.Day, windows.Week, windows.Month:
		step = spec.Unit.String()
	default:
		return "", fmt.Errorf("window spec %q: invalid size: neither fixed nor a calendar unit, so build it with windows.NewSpec", spec.Name)
	}

	name := locationName(spec.Location)
	if !zoneNamePattern.MatchString(name) {
		return "", fmt.Errorf("window spec %q: invalid time zone %q: want an IANA name such as Europe/Berlin", spec.Name, name)
	}
	zone := "'" + name + "'"
	// first is the earliest instant whose local time is the local timestamp
	// in column l. AT TIME ZONE returns the later instant when the local
	// time occurs twice, as midnight does where clocks go back from 01:00 to
	// 00:00 (America/Havana). The instant 1µs before it then already shows
	// a local time at or after l, and the earlier occurrence lies that far
	// back.
	first := func(l string) string {
		return fmt.Sprintf(`CASE WHEN (%[1]s AT TIME ZONE %[2]s - interval '1 microsecond') AT TIME ZONE %[2]s >= %[1]s
     THEN %[1]s AT TIME ZONE %[2]s - interval '1 microsecond'
          - ((%[1]s AT TIME ZONE %[2]s - interval '1 microsecond') AT TIME ZONE %[2]s - %[1]s)
     ELSE %[1]s AT TIME ZONE %[2]s END`, l, zone)
	}
	return fmt.Sprintf(`SELECT %s, %s
FROM (SELECT date_trunc('%s', %s AT TIME ZONE %s) AS local_start) AS l`,
		first("l.local_start"), first("(l.local_start + interval '1 "+step+"')"), step, column, zone), nil
}

// fixedBoundsSQL aligns the window to multiples of size since the Unix epoch,
// like windows.Spec.Assign. The nested SELECTs name every intermediate value
// once, so each row evaluates each step once:
//
//   - ns is the instant in nanoseconds (numeric, exact because timestamptz
//     has microsecond precision),
//   - start_ns is ns rounded down to a multiple of size (mod takes the sign
//     of its dividend, so mod(mod(x, s) + s, s) is the non-negative
//     remainder),
//   - start_us and end_us round the bounds down to whole microseconds,
//   - the outer SELECT adds whole seconds and the remaining microseconds to
//     the epoch. The float8 products (seconds times 10^6 microseconds) are
//     exact while the seconds stay below 2^53 / 15625, about 18,000 years
//     from 1970, which covers the years 1000 to 9999 that events can have.
func fixedBoundsSQL(size time.Duration, column string) string {
	sizeNs := strconv.FormatInt(int64(size), 10)
	toTime := func(us string) string {
		return fmt.Sprintf("'epoch'::timestamptz + div(%[1]s, 1000000)::float8 * interval '1 second'"+
			" + mod(%[1]s, 1000000)::float8 * interval '1 microsecond'", us)
	}
	return fmt.Sprintf(`SELECT %[1]s, %[2]s
FROM (SELECT %[3]s AS start_us, %[4]s AS end_us
      FROM (SELECT n.ns - mod(mod(n.ns, %[5]s) + %[5]s, %[5]s) AS start_ns
            FROM (SELECT extract(epoch FROM %[6]s) * 1000000000 AS ns) AS n) AS b) AS u`,
		toTime("u.start_us"), toTime("u.end_us"),
		floorDivSQL("b.start_ns", "1000"), floorDivSQL("(b.start_ns + "+sizeNs+")", "1000"),
		sizeNs, column)
}

// floorDivSQL returns SQL for floor(x / d) on integral numeric values. div
// truncates toward zero, so the non-negative remainder is subtracted first.
func floorDivSQL(x, d string) string {
	return fmt.Sprintf("div(%[1]s - mod(mod(%[1]s, %[2]s) + %[2]s, %[2]s), %[2]s)", x, d)
}

// locationName returns the IANA name of location, or UTC for nil.
func locationName(location *time.Location) string {
	if location == nil {
		return "UTC"
	}
	return location.String()
}

// zoneScanFrom and zoneScanTo bound the years over which checkZone compares
// a zone with a PostgreSQL abbreviation, and maxZoneTransitions bounds the
// steps of that walk.
var (
	zoneScanFrom = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	zoneScanTo   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

const maxZoneTransitions = 2000

// checkZone rejects a calendar spec whose zone name PostgreSQL reads as a
// time zone abbreviation with another meaning. AT TIME ZONE looks names up
// in pg_timezone_abbrevs before the IANA database, so 'CET' is the fixed
// offset +01:00 there, while Go's CET zone has summer time.
func checkZone(ctx context.Context, conn *pgx.Conn, spec windows.Spec) error {
	if spec.Fixed > 0 {
		return nil
	}
	name := locationName(spec.Location)

	var offsetSeconds int
	err := conn.QueryRow(ctx,
		`SELECT extract(epoch FROM utc_offset)::int FROM pg_timezone_abbrevs WHERE lower(abbrev) = lower($1) LIMIT 1`,
		name).Scan(&offsetSeconds)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("window spec %q: look up time zone %q in pg_timezone_abbrevs: %w", spec.Name, name, err)
	}

	location := spec.Location
	if location == nil {
		location = time.UTC
	}
	at := zoneScanFrom
	for range maxZoneTransitions {
		local := at.In(location)
		if _, offset := local.Zone(); offset != offsetSeconds {
			return fmt.Errorf("window spec %q: time zone %q is also a PostgreSQL time zone abbreviation for the fixed "+
				"offset %s, which AT TIME ZONE applies instead of the zone's offset %s at %s: use a region name such as Europe/Paris",
				spec.Name, name, formatOffset(offsetSeconds), formatOffset(offset), local.Format(time.RFC3339))
		}
		_, end := local.ZoneBounds()
		if end.IsZero() || !end.Before(zoneScanTo) {
			return nil
		}
		at = end
	}
	return nil
}

// formatOffset formats seconds east of UTC as +hh:mm.
func formatOffset(seconds int) string {
	sign := '+'
	if seconds < 0 {
		sign, seconds = '-', -seconds
	}
	return fmt.Sprintf("%c%02d:%02d", sign, seconds/3600, seconds%3600/60)
}
