package windows

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// utc parses an RFC 3339 instant and fails the test on a typo.
func utc(t *testing.T, value string) time.Time {
	t.Helper()

	parsed, err := time.Parse(time.RFC3339Nano, value)
	require.NoError(t, err)
	return parsed.UTC()
}

func mustSpec(t *testing.T, c SpecConfig) Spec {
	t.Helper()

	if c.Name == "" {
		c.Name = "test"
	}
	if c.EmitInterval == 0 {
		c.EmitInterval = 5 * time.Second
	}

	spec, err := NewSpec(c)
	require.NoError(t, err)
	return spec
}

type assignCase struct {
	name      string
	size      string
	timeZone  string
	at        string
	wantStart string
	wantEnd   string
}

func runAssignCases(t *testing.T, cases []assignCase) {
	t.Helper()

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := mustSpec(t, SpecConfig{Size: tc.size, TimeZone: tc.timeZone})

			start, end := spec.Assign(utc(t, tc.at))

			require.Equal(t, utc(t, tc.wantStart), start, "start")
			require.Equal(t, utc(t, tc.wantEnd), end, "end")
			require.Equal(t, time.UTC, start.Location(), "start location")
			require.Equal(t, time.UTC, end.Location(), "end location")
		})
	}
}

func TestAssignFixed(t *testing.T) {
	runAssignCases(t, []assignCase{
		{"1m inside", "1m", "", "2024-05-01T12:34:56.789Z", "2024-05-01T12:34:00Z", "2024-05-01T12:35:00Z"},
		{"1m at start", "1m", "", "2024-05-01T12:34:00Z", "2024-05-01T12:34:00Z", "2024-05-01T12:35:00Z"},
		{"1m last nanosecond", "1m", "", "2024-05-01T12:34:59.999999999Z", "2024-05-01T12:34:00Z", "2024-05-01T12:35:00Z"},
		{"1m at end is next", "1m", "", "2024-05-01T12:35:00Z", "2024-05-01T12:35:00Z", "2024-05-01T12:36:00Z"},
		{"1m before epoch", "1m", "", "1969-12-31T23:59:30Z", "1969-12-31T23:59:00Z", "1970-01-01T00:00:00Z"},
		{"1m after 2262", "1m", "UTC", "2300-01-01T00:00:30Z", "2300-01-01T00:00:00Z", "2300-01-01T00:01:00Z"},
		{"1h inside", "1h", "", "2024-05-01T12:59:59Z", "2024-05-01T12:00:00Z", "2024-05-01T13:00:00Z"},
		{"1h at start", "1h", "", "2024-05-01T13:00:00Z", "2024-05-01T13:00:00Z", "2024-05-01T14:00:00Z"},
		{"15m inside", "15m", "", "2024-05-01T12:44:59Z", "2024-05-01T12:30:00Z", "2024-05-01T12:45:00Z"},
		{"15m at end is next", "15m", "", "2024-05-01T12:45:00Z", "2024-05-01T12:45:00Z", "2024-05-01T13:00:00Z"},
		{"24h is a UTC day", "24h", "", "2024-05-01T23:59:59Z", "2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"},
		// 1970-01-01 was a Thursday, so epoch-aligned 168h windows start on Thursdays.
		{"168h starts on Thursday", "168h", "", "2024-05-01T12:00:00Z", "2024-04-25T00:00:00Z", "2024-05-02T00:00:00Z"},
		{"1.5s after epoch", "1.5s", "", "1970-01-01T00:00:04Z", "1970-01-01T00:00:03Z", "1970-01-01T00:00:04.5Z"},
		{"1.5s before epoch", "1.5s", "", "1969-12-31T23:59:59Z", "1969-12-31T23:59:58.5Z", "1970-01-01T00:00:00Z"},
	})
}

func TestAssignFixedNonUTCInput(t *testing.T) {
	spec := mustSpec(t, SpecConfig{Size: "1h"})
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)

	start, end := spec.Assign(time.Date(2024, 5, 1, 14, 30, 0, 0, berlin))

	require.Equal(t, utc(t, "2024-05-01T12:00:00Z"), start)
	require.Equal(t, utc(t, "2024-05-01T13:00:00Z"), end)
}

