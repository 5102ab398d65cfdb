package state

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/gamestream/gamestream/handlers"
	"github.com/gamestream/gamestream/windows"
)

var testPartition = handlers.Source{Topic: "game.spin", Partition: 0}

func testSpecs(t *testing.T) []windows.Spec {
	t.Helper()
	specs, err := windows.ValidateSpecs([]windows.SpecConfig{
		{Name: "minute", Size: "1m", EmitInterval: time.Second},
		{Name: "berlin_daily", Size: "day", TimeZone: "Europe/Berlin", EmitInterval: time.Second},
	})
	require.NoError(t, err)
	return specs
}

// randomEvents returns n events of a few users over two hours around the
// Berlin DST change of 2024-03-31, sorted by event time.
func randomEvents(rng *rand.Rand, n int) []handlers.Event {
	start := time.Date(2024, 3, 30, 23, 0, 0, 0, time.UTC)
	events := make([]handlers.Event, n)
	for i := range events {
		e := handlers.Event{
			MsgID: fmt.Sprintf("m%05d", i),
			UID:   fmt.Sprintf("u%d", rng.IntN(7)),
			AppID: []string{"slots", "poker", "dice"}[rng.IntN(3)],
			Time:  start.Add(time.Duration(rng.IntN(7200)) * time.Second),
		}
		switch rng.IntN(10) {
		case 0:
			e.Kind = handlers.KindAuth
			e.Email = e.MsgID + "@x.example"
		case 1:
			e.Kind = handlers.KindPurchase
			e.AmountReporting = decimal.New(int64(1+rng.IntN(5000)), -2)
		default:
			e.Kind = handlers.KindSpin
			e.SpinCount = int64(1 + rng.IntN(3))
		}
		events[i] = e
	}
	sort.Slice(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	return events
}

// disorder returns the events in the order of their event time plus a random
// delay below maxDisorder, so no event arrives more than maxDisorder of event
// time after a later one.
func disorder(rng *rand.Rand, events []handlers.Event, maxDisorder time.Duration) []handlers.Event {
	out := append([]handlers.Event(nil), events...)
	keys := make([]time.Time, len(out))
	for i, e := range out {
		keys[i] = e.Time.Add(time.Duration(rng.Int64N(int64(maxDisorder))))
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]].Before(keys[idx[b]]) })
	shuffled := make([]handlers.Event, len(out))
	for i, j := range idx {
		shuffled[i] = out[j]
	}
	return shuffled
}

// foldAll folds events in order, advancing the watermark every 20 events, and
// returns the final state's users and final emissions as JSON.
func foldAll(t *testing.T, specs []windows.Spec, events []handlers.Event) (string, string) {
	t.Helper()
	s := New(specs, 10*time.Minute, time.Hour)
	key := windows.PartitionKey{Topic: testPartition.Topic, Partition: testPartition.Partition}
	now := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
	s.Watermarks.Assign(key, now)

	var finals []windows.Emission
	for i := range events {
		now = now.Add(time.Millisecond)
		src := testPartition
		src.Offset = int64(i)
		require.Empty(t, s.Fold(&events[i], src, now), "late event %s", events[i].MsgID)
		if i%20 == 0 {
			finals = append(finals, finalOnly(s.Windows.Advance(s.Watermarks.Advance(now), now))...)
		}
	}
	now = now.Add(2 * time.Hour)
	finals = append(finals, finalOnly(s.Windows.Advance(s.Watermarks.Advance(now), now))...)
	require.Zero(t, s.Windows.OpenWindows())

	sort.Slice(finals, func(i, j int) bool {
		if finals[i].Spec != finals[j].Spec {
			return finals[i].Spec < finals[j].Spec
		}
		return finals[i].Start.Before(finals[j].Start)
	})
	users, err := json.Marshal(s.Users)
	require.NoError(t, err)
	reports, err := json.Marshal(finals)
	require.NoError(t, err)
	return string(users), string(reports)
}

func finalOnly(emissions []windows.Emission) []windows.Emission {
	var out []windows.Emission
	for _, e := range emissions {
		if e.IsFinal {
			out = append(out, e)
		}
	}
	return out
}

