package windows

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// summarize renders the parts of an emission that the scenario tests check.
func summarize(e Emission) string {
	kind := "provisional"
	if e.IsFinal {
		kind = "final"
	}
	return fmt.Sprintf("%s %s-%s %s r%d spins=%d users=%d",
		e.Spec, e.Start.Format("15:04:05"), e.End.Format("15:04:05"), kind, e.Revision,
		e.Figures.TotalSpins, e.Figures.ActiveUsers)
}

func summarizeAll(emissions []Emission) []string {
	summaries := make([]string, 0, len(emissions))
	for _, e := range emissions {
		summaries = append(summaries, summarize(e))
	}
	return summaries
}

// managerStep is one call on Manager: Add when event is set, else Advance.
// Times are times of day on 2024-05-01 in UTC.
type managerStep struct {
	event        string
	contribution Contribution
	watermark    string
	now          string
	wantLate     []string
	want         []string
	wantOpen     int
}

func runManagerSteps(t *testing.T, m *Manager, steps []managerStep) {
	t.Helper()

	for i, step := range steps {
		watermark := clock(t, step.watermark)
		if step.event != "" {
			late := m.Add(clock(t, step.event), step.contribution, watermark)
			require.Equal(t, step.wantLate, late, "late specs at step %d", i)
		} else {
			emissions := m.Advance(watermark, clock(t, step.now))
			require.Equal(t, step.want, summarizeAll(emissions), "emissions at step %d", i)
		}
		require.Equal(t, step.wantOpen, m.OpenWindows(), "open windows at step %d", i)
	}
}

func minuteSpec(t *testing.T, allowedLateness time.Duration) Spec {
	t.Helper()

	return mustSpec(t, SpecConfig{
		Name:            "minute",
		Size:            "1m",
		AllowedLateness: allowedLateness,
		EmitInterval:    10 * time.Second,
	})
}

