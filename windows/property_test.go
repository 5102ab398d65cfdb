package windows

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

type timedContribution struct {
	eventTime    time.Time
	contribution Contribution
}

// generateEvents returns count events spread over span from first, with
// spins, purchases and logins from a few users and apps.
func generateEvents(random *rand.Rand, first time.Time, span time.Duration, count int) []timedContribution {
	events := make([]timedContribution, 0, count)
	for range count {
		c := Contribution{
			UID:   fmt.Sprintf("u%d", random.IntN(20)),
			AppID: fmt.Sprintf("app%d", random.IntN(4)),
		}
		switch random.IntN(3) {
		case 0:
			c.Spins = int64(1 + random.IntN(50))
		case 1:
			c.IsPurchase = true
			c.Purchase = decimal.New(int64(1+random.IntN(10000)), -2)
		}

		offset := time.Duration(random.Int64N(int64(span)))
		events = append(events, timedContribution{eventTime: first.Add(offset), contribution: c})
	}
	return events
}

// arrivalOrder returns the events in a random order in which no event
// arrives more than maxDisorder after an event with a later event time.
func arrivalOrder(random *rand.Rand, events []timedContribution, maxDisorder time.Duration) []timedContribution {
	type arrival struct {
		at    time.Time
		event timedContribution
	}

	arrivals := make([]arrival, 0, len(events))
	for _, e := range events {
		jitter := time.Duration(random.Int64N(int64(maxDisorder)))
		arrivals = append(arrivals, arrival{at: e.eventTime.Add(jitter), event: e})
	}
	slices.SortStableFunc(arrivals, func(a, b arrival) int { return a.at.Compare(b.at) })

	ordered := make([]timedContribution, 0, len(events))
	for _, a := range arrivals {
		ordered = append(ordered, a.event)
	}
	return ordered
}

// replayFinals feeds events through one partition's Watermarks and a Manager
// and returns every final emission, sorted by spec order and start.
func replayFinals(t *testing.T, specs []Spec, events []timedContribution, bound time.Duration) []emissionView {
	t.Helper()

	const idleTimeout = time.Minute
	partition := PartitionKey{Topic: "events", Partition: 0}
	watermarks := NewWatermarks(bound, idleTimeout)
	manager := NewManager(specs)

	now := utc(t, "2030-01-01T00:00:00Z")
	watermarks.Assign(partition, now)

	var finals []Emission
	collect := func(emissions []Emission) {
		for _, e := range emissions {
			if e.IsFinal {
				finals = append(finals, e)
			}
		}
	}

	for i, e := range events {
		now = now.Add(time.Millisecond)
		watermarks.Observe(partition, e.eventTime, now)
		watermarks.SetLag(partition, int64(len(events)-i-1))
		watermark := watermarks.Advance(now)

		late := manager.Add(e.eventTime, e.contribution, watermark)
		require.Empty(t, late, "late specs for event %d at %s with watermark %s", i, e.eventTime, watermark)

		collect(manager.Advance(watermark, now))
	}

	// With no lag and no events for the idle timeout, the partition is idle
	// and the watermark moves to now minus the bound, which closes every window.
	now = now.Add(idleTimeout)
	collect(manager.Advance(watermarks.Advance(now), now))
	require.Zero(t, manager.OpenWindows(), "open windows at the end")

	views := viewEmissions(finals)
	specOrder := make(map[string]int, len(specs))
	for i, spec := range specs {
		specOrder[spec.Name] = i
	}
	slices.SortFunc(views, func(a, b emissionView) int {
		return cmp.Or(cmp.Compare(specOrder[a.Spec], specOrder[b.Spec]), a.Start.Compare(b.Start))
	})
	return views
}

// TestFinalEmissionsIgnoreArrivalOrder replays the same events in random
// orders with a disorder smaller than the watermark bound and checks that
// the final emissions are identical, each window firing once.
func TestFinalEmissionsIgnoreArrivalOrder(t *testing.T) {
	const seed = 20240331
	const permutations = 50
	const maxDisorder = 20 * time.Second
	const bound = 30 * time.Second
	t.Logf("seed %d", seed)

	specConfigs := []SpecConfig{
		{Name: "minute", Size: "1m", EmitInterval: time.Second},
		{Name: "quarter_hour", Size: "15m", AllowedLateness: time.Minute, EmitInterval: time.Second},
		{Name: "daily_berlin", Size: "day", TimeZone: "Europe/Berlin", EmitInterval: time.Second},
	}
	specs, err := ValidateSpecs(specConfigs)
	require.NoError(t, err)

	random := rand.New(rand.NewPCG(seed, seed))
	events := generateEvents(random, utc(t, "2024-03-31T21:40:00Z"), 40*time.Minute, 400)
	inOrder := slices.SortedStableFunc(slices.Values(events), func(a, b timedContribution) int {
		return a.eventTime.Compare(b.eventTime)
	})

	want := replayFinals(t, specs, inOrder, bound)
	require.NotEmpty(t, want)
	for _, e := range want {
		require.Equal(t, 1, e.Revision, "revision of %s %s", e.Spec, e.Start)
	}

	for i := range permutations {
		t.Run(fmt.Sprintf("permutation %d", i), func(t *testing.T) {
			got := replayFinals(t, specs, arrivalOrder(random, events, maxDisorder), bound)
			require.Equal(t, want, got)
		})
	}
}