func TestFoldOrderIndependent(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	specs := testSpecs(t)
	events := randomEvents(rng, 600)

	wantUsers, wantReports := foldAll(t, specs, events)
	require.Contains(t, wantReports, `"is_final":true`)
	for i := 0; i < 30; i++ {
		users, reports := foldAll(t, specs, disorder(rng, events, 5*time.Minute))
		require.Equal(t, wantUsers, users, "users after permutation %d", i)
		require.Equal(t, wantReports, reports, "final reports after permutation %d", i)
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	specs := testSpecs(t)
	dir := t.TempDir()
	ckpt, err := OpenCheckpointer(dir, "group-a", nil)
	require.NoError(t, err)

	s := New(specs, time.Minute, time.Hour)
	key := windows.PartitionKey{Topic: testPartition.Topic, Partition: testPartition.Partition}
	now := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
	s.Watermarks.Assign(key, now)
	events := randomEvents(rand.New(rand.NewPCG(7, 7)), 200)
	for i := range events[:150] {
		src := testPartition
		src.Offset = int64(i)
		s.Fold(&events[i], src, now)
	}
	s.Advance(key, 150)
	for _, e := range s.Windows.Advance(s.Watermarks.Advance(now), now) {
		s.Queue(e)
	}
	s.LateEvents = append(s.LateEvents, LateEvent{Kind: handlers.KindSpin, MsgID: "late-1", Spec: "minute", Time: now})
	require.NoError(t, ckpt.Save(s, now))
	require.Zero(t, s.DirtyForCheckpoint())
	require.NoError(t, ckpt.Close())

	ckpt, err = OpenCheckpointer(dir, "group-a", nil)
	require.NoError(t, err)
	defer ckpt.Close()
	got, meta, found, err := ckpt.Load(specs, time.Minute, time.Hour)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, uint64(1), meta.Seq)

	wantJSON, _ := json.Marshal(s.Users)
	gotJSON, _ := json.Marshal(got.Users)
	require.JSONEq(t, string(wantJSON), string(gotJSON))
	require.Equal(t, s.Offsets, got.Offsets)
	require.Equal(t, len(s.Emissions), len(got.Emissions))
	require.Equal(t, s.LateEvents[0].MsgID, got.LateEvents[0].MsgID)
	require.Equal(t, s.DirtyForFlush(), got.DirtyForFlush(), "users waiting for MySQL survive the restart")

	// Folding the rest into both gives the same final reports.
	got.Watermarks.Assign(key, now)
	for i := 150; i < len(events); i++ {
		src := testPartition
		src.Offset = int64(i)
		s.Fold(&events[i], src, now)
		got.Fold(&events[i], src, now)
	}
	later := now.Add(48 * time.Hour)
	want, _ := json.Marshal(s.Windows.Advance(s.Watermarks.Advance(later), later))
	have, _ := json.Marshal(got.Windows.Advance(got.Watermarks.Advance(later), later))
	require.JSONEq(t, string(want), string(have))
}

func TestCheckpointOtherGroupRejected(t *testing.T) {
	specs := testSpecs(t)
	dir := t.TempDir()
	ckpt, err := OpenCheckpointer(dir, "group-a", nil)
	require.NoError(t, err)
	require.NoError(t, ckpt.Save(New(specs, time.Minute, time.Hour), time.Now()))
	require.NoError(t, ckpt.Close())

	ckpt, err = OpenCheckpointer(dir, "group-b", nil)
	require.NoError(t, err)
	defer ckpt.Close()
	_, _, _, err = ckpt.Load(specs, time.Minute, time.Hour)
	require.ErrorIs(t, err, ErrGroupMismatch)
	require.Contains(t, err.Error(), dir)
}