func TestManagerFiring(t *testing.T) {
	u1 := spin("u1", "a", 1)
	u2 := spin("u2", "a", 2)

	tests := []struct {
		name            string
		allowedLateness time.Duration
		steps           []managerStep
	}{
		{
			name: "provisional then final",
			steps: []managerStep{
				{event: "12:00:10", contribution: u1, wantOpen: 1},
				{watermark: "12:00:05", now: "13:00:00", want: []string{"minute 12:00:00-12:01:00 provisional r0 spins=1 users=1"}, wantOpen: 1},
				{watermark: "12:00:30", now: "13:00:30", want: []string{}, wantOpen: 1},
				{watermark: "12:01:00", now: "13:00:31", want: []string{"minute 12:00:00-12:01:00 final r1 spins=1 users=1"}, wantOpen: 0},
				{watermark: "12:02:00", now: "13:00:32", want: []string{}, wantOpen: 0},
			},
		},
		{
			name: "final without earlier provisional",
			steps: []managerStep{
				{event: "12:00:10", contribution: u1, wantOpen: 1},
				{watermark: "12:01:00", now: "13:00:00", want: []string{"minute 12:00:00-12:01:00 final r1 spins=1 users=1"}, wantOpen: 0},
			},
		},
		{
			name: "emit interval throttles provisional emissions",
			steps: []managerStep{
				{event: "12:00:10", contribution: u1, wantOpen: 1},
				{watermark: "12:00:05", now: "13:00:00", want: []string{"minute 12:00:00-12:01:00 provisional r0 spins=1 users=1"}, wantOpen: 1},
				{event: "12:00:20", contribution: u2, watermark: "12:00:05", wantOpen: 1},
				{watermark: "12:00:15", now: "13:00:09", want: []string{}, wantOpen: 1},
				{watermark: "12:00:15", now: "13:00:10", want: []string{"minute 12:00:00-12:01:00 provisional r0 spins=3 users=2"}, wantOpen: 1},
				{watermark: "12:00:15", now: "13:00:30", want: []string{}, wantOpen: 1},
				{event: "12:00:30", contribution: u2, watermark: "12:00:15", wantOpen: 1},
				{watermark: "12:00:15", now: "13:00:30", want: []string{"minute 12:00:00-12:01:00 provisional r0 spins=5 users=2"}, wantOpen: 1},
			},
		},
		{
			name: "final is not throttled",
			steps: []managerStep{
				{event: "12:00:10", contribution: u1, wantOpen: 1},
				{watermark: "12:00:05", now: "13:00:00", want: []string{"minute 12:00:00-12:01:00 provisional r0 spins=1 users=1"}, wantOpen: 1},
				{event: "12:00:20", contribution: u2, watermark: "12:00:05", wantOpen: 1},
				{watermark: "12:01:00", now: "13:00:01", want: []string{"minute 12:00:00-12:01:00 final r1 spins=3 users=2"}, wantOpen: 0},
			},
		},
		{
			name:            "late event within lateness gives revision 2",
			allowedLateness: 30 * time.Second,
			steps: []managerStep{
				{event: "12:00:10", contribution: u1, wantOpen: 1},
				{watermark: "12:01:00", now: "13:00:00", want: []string{"minute 12:00:00-12:01:00 final r1 spins=1 users=1"}, wantOpen: 1},
				{event: "12:00:20", contribution: u2, watermark: "12:01:10", wantOpen: 1},
				{watermark: "12:01:10", now: "13:00:01", want: []string{"minute 12:00:00-12:01:00 final r2 spins=3 users=2"}, wantOpen: 1},
				{watermark: "12:01:20", now: "13:00:02", want: []string{}, wantOpen: 1},
				{event: "12:00:30", contribution: u1, watermark: "12:01:29", wantOpen: 1},
				{watermark: "12:01:30", now: "13:00:03", want: []string{"minute 12:00:00-12:01:00 final r3 spins=4 users=2"}, wantOpen: 0},
			},
		},
		{
			name:            "late event beyond lateness is not applied",
			allowedLateness: 30 * time.Second,
			steps: []managerStep{
				{event: "12:00:10", contribution: u1, wantOpen: 1},
				{watermark: "12:01:00", now: "13:00:00", want: []string{"minute 12:00:00-12:01:00 final r1 spins=1 users=1"}, wantOpen: 1},
				{event: "12:00:20", contribution: u2, watermark: "12:01:30", wantLate: []string{"minute"}, wantOpen: 1},
				{watermark: "12:01:30", now: "13:00:01", want: []string{}, wantOpen: 0},
				{event: "12:00:20", contribution: u2, watermark: "12:01:30", wantLate: []string{"minute"}, wantOpen: 0},
				{watermark: "12:01:30", now: "13:00:02", want: []string{}, wantOpen: 0},
			},
		},
		{
			name:            "earlier watermark keeps window final",
			allowedLateness: time.Minute,
			steps: []managerStep{
				{event: "12:00:10", contribution: u1, wantOpen: 1},
				{watermark: "12:01:00", now: "13:00:00", want: []string{"minute 12:00:00-12:01:00 final r1 spins=1 users=1"}, wantOpen: 1},
				{event: "12:00:20", contribution: u2, watermark: "12:00:30", wantOpen: 1},
				{watermark: "12:00:30", now: "13:00:01", want: []string{"minute 12:00:00-12:01:00 final r2 spins=3 users=2"}, wantOpen: 1},
			},
		},
		{
			name: "event at window end without lateness is late",
			steps: []managerStep{
				{event: "12:00:59", contribution: u1, watermark: "12:01:00", wantLate: []string{"minute"}, wantOpen: 0},
				{event: "12:01:00", contribution: u1, watermark: "12:01:00", wantOpen: 1},
				{watermark: "12:01:00", now: "13:00:00", want: []string{"minute 12:01:00-12:02:00 provisional r0 spins=1 users=1"}, wantOpen: 1},
			},
		},
		{
			name:            "late event creates closed window",
			allowedLateness: time.Minute,
			steps: []managerStep{
				{event: "12:00:30", contribution: u1, watermark: "12:01:10", wantOpen: 1},
				{watermark: "12:01:10", now: "13:00:00", want: []string{"minute 12:00:00-12:01:00 final r1 spins=1 users=1"}, wantOpen: 1},
				{watermark: "12:02:00", now: "13:00:01", want: []string{}, wantOpen: 0},
			},
		},
		{
			name:            "state dropped after end plus lateness",
			allowedLateness: 2 * time.Minute,
			steps: []managerStep{
				{event: "12:00:10", contribution: u1, wantOpen: 1},
				{event: "12:01:10", contribution: u1, wantOpen: 2},
				{event: "12:02:10", contribution: u1, wantOpen: 3},
				{watermark: "12:02:00", now: "13:00:00", want: []string{
					"minute 12:00:00-12:01:00 final r1 spins=1 users=1",
					"minute 12:01:00-12:02:00 final r1 spins=1 users=1",
					"minute 12:02:00-12:03:00 provisional r0 spins=1 users=1",
				}, wantOpen: 3},
				{watermark: "12:02:59", now: "13:00:01", want: []string{}, wantOpen: 3},
				{watermark: "12:03:00", now: "13:00:02", want: []string{"minute 12:02:00-12:03:00 final r1 spins=1 users=1"}, wantOpen: 2},
				{watermark: "12:04:00", now: "13:00:03", want: []string{}, wantOpen: 1},
				{watermark: "12:05:00", now: "13:00:04", want: []string{}, wantOpen: 0},
			},
		},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewManager([]Spec{minuteSpec(t, tc.allowedLateness)})
			runManagerSteps(t, m, tc.steps)
		})
	}
}