func TestAssignDaily(t *testing.T) {
	runAssignCases(t, []assignCase{
		{"UTC at start", "day", "", "2024-05-01T00:00:00Z", "2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"},
		{"UTC last nanosecond", "day", "UTC", "2024-05-01T23:59:59.999999999Z", "2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"},
		{"UTC at end is next", "day", "", "2024-05-02T00:00:00Z", "2024-05-02T00:00:00Z", "2024-05-03T00:00:00Z"},
		{"Berlin spring forward is 23h", "day", "Europe/Berlin", "2024-03-31T12:00:00Z", "2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z"},
		{"Berlin spring forward at start", "day", "Europe/Berlin", "2024-03-30T23:00:00Z", "2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z"},
		{"Berlin day before spring forward", "day", "Europe/Berlin", "2024-03-30T22:59:59Z", "2024-03-29T23:00:00Z", "2024-03-30T23:00:00Z"},
		{"Berlin day after spring forward", "day", "Europe/Berlin", "2024-03-31T22:00:00Z", "2024-03-31T22:00:00Z", "2024-04-01T22:00:00Z"},
		{"Berlin fall back is 25h", "day", "Europe/Berlin", "2024-10-27T12:00:00Z", "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z"},
		{"Berlin fall back first 02:30", "day", "Europe/Berlin", "2024-10-27T00:30:00Z", "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z"},
		{"Berlin fall back second 02:30", "day", "Europe/Berlin", "2024-10-27T01:30:00Z", "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z"},
		{"New York spring forward is 23h", "day", "America/New_York", "2024-03-10T12:00:00Z", "2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z"},
		{"New York fall back is 25h", "day", "America/New_York", "2024-11-03T12:00:00Z", "2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z"},
		{"New York fall back first 01:30", "day", "America/New_York", "2024-11-03T05:30:00Z", "2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z"},
		{"New York fall back second 01:30", "day", "America/New_York", "2024-11-03T06:30:00Z", "2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z"},
		// Havana and the Azores move their clocks at midnight, so the local
		// date begins at the transition or at the first of two midnights.
		{"Havana midnight in gap", "day", "America/Havana", "2024-03-10T12:00:00Z", "2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z"},
		{"Havana day before gap", "day", "America/Havana", "2024-03-10T04:30:00Z", "2024-03-09T05:00:00Z", "2024-03-10T05:00:00Z"},
		{"Havana repeated midnight", "day", "America/Havana", "2024-11-03T12:00:00Z", "2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z"},
		{"Havana second midnight", "day", "America/Havana", "2024-11-03T05:00:00Z", "2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z"},
		{"Azores midnight in gap", "day", "Atlantic/Azores", "2024-03-31T12:00:00Z", "2024-03-31T01:00:00Z", "2024-04-01T00:00:00Z"},
		// Amman moved its clock back from 01:00 to 00:00 in 1998, so the
		// date began at the first of two midnights, in summer time.
		{"Amman first of two midnights", "day", "Asia/Amman", "1998-09-18T12:00:00Z", "1998-09-17T21:00:00Z", "1998-09-18T22:00:00Z"},
		{"Amman 00:30 summer time", "day", "Asia/Amman", "1998-09-17T21:30:00Z", "1998-09-17T21:00:00Z", "1998-09-18T22:00:00Z"},
		{"Amman day before", "day", "Asia/Amman", "1998-09-17T20:59:59Z", "1998-09-16T21:00:00Z", "1998-09-17T21:00:00Z"},
		// St. John's moved its clock back from 00:01 to 23:01 of the previous
		// date until 2010. The repeated minutes before midnight belong to the
		// next date's window, so that windows stay contiguous.
		{"St Johns before midnight", "day", "America/St_Johns", "2010-11-07T02:29:00Z", "2010-11-06T02:30:00Z", "2010-11-07T02:30:00Z"},
		{"St Johns first minute", "day", "America/St_Johns", "2010-11-07T02:30:30Z", "2010-11-07T02:30:00Z", "2010-11-08T03:30:00Z"},
		{"St Johns repeated 23:15", "day", "America/St_Johns", "2010-11-07T02:45:00Z", "2010-11-07T02:30:00Z", "2010-11-08T03:30:00Z"},
		{"Kolkata half-hour offset", "day", "Asia/Kolkata", "2024-05-01T18:29:59Z", "2024-04-30T18:30:00Z", "2024-05-01T18:30:00Z"},
	})
}

