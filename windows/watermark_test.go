package windows

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	partition0 = PartitionKey{Topic: "events", Partition: 0}
	partition1 = PartitionKey{Topic: "events", Partition: 1}
	partition2 = PartitionKey{Topic: "events", Partition: 2}
)

// clock parses a time of day on 2024-05-01 in UTC, or returns the zero time
// for an empty string.
func clock(t *testing.T, hhmmss string) time.Time {
	t.Helper()

	if hhmmss == "" {
		return time.Time{}
	}
	return utc(t, "2024-05-01T"+hhmmss+"Z")
}

type watermarkOp int

const (
	opAssign watermarkOp = iota
	opRevoke
	opObserve
	opSetLag
	opAdvance
)

// watermarkStep is one call on Watermarks. now is the processing time, event
// the event time of opObserve, and want the expected result of opAdvance.
type watermarkStep struct {
	op        watermarkOp
	partition PartitionKey
	now       string
	event     string
	lag       int64
	want      string
}

func runWatermarkSteps(t *testing.T, w *Watermarks, steps []watermarkStep) {
	t.Helper()

	for i, step := range steps {
		now := clock(t, step.now)
		switch step.op {
		case opAssign:
			w.Assign(step.partition, now)
		case opRevoke:
			w.Revoke(step.partition)
		case opObserve:
			w.Observe(step.partition, clock(t, step.event), now)
		case opSetLag:
			w.SetLag(step.partition, step.lag)
		case opAdvance:
			got := w.Advance(now)
			require.Equal(t, clock(t, step.want), got, "watermark at step %d", i)
			require.Equal(t, got, w.Current(), "current at step %d", i)
		}
	}
}

func TestWatermarksAdvance(t *testing.T) {
	const bound = 5 * time.Second
	const idleTimeout = time.Minute

	tests := []struct {
		name        string
		disableIdle bool
		steps       []watermarkStep
	}{
		{
			name: "nothing assigned is zero",
			steps: []watermarkStep{
				{op: opAdvance, now: "12:00:00", want: ""},
				{op: opObserve, partition: partition0, now: "12:00:01", event: "12:00:00"},
				{op: opAdvance, now: "12:05:00", want: ""},
			},
		},
		{
			name: "all idle without any event stays zero",
			steps: []watermarkStep{
				{op: opAssign, partition: partition0, now: "12:00:00"},
				{op: opAssign, partition: partition1, now: "12:00:00"},
				{op: opAdvance, now: "12:05:00", want: ""},
				{op: opObserve, partition: partition0, now: "12:05:01", event: "11:00:10"},
				{op: opObserve, partition: partition1, now: "12:05:01", event: "11:00:30"},
				{op: opAdvance, now: "12:05:02", want: "11:00:05"},
				{op: opAdvance, now: "12:07:00", want: "12:06:55"},
			},
		},
		{
			name: "minimum over partitions minus bound",
			steps: []watermarkStep{
				{op: opAssign, partition: partition0, now: "12:00:00"},
				{op: opAssign, partition: partition1, now: "12:00:00"},
				{op: opObserve, partition: partition0, now: "12:00:01", event: "12:00:10"},
				{op: opObserve, partition: partition1, now: "12:00:01", event: "12:00:30"},
				{op: opObserve, partition: partition0, now: "12:00:01", event: "12:00:08"},
				{op: opAdvance, now: "12:00:02", want: "12:00:05"},
				{op: opObserve, partition: partition0, now: "12:00:03", event: "12:00:20"},
				{op: opAdvance, now: "12:00:03", want: "12:00:15"},
			},
		},
		{
			name: "idle partition stops holding",
			steps: []watermarkStep{
				{op: opAssign, partition: partition0, now: "12:00:00"},
				{op: opAssign, partition: partition1, now: "12:00:00"},
				{op: opObserve, partition: partition0, now: "12:00:01", event: "12:00:10"},
				{op: opObserve, partition: partition1, now: "12:00:01", event: "12:05:00"},
				{op: opAdvance, now: "12:00:30", want: "12:00:05"},
				{op: opObserve, partition: partition1, now: "12:01:00", event: "12:06:00"},
				{op: opAdvance, now: "12:01:00", want: "12:00:05"},
				{op: opAdvance, now: "12:01:01", want: "12:05:55"},
			},
		},
		{
			name: "partition with lag is never idle",
			steps: []watermarkStep{
				{op: opAssign, partition: partition0, now: "12:00:00"},
				{op: opAssign, partition: partition1, now: "12:00:00"},
				{op: opObserve, partition: partition0, now: "12:00:01", event: "12:00:10"},
				{op: opObserve, partition: partition1, now: "12:00:01", event: "12:05:00"},
				{op: opSetLag, partition: partition0, lag: 10},
				{op: opObserve, partition: partition1, now: "12:10:00", event: "12:06:00"},
				{op: opAdvance, now: "12:10:00", want: "12:00:05"},
				{op: opSetLag, partition: partition0, lag: 0},
				{op: opAdvance, now: "12:10:00", want: "12:05:55"},
			},
		},
		{
			name: "all idle is now minus bound",
			steps: []watermarkStep{
				{op: opAssign, partition: partition0, now: "12:00:00"},
				{op: opObserve, partition: partition0, now: "12:00:00", event: "11:00:00"},
				{op: opAdvance, now: "12:00:30", want: "10:59:55"},
				{op: opAdvance, now: "12:01:00", want: "12:00:55"},
				{op: opAdvance, now: "12:02:00", want: "12:01:55"},
			},
		},
		{
			name: "all revoked is now minus bound",
			steps: []watermarkStep{
				{op: opAssign, partition: partition0, now: "12:00:00"},
				{op: opObserve, partition: partition0, now: "12:00:00", event: "11:00:00"},
				{op: opRevoke, partition: partition0},
				{op: opAdvance, now: "12:00:10", want: "12:00:05"},
			},
		},
		{
			name: "partition without events holds at zero",
			steps: []watermarkStep{
				{op: opAssign, partition: partition0, now: "12:00:00"},
				{op: opAssign, partition: partition1, now: "12:00:00"},
				{op: opObserve, partition: partition0, now: "12:00:01", event: "12:00:10"},
				{op: opAdvance, now: "12:00:10", want: ""},
				{op: opObserve, partition: partition0, now: "12:00:59", event: "12:00:50"},
				{op: opAdvance, now: "12:01:00", want: "12:00:45"},
			},
		},
		{
			name: "watermark never moves backwards",
			steps: []watermarkStep{
				{op: opAssign, partition: partition0, now: "12:00:00"},
				{op: opObserve, partition: partition0, now: "12:00:00", event: "12:00:30"},
				{op: opAdvance, now: "12:00:00", want: "12:00:25"},
				{op: opAssign, partition: partition1, now: "12:00:01"},
				{op: opObserve, partition: partition1, now: "12:00:01", event: "11:59:00"},
				{op: opAdvance, now: "12:00:02", want: "12:00:25"},
				{op: opObserve, partition: partition0, now: "12:00:03", event: "12:00:40"},
				{op: opObserve, partition: partition1, now: "12:00:03", event: "12:00:35"},
				{op: opAdvance, now: "12:00:03", want: "12:00:30"},
			},
		},
		{
			name: "unassigned partition does not count",
			steps: []watermarkStep{
				{op: opAssign, partition: partition0, now: "12:00:00"},
				{op: opObserve, partition: partition0, now: "12:00:00", event: "12:00:10"},
				{op: opObserve, partition: partition2, now: "12:00:00", event: "11:00:00"},
				{op: opAdvance, now: "12:00:01", want: "12:00:05"},
			},
		},
		{
			name:        "idle timeout 0 keeps partitions active",
			disableIdle: true,
			steps: []watermarkStep{
				{op: opAssign, partition: partition0, now: "12:00:00"},
				{op: opObserve, partition: partition0, now: "12:00:00", event: "11:00:00"},
				{op: opAdvance, now: "23:00:00", want: "10:59:55"},
			},
		},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			timeout := idleTimeout
			if tc.disableIdle {
				timeout = 0
			}
			w := NewWatermarks(bound, timeout)
			require.True(t, w.Current().IsZero(), "current before the first advance")

			runWatermarkSteps(t, w, tc.steps)
		})
	}
}