func TestManagerSpecOrder(t *testing.T) {
	hourly := mustSpec(t, SpecConfig{Name: "hourly", Size: "1h", EmitInterval: time.Second})
	m := NewManager([]Spec{minuteSpec(t, 0), hourly})

	runManagerSteps(t, m, []managerStep{
		{event: "12:01:10", contribution: spin("u1", "a", 1), wantOpen: 2},
		{event: "12:00:10", contribution: spin("u2", "a", 2), wantOpen: 3},
		{event: "12:00:50", contribution: spin("u3", "a", 4), watermark: "12:01:00", wantLate: []string{"minute"}, wantOpen: 3},
		{watermark: "12:01:00", now: "13:00:00", want: []string{
			"minute 12:00:00-12:01:00 final r1 spins=2 users=1",
			"minute 12:01:00-12:02:00 provisional r0 spins=1 users=1",
			"hourly 12:00:00-13:00:00 provisional r0 spins=7 users=3",
		}, wantOpen: 2},
	})
}

func TestManagerEmissionFigures(t *testing.T) {
	m := NewManager([]Spec{minuteSpec(t, 0)})
	contributions := []Contribution{
		spin("u1", "a", 5),
		purchase("u1", "a", "1.10"),
		purchase("u2", "b", "0.90"),
		purchase("u2", "b", "0.20"),
		spin("u3", "c", 0),
	}
	for _, c := range contributions {
		require.Empty(t, m.Add(clock(t, "12:00:30"), c, time.Time{}))
	}

	emissions := m.Advance(clock(t, "12:01:00"), clock(t, "13:00:00"))

	require.Len(t, emissions, 1)
	e := emissions[0]
	require.Equal(t, "minute", e.Spec)
	require.Equal(t, clock(t, "12:00:00"), e.Start)
	require.Equal(t, clock(t, "12:01:00"), e.End)
	require.True(t, e.IsFinal)
	require.Equal(t, 1, e.Revision)
	require.Equal(t, figuresView{
		TotalSpins: 5, TotalPurchases: "2.2", PurchaseCount: 3, AvgPurchase: "0.73", MostSpentGame: "a", ActiveUsers: 3,
	}, viewFigures(e.Figures))
	require.Equal(t, map[string]figuresView{
		"a": {TotalSpins: 5, TotalPurchases: "1.1", PurchaseCount: 1, AvgPurchase: "1.1", MostSpentGame: "a", ActiveUsers: 1},
		"b": {TotalPurchases: "1.1", PurchaseCount: 2, AvgPurchase: "0.55", MostSpentGame: "b", ActiveUsers: 1},
		"c": {TotalPurchases: "0", AvgPurchase: "NULL", ActiveUsers: 1},
	}, viewApps(e.Apps))
}

// emissionView is an Emission with decimals as strings, for comparing
// emissions of two managers.
type emissionView struct {
	Spec     string
	Start    time.Time
	End      time.Time
	Figures  figuresView
	Apps     map[string]figuresView
	IsFinal  bool
	Revision int
}

func viewEmissions(emissions []Emission) []emissionView {
	views := make([]emissionView, 0, len(emissions))
	for _, e := range emissions {
		views = append(views, emissionView{
			Spec:     e.Spec,
			Start:    e.Start,
			End:      e.End,
			Figures:  viewFigures(e.Figures),
			Apps:     viewApps(e.Apps),
			IsFinal:  e.IsFinal,
			Revision: e.Revision,
		})
	}
	return views
}