func TestAssignWeekly(t *testing.T) {
	runAssignCases(t, []assignCase{
		{"UTC week across new year", "week", "", "2024-12-31T10:00:00Z", "2024-12-30T00:00:00Z", "2025-01-06T00:00:00Z"},
		{"UTC Sunday last nanosecond", "week", "", "2025-01-05T23:59:59.999999999Z", "2024-12-30T00:00:00Z", "2025-01-06T00:00:00Z"},
		{"UTC Monday at start", "week", "", "2024-12-30T00:00:00Z", "2024-12-30T00:00:00Z", "2025-01-06T00:00:00Z"},
		{"UTC Sunday before", "week", "", "2024-12-29T23:59:59Z", "2024-12-23T00:00:00Z", "2024-12-30T00:00:00Z"},
		{"UTC 2021-01-01 is in ISO week 53", "week", "", "2021-01-01T12:00:00Z", "2020-12-28T00:00:00Z", "2021-01-04T00:00:00Z"},
		{"Berlin week with spring forward", "week", "Europe/Berlin", "2024-03-27T12:00:00Z", "2024-03-24T23:00:00Z", "2024-03-31T22:00:00Z"},
		{"Berlin Monday 00:30 local", "week", "Europe/Berlin", "2024-12-29T23:30:00Z", "2024-12-29T23:00:00Z", "2025-01-05T23:00:00Z"},
		{"New York Sunday evening local", "week", "America/New_York", "2024-12-30T03:00:00Z", "2024-12-23T05:00:00Z", "2024-12-30T05:00:00Z"},
	})
}

func TestAssignMonthly(t *testing.T) {
	runAssignCases(t, []assignCase{
		{"UTC leap day", "month", "", "2024-02-29T12:00:00Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"UTC February without leap day", "month", "", "2023-02-28T23:59:59Z", "2023-02-01T00:00:00Z", "2023-03-01T00:00:00Z"},
		{"UTC December", "month", "", "2024-12-31T23:59:59Z", "2024-12-01T00:00:00Z", "2025-01-01T00:00:00Z"},
		{"UTC January at start", "month", "", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"},
		{"Berlin March with spring forward", "month", "Europe/Berlin", "2024-03-15T12:00:00Z", "2024-02-29T23:00:00Z", "2024-03-31T22:00:00Z"},
		{"Berlin April 1 00:30 local", "month", "Europe/Berlin", "2024-03-31T22:30:00Z", "2024-03-31T22:00:00Z", "2024-04-30T22:00:00Z"},
		{"Berlin December to January", "month", "Europe/Berlin", "2024-12-31T23:30:00Z", "2024-12-31T23:00:00Z", "2025-01-31T23:00:00Z"},
	})
}

// TestAssignCalendarTiling walks consecutive calendar windows in zones with
// DST changes, including changes at midnight and across midnight, and checks
// that they tile time without gaps or overlaps and start at local midnight or
// at the transition that skips it.
func TestAssignCalendarTiling(t *testing.T) {
	const recentFirst, recentLast = "2023-12-01T00:00:00Z", "2025-02-01T00:00:00Z"

	tests := []struct {
		zone  string
		first string
		last  string
	}{
		{"UTC", recentFirst, recentLast},
		{"Europe/Berlin", recentFirst, recentLast},
		{"America/New_York", recentFirst, recentLast},
		{"America/Havana", recentFirst, recentLast},
		{"Atlantic/Azores", recentFirst, recentLast},
		{"America/Santiago", recentFirst, recentLast},
		{"Australia/Lord_Howe", recentFirst, recentLast},
		{"Asia/Kolkata", recentFirst, recentLast},
		{"Asia/Amman", "1998-01-01T00:00:00Z", "1999-01-01T00:00:00Z"},
		{"America/St_Johns", "2010-01-01T00:00:00Z", "2011-01-01T00:00:00Z"},
	}

	for _, tc := range tests {
		for _, size := range []string{"day", "week", "month"} {
			t.Run(tc.zone+" "+size, func(t *testing.T) {
				spec := mustSpec(t, SpecConfig{Size: size, TimeZone: tc.zone})
				last := utc(t, tc.last)
				start, end := spec.Assign(utc(t, tc.first))

				for step := 0; step < 500 && start.Before(last); step++ {
					require.True(t, end.After(start), "window %s has no length", start)

					insideStart, insideEnd := spec.Assign(end.Add(-time.Nanosecond))
					require.Equal(t, start, insideStart, "start of window before %s", end)
					require.Equal(t, end, insideEnd, "end of window before %s", end)

					localStart := start.In(spec.Location)
					localBefore := start.Add(-time.Nanosecond).In(spec.Location)
					require.NotEqual(t, civilDate(localBefore), civilDate(localStart), "window start %s is not the first instant of a date", start)
					require.LessOrEqual(t, localStart.Hour(), 1, "window start %s is far from local midnight", localStart)

					nextStart, nextEnd := spec.Assign(end)
					require.Equal(t, end, nextStart, "window after %s", start)
					start, end = nextStart, nextEnd
				}
				require.False(t, start.Before(last), "walk stopped before %s", last)
			})
		}
	}
}

func TestNewSpecValid(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)

	tests := []struct {
		name   string
		config SpecConfig
		want   Spec
	}{
		{
			name:   "fixed minute",
			config: SpecConfig{Name: "minute", Size: "1m", EmitInterval: 5 * time.Second},
			want:   Spec{Name: "minute", Fixed: time.Minute, Location: time.UTC, EmitInterval: 5 * time.Second},
		},
		{
			name:   "fixed with UTC and lateness",
			config: SpecConfig{Name: "quarter_hour", Size: "15m", TimeZone: "UTC", AllowedLateness: time.Minute, EmitInterval: time.Second},
			want:   Spec{Name: "quarter_hour", Fixed: 15 * time.Minute, Location: time.UTC, AllowedLateness: time.Minute, EmitInterval: time.Second},
		},
		{
			name:   "minimum fixed size",
			config: SpecConfig{Name: "second", Size: "1s", EmitInterval: time.Second},
			want:   Spec{Name: "second", Fixed: time.Second, Location: time.UTC, EmitInterval: time.Second},
		},
		{
			name:   "daily in Berlin",
			config: SpecConfig{Name: "daily_berlin", Size: "day", TimeZone: "Europe/Berlin", EmitInterval: time.Minute},
			want:   Spec{Name: "daily_berlin", Unit: Day, Location: berlin, EmitInterval: time.Minute},
		},
		{
			name:   "weekly with empty zone",
			config: SpecConfig{Name: "weekly", Size: "week", EmitInterval: time.Minute},
			want:   Spec{Name: "weekly", Unit: Week, Location: time.UTC, EmitInterval: time.Minute},
		},
		{
			name:   "monthly with 64 character name",
			config: SpecConfig{Name: strings.Repeat("m", 64), Size: "month", EmitInterval: time.Minute},
			want:   Spec{Name: strings.Repeat("m", 64), Unit: Month, Location: time.UTC, EmitInterval: time.Minute},
		},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := NewSpec(tc.config)

			require.NoError(t, err)
			require.Equal(t, tc.want.Name, spec.Name, "name")
			require.Equal(t, tc.want.Fixed, spec.Fixed, "fixed")
			require.Equal(t, tc.want.Unit, spec.Unit, "unit")
			require.Equal(t, tc.want.Location.String(), spec.Location.String(), "location")
			require.Equal(t, tc.want.AllowedLateness, spec.AllowedLateness, "allowed lateness")
			require.Equal(t, tc.want.EmitInterval, spec.EmitInterval, "emit interval")
		})
	}
}

