// Package windows assigns events to event-time windows, tracks watermarks
// over Kafka partitions and aggregates per-window figures with firing and
// lateness rules. It does no I/O, and its state can be checkpointed as JSON.
package windows

import (
	"fmt"
	"regexp"
	"time"
)

// CalendarUnit is the calendar unit of a calendar window.
type CalendarUnit int

// The calendar units. NoUnit marks a fixed-size window.
const (
	NoUnit CalendarUnit = iota
	Day
	Week
	Month
)

// String returns the unit as written in a window size: day, week or month.
func (u CalendarUnit) String() string {
	switch u {
	case Day:
		return "day"
	case Week:
		return "week"
	case Month:
		return "month"
	}
	return ""
}

// MinFixedSize is the smallest fixed window size.
const MinFixedSize = time.Second

// MaxNameLength is the maximum length of a window name.
const MaxNameLength = 64

var namePattern = regexp.MustCompile(`^[a-z0-9_]+$`)

// SpecConfig is one window spec as written in the configuration.
type SpecConfig struct {
	// Name identifies the window in reports and checkpoints.
	Name string `koanf:"name" json:"name"`
	// Size is a Go duration such as 1m or 24h, or one of day, week, month.
	Size string `koanf:"size" json:"size"`
	// TimeZone is the IANA time zone of calendar windows. Empty means UTC.
	TimeZone string `koanf:"timezone" json:"timezone"`
	// AllowedLateness is how long after its end a window still accepts events.
	AllowedLateness time.Duration `koanf:"allowed_lateness" json:"allowed_lateness"`
	// EmitInterval is the minimum processing time between two provisional
	// emissions of one window.
	EmitInterval time.Duration `koanf:"emit_interval" json:"emit_interval"`
}

// Spec is a validated window spec. Build it with NewSpec or ValidateSpecs.
type Spec struct {
	// Name is the validated SpecConfig.Name.
	Name string
	// Fixed is the size of a fixed window aligned to the Unix epoch, or 0 for
	// a calendar window.
	Fixed time.Duration
	// Unit is the calendar unit of a calendar window, or NoUnit for a fixed one.
	Unit CalendarUnit
	// Location is the time zone whose calendar aligns calendar windows. Nil
	// means UTC.
	Location *time.Location
	// AllowedLateness is how long after its end a window still accepts
	// events and fires final again.
	AllowedLateness time.Duration
	// EmitInterval is the minimum processing time between two provisional
	// emissions of one window.
	EmitInterval time.Duration
}

// DefaultSpecs returns the window specs used when the configuration lists
// none: minute (1m), hourly (1h), daily (day) and weekly (week), all in UTC
// with an EmitInterval of 5s. AllowedLateness is 0, so an event that arrives
// after the watermark has passed its window end is reported late and dropped.
func DefaultSpecs() []SpecConfig {
	const emitInterval = 5 * time.Second

	return []SpecConfig{
		{Name: "minute", Size: "1m", TimeZone: "UTC", EmitInterval: emitInterval},
		{Name: "hourly", Size: "1h", TimeZone: "UTC", EmitInterval: emitInterval},
		{Name: "daily", Size: "day", TimeZone: "UTC", EmitInterval: emitInterval},
		{Name: "weekly", Size: "week", TimeZone: "UTC", EmitInterval: emitInterval},
	}
}

// NewSpec validates c and returns the Spec it describes. An error names the
// field (name, size, timezone, allowed_lateness or emit_interval) and its value.
func NewSpec(c SpecConfig) (Spec, error) {
	if err := validateName(c.Name); err != nil {
		return Spec{}, err
	}

	spec := Spec{Name: c.Name, Location: time.UTC}
	if err := spec.parseSize(c.Size); err != nil {
		return Spec{}, err
	}

	location, err := loadLocation(c.TimeZone, spec.Fixed, c.Size)
	if err != nil {
		return Spec{}, err
	}
	spec.Location = location

	if c.AllowedLateness < 0 {
		return Spec{}, fmt.Errorf("allowed_lateness: invalid value %s: want 0 or more", c.AllowedLateness)
	}
	spec.AllowedLateness = c.AllowedLateness

	if c.EmitInterval <= 0 {
		return Spec{}, fmt.Errorf("emit_interval: invalid value %s: want more than 0", c.EmitInterval)
	}
	spec.EmitInterval = c.EmitInterval

	return spec, nil
}

// ValidateSpecs validates every config and returns the specs in the same
// order. Errors are prefixed with windows[i]. An empty list and two specs
// with the same name are errors.
func ValidateSpecs(configs []SpecConfig) ([]Spec, error) {
	if len(configs) == 0 {
		return nil, fmt.Errorf("windows: missing value: want at least one window spec")
	}

	specs := make([]Spec, 0, len(configs))
	firstIndex := make(map[string]int, len(configs))
	for i, c := range configs {
		spec, err := NewSpec(c)
		if err != nil {
			return nil, fmt.Errorf("windows[%d].%w", i, err)
		}

		if j, ok := firstIndex[spec.Name]; ok {
			return nil, fmt.Errorf("windows[%d].name: duplicate value %q: windows[%d] has the same name", i, spec.Name, j)
		}
		firstIndex[spec.Name] = i

		specs = append(specs, spec)
	}

	return specs, nil
}

func validateName(name string) error {
	const want = "want 1 to 64 characters from a-z, 0-9 and _"

	if name == "" {
		return fmt.Errorf("name: missing value: %s", want)
	}
	if len(name) > MaxNameLength || !namePattern.MatchString(name) {
		return fmt.Errorf("name: invalid value %q: %s", name, want)
	}
	return nil
}

func (s *Spec) parseSize(size string) error {
	switch size {
	case "day":
		s.Unit = Day
		return nil
	case "week":
		s.Unit = Week
		return nil
	case "month":
		s.Unit = Month
		return nil
	}

	fixed, err := time.ParseDuration(size)
	if err != nil {
		return fmt.Errorf("size: invalid value %q: want a duration such as 1m or one of day, week, month", size)
	}
	if fixed < MinFixedSize {
		return fmt.Errorf("size: invalid value %q: want a duration of at least %s or one of day, week, month", size, MinFixedSize)
	}

	s.Fixed = fixed
	return nil
}

// loadLocation resolves the time zone name. Fixed windows align to the Unix
// epoch, so they accept only UTC: a local zone there would suggest an
// alignment to local time that the windows do not have.
func loadLocation(name string, fixed time.Duration, size string) (*time.Location, error) {
	if fixed > 0 {
		if name != "" && name != "UTC" {
			return nil, fmt.Errorf("timezone: invalid value %q for size %q: fixed sizes align to the Unix epoch in UTC, so leave timezone empty or use size day, week or month", name, size)
		}
		return time.UTC, nil
	}

	// time.LoadLocation maps "Local" to the zone of the machine, which is not
	// an IANA name and would make windows depend on where the process runs.
	if name == "Local" {
		return nil, fmt.Errorf("timezone: invalid value %q: want an IANA time zone name such as Europe/Berlin", name)
	}

	location, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("timezone: invalid value %q: want an IANA time zone name such as Europe/Berlin: %w", name, err)
	}
	return location, nil
}