func TestManagerJSONRoundTrip(t *testing.T) {
	specs := []Spec{
		minuteSpec(t, 30*time.Second),
		mustSpec(t, SpecConfig{Name: "hourly", Size: "1h", EmitInterval: time.Minute}),
	}
	original := NewManager(specs)

	// Build windows in every state: final within lateness, provisional
	// emitted and changed since, and never emitted.
	runManagerSteps(t, original, []managerStep{
		{event: "12:00:10", contribution: purchase("u1", "a", "1.25"), wantOpen: 2},
		{event: "12:01:10", contribution: spin("u2", "b", 3), wantOpen: 3},
		{watermark: "12:01:00", now: "13:00:00", want: []string{
			"minute 12:00:00-12:01:00 final r1 spins=0 users=1",
			"minute 12:01:00-12:02:00 provisional r0 spins=3 users=1",
			"hourly 12:00:00-13:00:00 provisional r0 spins=3 users=2",
		}, wantOpen: 3},
		{event: "12:01:20", contribution: purchase("u3", "b", "0.10"), watermark: "12:01:00", wantOpen: 3},
		{event: "12:02:30", contribution: spin("u1", "a", 7), watermark: "12:01:00", wantOpen: 4},
	})

	data, err := json.Marshal(original)
	require.NoError(t, err)

	restored := &Manager{}
	require.NoError(t, json.Unmarshal(data, restored))
	restored.SetSpecs(specs)
	require.Equal(t, original.OpenWindows(), restored.OpenWindows(), "open windows after restore")

	again, err := json.Marshal(restored)
	require.NoError(t, err)
	require.JSONEq(t, string(data), string(again), "JSON after restore")

	// Both managers must emit the same for the same calls.
	type call struct {
		event        string
		contribution Contribution
		watermark    string
		now          string
	}
	calls := []call{
		{watermark: "12:01:05", now: "13:00:05"},
		{event: "12:00:15", contribution: purchase("u4", "c", "2.50"), watermark: "12:01:05"},
		{watermark: "12:01:05", now: "13:00:59"},
		{watermark: "12:01:10", now: "13:01:00"},
		{watermark: "12:02:00", now: "13:01:01"},
		{watermark: "13:00:00", now: "13:01:02"},
	}
	for i, c := range calls {
		watermark := clock(t, c.watermark)
		if c.event != "" {
			wantLate := original.Add(clock(t, c.event), c.contribution, watermark)
			gotLate := restored.Add(clock(t, c.event), c.contribution, watermark)
			require.Equal(t, wantLate, gotLate, "late specs at call %d", i)
			continue
		}

		want := original.Advance(watermark, clock(t, c.now))
		got := restored.Advance(watermark, clock(t, c.now))
		require.NotEmpty(t, want, "emissions of the original at call %d", i)
		require.Equal(t, viewEmissions(want), viewEmissions(got), "emissions at call %d", i)
	}
	require.Zero(t, restored.OpenWindows(), "open windows at the end")
}

func TestManagerSetSpecs(t *testing.T) {
	minute := minuteSpec(t, 0)
	hourly := mustSpec(t, SpecConfig{Name: "hourly", Size: "1h", EmitInterval: time.Second})
	twoMinutes := mustSpec(t, SpecConfig{Name: "minute", Size: "2m", EmitInterval: time.Second})

	tests := []struct {
		name     string
		specs    []Spec
		wantOpen int
		want     []string
	}{
		{"same specs keep windows", []Spec{minute, hourly}, 3, []string{
			"minute 12:00:00-12:01:00 provisional r0 spins=1 users=1",
			"minute 12:01:00-12:02:00 provisional r0 spins=2 users=1",
			"hourly 12:00:00-13:00:00 provisional r0 spins=3 users=2",
		}},
		{"removed spec drops its windows", []Spec{minute}, 2, []string{
			"minute 12:00:00-12:01:00 provisional r0 spins=1 users=1",
			"minute 12:01:00-12:02:00 provisional r0 spins=2 users=1",
		}},
		{"changed size drops mismatched windows", []Spec{twoMinutes, hourly}, 1, []string{
			"hourly 12:00:00-13:00:00 provisional r0 spins=3 users=2",
		}},
		{"no specs drop all windows", nil, 0, []string{}},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewManager([]Spec{minute, hourly})
			m.Add(clock(t, "12:00:10"), spin("u1", "a", 1), time.Time{})
			m.Add(clock(t, "12:01:10"), spin("u2", "a", 2), time.Time{})

			m.SetSpecs(tc.specs)

			require.Equal(t, tc.wantOpen, m.OpenWindows())
			require.Equal(t, tc.want, summarizeAll(m.Advance(time.Time{}, clock(t, "13:00:00"))))
		})
	}
}

