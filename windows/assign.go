package windows

import (
	"math/bits"
	"time"
)

// maxZoneSteps bounds the walk over zone transitions near one midnight. Real
// zones need at most two steps.
const maxZoneSteps = 4

// Assign returns the window [start, end) that contains t, with both bounds in
// UTC. s must come from NewSpec or ValidateSpecs.
//
// A calendar window starts at the first instant of its local date. Where a
// zone moved its clock back across midnight, as America/St_Johns did until
// 2010, the repeated local times before midnight belong to the window of the
// next date, so that windows stay contiguous.
func (s Spec) Assign(t time.Time) (start, end time.Time) {
	if s.Fixed > 0 {
		return s.assignFixed(t)
	}
	return s.assignCalendar(t)
}

// assignFixed aligns the window to multiples of s.Fixed since the Unix epoch.
// The remainder is computed from seconds and nanoseconds separately, so it
// does not overflow for instants outside the range of UnixNano.
func (s Spec) assignFixed(t time.Time) (time.Time, time.Time) {
	t = t.UTC()
	size := uint64(s.Fixed)

	secondsRemainder := t.Unix() % int64(size)
	if secondsRemainder < 0 {
		secondsRemainder += int64(size)
	}

	hi, lo := bits.Mul64(uint64(secondsRemainder), uint64(time.Second))
	remainder := (bits.Rem64(hi, lo, size) + uint64(t.Nanosecond())) % size

	start := t.Add(-time.Duration(remainder))
	return start, start.Add(s.Fixed)
}

func (s Spec) assignCalendar(t time.Time) (time.Time, time.Time) {
	location := s.Location
	if location == nil {
		location = time.UTC
	}

	first := s.firstDate(civilDate(t.In(location)))
	start := startOfDate(first, location)
	end := startOfDate(s.nextDate(first), location)

	// A zone whose clock jumps back across midnight shows a date twice, so
	// the window of the local date may not contain t. Step to the neighbour.
	for range maxZoneSteps {
		switch {
		case t.Before(start):
			first = s.previousDate(first)
			end = start
			start = startOfDate(first, location)
		case !t.Before(end):
			first = s.nextDate(first)
			start = end
			end = startOfDate(s.nextDate(first), location)
		default:
			return start, end
		}
	}
	return start, end
}

// firstDate returns the first date of the calendar unit that contains date.
// Dates are midnight UTC values that stand for a calendar date.
func (s Spec) firstDate(date time.Time) time.Time {
	switch s.Unit {
	case Week:
		daysSinceMonday := (int(date.Weekday()) + 6) % 7
		return date.AddDate(0, 0, -daysSinceMonday)
	case Month:
		return time.Date(date.Year(), date.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return date
}

func (s Spec) nextDate(first time.Time) time.Time {
	switch s.Unit {
	case Week:
		return first.AddDate(0, 0, 7)
	case Month:
		return first.AddDate(0, 1, 0)
	}
	return first.AddDate(0, 0, 1)
}

func (s Spec) previousDate(first time.Time) time.Time {
	switch s.Unit {
	case Week:
		return first.AddDate(0, 0, -7)
	case Month:
		return first.AddDate(0, -1, 0)
	}
	return first.AddDate(0, 0, -1)
}

// civilDate returns the calendar date of t in its own location as midnight UTC.
func civilDate(t time.Time) time.Time {
	year, month, day := t.Date()
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
}

// startOfDate returns the first instant, in UTC, whose calendar date in
// location is date. time.Date alone is not enough: when midnight falls into a
// DST gap it may return an instant of the previous date, and when midnight
// occurs twice it may return the second one.
func startOfDate(date time.Time, location *time.Location) time.Time {
	year, month, day := date.Date()
	start := time.Date(year, month, day, 0, 0, 0, 0, location)

	for range maxZoneSteps {
		local := start.In(location)
		if civilDate(local).Before(date) {
			// Midnight is in a gap, so the date begins at the transition that ends the gap.
			_, zoneEnd := local.ZoneBounds()
			if zoneEnd.IsZero() {
				break
			}
			start = zoneEnd
			continue
		}

		before := start.Add(-time.Nanosecond).In(location)
		if civilDate(before).Before(date) {
			break
		}

		// The instant before start is already on date, so the date began in
		// the previous zone period: at its midnight, or at its start if that
		// period itself began during the date.
		zoneStart, _ := before.ZoneBounds()
		_, offset := before.Zone()
		start = time.Date(year, month, day, 0, 0, 0, 0, time.FixedZone("", offset))
		if start.Before(zoneStart) {
			start = zoneStart
		}
	}

	return start.UTC()
}