func TestWatermarksSnapshotRestore(t *testing.T) {
	original := NewWatermarks(5*time.Second, time.Minute)
	runWatermarkSteps(t, original, []watermarkStep{
		{op: opAssign, partition: partition0, now: "12:00:00"},
		{op: opAssign, partition: partition1, now: "12:00:00"},
		{op: opAssign, partition: partition2, now: "12:00:00"},
		{op: opObserve, partition: partition0, now: "12:00:01", event: "12:00:10"},
		{op: opObserve, partition: partition1, now: "12:00:01", event: "12:00:30"},
		{op: opObserve, partition: partition2, now: "12:00:01", event: "12:00:20"},
		{op: opAdvance, now: "12:00:02", want: "12:00:05"},
	})

	data, err := json.Marshal(original.Snapshot())
	require.NoError(t, err)
	var state WatermarkState
	require.NoError(t, json.Unmarshal(data, &state))

	want := WatermarkState{
		Partitions: []PartitionWatermark{
			{Topic: "events", Partition: 0, MaxEventTime: clock(t, "12:00:10")},
			{Topic: "events", Partition: 1, MaxEventTime: clock(t, "12:00:30")},
			{Topic: "events", Partition: 2, MaxEventTime: clock(t, "12:00:20")},
		},
		Watermark: clock(t, "12:00:05"),
	}
	require.Equal(t, want, state, "decoded snapshot")

	restored := NewWatermarks(5*time.Second, time.Minute)
	restored.Restore(state)
	require.Equal(t, want, restored.Snapshot(), "snapshot after restore")
	require.Equal(t, clock(t, "12:00:05"), restored.Current(), "current after restore")

	// Until a partition is assigned, the watermark stays at the restored value.
	runWatermarkSteps(t, restored, []watermarkStep{
		{op: opAdvance, now: "13:00:00", want: "12:00:05"},
		{op: opAssign, partition: partition1, now: "13:00:00"},
		{op: opAssign, partition: partition2, now: "13:00:00"},
		{op: opAdvance, now: "13:00:01", want: "12:00:15"},
		{op: opObserve, partition: partition2, now: "13:00:02", event: "12:00:40"},
		{op: opAdvance, now: "13:00:02", want: "12:00:25"},
	})
}

func TestWatermarksRestoreReplacesState(t *testing.T) {
	w := NewWatermarks(time.Second, time.Minute)
	runWatermarkSteps(t, w, []watermarkStep{
		{op: opAssign, partition: partition0, now: "12:00:00"},
		{op: opObserve, partition: partition0, now: "12:00:00", event: "12:00:10"},
		{op: opAdvance, now: "12:00:00", want: "12:00:09"},
	})

	w.Restore(WatermarkState{})

	require.True(t, w.Current().IsZero(), "current after restoring an empty state")
	require.Empty(t, w.Snapshot().Partitions, "partitions after restoring an empty state")
	require.True(t, w.Advance(clock(t, "13:00:00")).IsZero(), "advance before any assign")
}
