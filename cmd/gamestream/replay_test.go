package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseFrom(t *testing.T) {
	now := time.Date(2026, 12, 10, 15, 30, 0, 0, time.UTC)
	cases := []struct {
		name  string
		input string
		want  time.Time
	}{
		{"RFC 3339 in UTC", "2026-12-01T00:00:00Z", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{"RFC 3339 with an offset", "2026-12-01T02:00:00+02:00", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{"RFC 3339 with fractional seconds", "2026-12-01T10:20:30.123456789Z",
			time.Date(2026, 12, 1, 10, 20, 30, 123456789, time.UTC)},
		{"RFC 3339 equal to now", "2026-12-10T15:30:00Z", now},
		{"hours before now", "6h", time.Date(2026, 12, 10, 9, 30, 0, 0, time.UTC)},
		{"minutes before now", "90m", time.Date(2026, 12, 10, 14, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFrom(tc.input, now)
			require.NoError(t, err)
			require.True(t, tc.want.Equal(got), "got %v, want %v", got, tc.want)
		})
	}
}

func TestParseFromErrors(t *testing.T) {
	now := time.Date(2026, 12, 10, 15, 30, 0, 0, time.UTC)
	cases := []struct {
		name  string
		input string
	}{
		{"neither a time nor a duration", "yesterday"},
		{"negative duration", "-2h"},
		{"zero duration", "0s"},
		{"future time", "2026-12-10T15:30:01Z"},
		{"empty value", ""},
		{"days", "6d"},
		{"date without a time", "2026-12-01"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFrom(tc.input, now)
			require.Error(t, err)
			require.Contains(t, err.Error(), `"`+tc.input+`"`)
			require.True(t, got.IsZero(), "got %v with the error, want the zero time", got)
		})
	}
}

func TestParseFromDaysHint(t *testing.T) {
	_, err := parseFrom("6d", time.Now())
	require.ErrorContains(t, err, "use 144h")
}