func TestNewSpecInvalid(t *testing.T) {
	valid := SpecConfig{Name: "daily", Size: "day", EmitInterval: time.Second}
	with := func(change func(*SpecConfig)) SpecConfig {
		c := valid
		change(&c)
		return c
	}

	tests := []struct {
		name    string
		config  SpecConfig
		wantErr string
	}{
		{"empty name", with(func(c *SpecConfig) { c.Name = "" }), `name: missing value: want 1 to 64 characters from a-z, 0-9 and _`},
		{"upper-case name", with(func(c *SpecConfig) { c.Name = "Daily" }), `name: invalid value "Daily"`},
		{"name with dash", with(func(c *SpecConfig) { c.Name = "per-minute" }), `name: invalid value "per-minute"`},
		{"name with space", with(func(c *SpecConfig) { c.Name = "per minute" }), `name: invalid value "per minute"`},
		{"name of 65 characters", with(func(c *SpecConfig) { c.Name = strings.Repeat("a", 65) }), `name: invalid value "` + strings.Repeat("a", 65) + `"`},
		{"empty size", with(func(c *SpecConfig) { c.Size = "" }), `size: invalid value "": want a duration such as 1m or one of day, week, month`},
		{"unknown unit", with(func(c *SpecConfig) { c.Size = "2x" }), `size: invalid value "2x": want a duration such as 1m or one of day, week, month`},
		{"capitalised unit", with(func(c *SpecConfig) { c.Size = "Day" }), `size: invalid value "Day"`},
		{"days suffix", with(func(c *SpecConfig) { c.Size = "1d" }), `size: invalid value "1d"`},
		{"zero size", with(func(c *SpecConfig) { c.Size = "0s" }), `size: invalid value "0s": want a duration of at least 1s or one of day, week, month`},
		{"negative size", with(func(c *SpecConfig) { c.Size = "-1m" }), `size: invalid value "-1m": want a duration of at least 1s`},
		{"size below 1s", with(func(c *SpecConfig) { c.Size = "500ms" }), `size: invalid value "500ms": want a duration of at least 1s`},
		{"unknown zone", with(func(c *SpecConfig) { c.TimeZone = "Mars/Olympus_Mons" }), `timezone: invalid value "Mars/Olympus_Mons": want an IANA time zone name such as Europe/Berlin`},
		{"machine zone", with(func(c *SpecConfig) { c.TimeZone = "Local" }), `timezone: invalid value "Local": want an IANA time zone name`},
		{"zone on fixed size", with(func(c *SpecConfig) { c.Size = "1h"; c.TimeZone = "Europe/Berlin" }), `timezone: invalid value "Europe/Berlin" for size "1h": fixed sizes align to the Unix epoch in UTC`},
		{"negative lateness", with(func(c *SpecConfig) { c.AllowedLateness = -time.Second }), `allowed_lateness: invalid value -1s: want 0 or more`},
		{"zero emit interval", with(func(c *SpecConfig) { c.EmitInterval = 0 }), `emit_interval: invalid value 0s: want more than 0`},
		{"negative emit interval", with(func(c *SpecConfig) { c.EmitInterval = -5 * time.Second }), `emit_interval: invalid value -5s: want more than 0`},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSpec(tc.config)

			require.Error(t, err)
			require.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestValidateSpecs(t *testing.T) {
	minute := SpecConfig{Name: "minute", Size: "1m", EmitInterval: time.Second}
	hourly := SpecConfig{Name: "hourly", Size: "1h", EmitInterval: time.Second}
	badSize := SpecConfig{Name: "bad", Size: "2x", EmitInterval: time.Second}

	tests := []struct {
		name      string
		configs   []SpecConfig
		wantErr   string
		wantNames []string
	}{
		{"nil list", nil, "windows: missing value: want at least one window spec", nil},
		{"empty list", []SpecConfig{}, "windows: missing value: want at least one window spec", nil},
		{"invalid size at index 2", []SpecConfig{minute, hourly, badSize}, `windows[2].size: invalid value "2x": want a duration such as 1m or one of day, week, month`, nil},
		{"duplicate name", []SpecConfig{minute, hourly, hourly}, `windows[2].name: duplicate value "hourly": windows[1] has the same name`, nil},
		{"valid list keeps order", []SpecConfig{hourly, minute}, "", []string{"hourly", "minute"}},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			specs, err := ValidateSpecs(tc.configs)

			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				require.Nil(t, specs)
				return
			}
			require.NoError(t, err)
			names := make([]string, 0, len(specs))
			for _, spec := range specs {
				names = append(names, spec.Name)
			}
			require.Equal(t, tc.wantNames, names)
		})
	}
}

func TestDefaultSpecs(t *testing.T) {
	specs, err := ValidateSpecs(DefaultSpecs())
	require.NoError(t, err)

	tests := []struct {
		name  string
		fixed time.Duration
		unit  CalendarUnit
	}{
		{"minute", time.Minute, NoUnit},
		{"hourly", time.Hour, NoUnit},
		{"daily", 0, Day},
		{"weekly", 0, Week},
	}
	require.Len(t, specs, len(tests))

	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := specs[i]
			require.Equal(t, tc.name, spec.Name)
			require.Equal(t, tc.fixed, spec.Fixed)
			require.Equal(t, tc.unit, spec.Unit)
			require.Equal(t, time.UTC, spec.Location)
			require.Zero(t, spec.AllowedLateness)
			require.Equal(t, 5*time.Second, spec.EmitInterval)
		})
	}
}

func TestCalendarUnitString(t *testing.T) {
	tests := []struct {
		unit CalendarUnit
		want string
	}{
		{NoUnit, ""},
		{Day, "day"},
		{Week, "week"},
		{Month, "month"},
	}

	for _, tc := range tests {
		require.Equal(t, tc.want, tc.unit.String())
	}
}