func TestManagerUnmarshalInvalid(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		wantErr string
	}{
		{
			name:    "end before start",
			data:    `{"windows":{"minute":[{"start":"2024-05-01T12:01:00Z","end":"2024-05-01T12:00:00Z"}]}}`,
			wantErr: `windows.minute[0].end: invalid value 2024-05-01T12:00:00Z: want a time after start 2024-05-01T12:01:00Z`,
		},
		{
			name:    "null window",
			data:    `{"windows":{"minute":[null]}}`,
			wantErr: `windows.minute[0]: invalid value null: want a window`,
		},
		{
			name: "duplicate start",
			data: `{"windows":{"minute":[` +
				`{"start":"2024-05-01T12:00:00Z","end":"2024-05-01T12:01:00Z"},` +
				`{"start":"2024-05-01T14:00:00+02:00","end":"2024-05-01T14:01:00+02:00"}]}}`,
			wantErr: `windows.minute[1]: duplicate window start 2024-05-01T12:00:00Z`,
		},
		{
			name:    "not an object",
			data:    `[]`,
			wantErr: `cannot unmarshal array`,
		},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &Manager{}
			err := json.Unmarshal([]byte(tc.data), m)

			require.Error(t, err)
			require.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestManagerAddSkipping(t *testing.T) {
	minute := minuteSpec(t, 0)
	hour := mustSpec(t, SpecConfig{Name: "hour", Size: "1h", EmitInterval: 10 * time.Second})
	m := NewManager([]Spec{minute, hour})
	spin := Contribution{UID: "u1", AppID: "slots", Spins: 1}

	late := m.AddSkipping(clock(t, "10:00:30"), spin, clock(t, "09:00:00"), []string{"hour"})
	require.Empty(t, late)
	late = m.AddSkipping(clock(t, "10:00:40"), spin, clock(t, "10:01:00"), []string{"minute"})
	require.Empty(t, late, "a skipped spec is not reported late")
	late = m.AddSkipping(clock(t, "10:00:50"), spin, clock(t, "10:01:00"), nil)
	require.Equal(t, []string{"minute"}, late)

	emissions := m.Advance(clock(t, "11:00:00"), clock(t, "11:00:00"))
	require.Equal(t, []string{
		"minute 10:00:00-10:01:00 final r1 spins=1 users=1",
		"hour 10:00:00-11:00:00 final r1 spins=2 users=1",
	}, summarizeAll(emissions))
}

func TestManagerEmitChanged(t *testing.T) {
	m := NewManager([]Spec{minuteSpec(t, 0)})
	spin := Contribution{UID: "u1", AppID: "slots", Spins: 1}

	m.Add(clock(t, "10:00:10"), spin, clock(t, "09:00:00"))
	m.Add(clock(t, "10:01:10"), spin, clock(t, "09:00:00"))
	require.Len(t, m.Advance(clock(t, "10:00:30"), clock(t, "10:00:30")), 2, "first provisional emissions")

	// Within the emit interval Advance holds changes back; EmitChanged does not.
	m.Add(clock(t, "10:01:20"), spin, clock(t, "10:00:30"))
	require.Empty(t, m.Advance(clock(t, "10:00:31"), clock(t, "10:00:31")))
	require.Equal(t, []string{"minute 10:01:00-10:02:00 provisional r0 spins=2 users=1"},
		summarizeAll(m.EmitChanged(clock(t, "10:00:32"))))
	require.Empty(t, m.EmitChanged(clock(t, "10:00:33")), "nothing changed since")

	// A window that fired final is left to Advance.
	require.Equal(t, []string{"minute 10:00:00-10:01:00 final r1 spins=1 users=1"},
		summarizeAll(m.Advance(clock(t, "10:01:00"), clock(t, "10:01:00"))))
	m.Add(clock(t, "10:01:30"), spin, clock(t, "10:01:00"))
	require.Equal(t, []string{"minute 10:01:00-10:02:00 provisional r0 spins=3 users=1"},
		summarizeAll(m.EmitChanged(clock(t, "10:01:01"))))
}
