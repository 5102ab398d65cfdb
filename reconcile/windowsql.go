package reconcile

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

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
// in Go, also before 1970 and after 2262.
//
// Calendar windows truncate the local time in spec.Location and convert the
// local midnight back with AT TIME ZONE. Where local midnight is skipped by a
// DST gap that starts at midnight, PostgreSQL applies the offset before the
// gap and so returns the instant the gap ends, as Assign does.
//
// NOTE: Assign has extra rules for rare zones where a clock change crosses
// midnight: a gap that starts before midnight and ends after it, or local
// times before midnight that repeat after a change back. This SQL does not
// follow those rules, so it can disagree with Assign on such days (for
// example in America/Havana, where clocks go back from 01:00 to 00:00, so
// midnight occurs twice). The tests compare both for UTC, Europe/Berlin,
// America/New_York, America/Sao_Paulo and other zones whose changes keep
// midnight unique. PostgreSQL and Go also read separate copies of the IANA
// time zone database, which must be the same release.
func windowBoundsSQL(spec windows.Spec, column string) (string, error) {
	if spec.Fixed > 0 {
		return fixedBoundsSQL(spec.Fixed, column), nil
	}

	var step string
	switch spec.Unit {
	case windows.Day, windows.Week, windows.Month:
		step = spec.Unit.String()
	default:
		return "", fmt.Errorf("window spec %q: neither a fixed size nor a calendar unit", spec.Name)
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
//     the epoch. Both factors are below 2^53 for every year PostgreSQL
//     stores, so the float8 multiplications are exact.
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