func TestFoldKeepsKnownLateDecisions(t *testing.T) {
	specs := testSpecs(t)
	s := New(specs, 0, 0)
	e := handlers.Event{MsgID: "m1", Kind: handlers.KindSpin, UID: "u1", AppID: "slots", SpinCount: 2,
		Time: time.Date(2024, 4, 1, 10, 0, 0, 0, time.UTC)}
	s.KnownLate = map[string][]string{LateKey(e.Kind, e.MsgID): {"minute"}}

	late := s.Fold(&e, testPartition, time.Now())
	require.Empty(t, late, "a decision already recorded is not recorded again")
	require.Empty(t, s.LateEvents)
	require.Empty(t, s.KnownLate, "the entry is used once")

	emissions := s.Windows.Advance(time.Date(2024, 4, 3, 0, 0, 0, 0, time.UTC), time.Now())
	require.Len(t, emissions, 1)
	require.Equal(t, "berlin_daily", emissions[0].Spec)
	require.Equal(t, int64(2), emissions[0].Figures.TotalSpins)
	require.Equal(t, int64(2), s.Users["u1"].TotalSpins, "profiles count late events")
}

func TestRefoldRebuildsWithoutFlushing(t *testing.T) {
	specs := testSpecs(t)
	s := New(specs, 0, 0)
	base := time.Date(2024, 4, 1, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		e := handlers.Event{MsgID: fmt.Sprintf("m%d", i), Kind: handlers.KindSpin, UID: "u1", AppID: "slots",
			SpinCount: 1, Time: base.Add(time.Duration(i) * time.Minute)}
		src := testPartition
		src.Offset = int64(i)
		var skip []string
		if i == 2 {
			skip = []string{"minute"}
		}
		s.Refold(&e, src, skip)
	}

	require.Equal(t, int64(3), s.Users["u1"].TotalSpins)
	require.Equal(t, 1, s.DirtyForCheckpoint())
	require.Zero(t, s.DirtyForFlush(), "a rebuilt state marks every user for MySQL once it has caught up")
	snapshot := s.Watermarks.Snapshot()
	require.Len(t, snapshot.Partitions, 1)
	require.Equal(t, base.Add(2*time.Minute), snapshot.Partitions[0].MaxEventTime)
	require.True(t, snapshot.Watermark.IsZero(), "Refold does not advance the watermark")

	var minutes []int64
	var daily int64
	for _, e := range s.Windows.Advance(base.Add(48*time.Hour), base) {
		if e.Spec == "minute" {
			minutes = append(minutes, e.Figures.TotalSpins)
		} else {
			daily += e.Figures.TotalSpins
		}
	}
	require.Equal(t, []int64{1, 1}, minutes, "the third event skips its minute window")
	require.Equal(t, int64(3), daily)
}

func TestSaveUsersInChunks(t *testing.T) {
	specs := testSpecs(t)
	dir := t.TempDir()
	ckpt, err := OpenCheckpointer(dir, "group-a", nil)
	require.NoError(t, err)
	defer ckpt.Close()

	s := New(specs, 0, 0)
	base := time.Date(2024, 4, 1, 10, 0, 0, 0, time.UTC)
	for i := range 25 {
		e := handlers.Event{MsgID: fmt.Sprintf("m%d", i), Kind: handlers.KindSpin, UID: fmt.Sprintf("u%02d", i),
			AppID: "slots", SpinCount: int64(i + 1), Time: base}
		s.Refold(&e, testPartition, nil)
	}
	s.Offsets[windows.PartitionKey{Topic: testPartition.Topic}] = 25
	s.Rebuilding = true
	s.KnownLate = map[string][]string{LateKey(handlers.KindSpin, "m99"): {"minute", "berlin_daily"}}

	require.NoError(t, ckpt.SaveUsers(s, 10))
	require.Zero(t, s.DirtyForCheckpoint())
	_, _, found, err := ckpt.Load(specs, 0, 0)
	require.NoError(t, err)
	require.False(t, found, "users alone are no checkpoint")

	require.NoError(t, ckpt.Save(s, base))
	got, _, found, err := ckpt.Load(specs, 0, 0)
	require.NoError(t, err)
	require.True(t, found)
	require.Len(t, got.Users, 25)
	require.Equal(t, int64(25), got.Users["u24"].TotalSpins)
	require.True(t, got.Rebuilding)
	require.Equal(t, s.KnownLate, got.KnownLate)
	require.Equal(t, s.Offsets, got.Offsets)

	err = ckpt.SaveUsers(s, 10)
	require.ErrorContains(t, err, "already contains a checkpoint")
	require.ErrorContains(t, ckpt.SaveUsers(New(specs, 0, 0), 0), "chunk 0")
}
