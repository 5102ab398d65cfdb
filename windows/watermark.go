package windows

import (
	"cmp"
	"slices"
	"time"
)

// PartitionKey identifies a Kafka partition.
type PartitionKey struct {
	// Topic is the Kafka topic name.
	Topic string
	// Partition is the partition number within Topic.
	Partition int32
}

type partitionState struct {
	maxEventTime time.Time
	assigned     bool
	lastActivity time.Time
	lag          int64
}

// Watermarks tracks the event-time watermark over the assigned partitions.
//
// Each partition contributes the highest event time observed on it. The
// watermark is the minimum of those over the assigned partitions that are
// not idle, minus the bound. A partition is idle when it has had no Observe
// for the idle timeout and its lag is 0, so a partition with unread records
// always holds the watermark back. An assigned partition that is not idle and
// has no event yet holds the watermark where it is. When every assigned
// partition is idle, or all were revoked, the watermark is now minus the
// bound. The watermark never moves backwards.
//
// Watermarks is not safe for concurrent use.
type Watermarks struct {
	bound        time.Duration
	idleTimeout  time.Duration
	partitions   map[PartitionKey]*partitionState
	everAssigned bool
	current      time.Time
}

// NewWatermarks returns Watermarks that subtract bound, the maximum expected
// disorder of event times, and treat a partition as idle after idleTimeout
// without events. A negative bound counts as 0. An idleTimeout of 0 or less
// turns idle detection off, so every assigned partition holds the watermark.
func NewWatermarks(bound, idleTimeout time.Duration) *Watermarks {
	return &Watermarks{
		bound:       max(bound, 0),
		idleTimeout: idleTimeout,
		partitions:  make(map[PartitionKey]*partitionState),
	}
}

func (w *Watermarks) partition(p PartitionKey) *partitionState {
	state, ok := w.partitions[p]
	if !ok {
		state = &partitionState{}
		w.partitions[p] = state
	}
	return state
}

// Assign marks p as assigned and active at now. Its lag is unknown, which
// counts as 0, until SetLag. The maximum event time from an earlier
// assignment or from Restore stays.
func (w *Watermarks) Assign(p PartitionKey, now time.Time) {
	state := w.partition(p)
	state.assigned = true
	state.lastActivity = now
	state.lag = 0
	w.everAssigned = true
}

// Revoke removes p from the watermark computation. Its maximum event time is
// kept for a later Assign.
func (w *Watermarks) Revoke(p PartitionKey) {
	state, ok := w.partitions[p]
	if !ok {
		return
	}
	state.assigned = false
	state.lag = 0
}

// Observe records an event of p with eventTime, read at processing time now.
// An event of a partition that is not assigned updates its maximum event
// time but does not make it take part in the watermark.
func (w *Watermarks) Observe(p PartitionKey, eventTime, now time.Time) {
	state := w.partition(p)
	if eventTime.After(state.maxEventTime) {
		state.maxEventTime = eventTime.UTC()
	}
	state.lastActivity = now
}

// SetLag records the number of records of p that are left unread. A
// partition with a lag above 0 is never idle.
func (w *Watermarks) SetLag(p PartitionKey, lag int64) {
	w.partition(p).lag = lag
}

// Advance recomputes the watermark at processing time now and returns it.
// The result is never before the previous one. It stays at the previous
// value, the zero time at first, while no partition was ever assigned or while
// a partition that is not idle has no event yet.
func (w *Watermarks) Advance(now time.Time) time.Time {
	if !w.everAssigned {
		return w.current
	}

	candidate, ok := w.activeMinimum(now)
	if !ok {
		return w.current
	}

	candidate = candidate.Add(-w.bound).UTC()
	if candidate.After(w.current) {
		w.current = candidate
	}
	return w.current
}

// activeMinimum returns the earliest of the maximum event times of the
// assigned partitions that are not idle, or now when all of them are idle.
// ok is false when a partition that is not idle has no event yet. It is also
// false when every partition is idle but none has ever had an event, because
// a processor that starts before its input arrives must not move to the wall
// clock, or the older events that follow would all be late.
func (w *Watermarks) activeMinimum(now time.Time) (minimum time.Time, ok bool) {
	anyActive := false
	for _, state := range w.partitions {
		if !state.assigned || w.idle(state, now) {
			continue
		}

		if state.maxEventTime.IsZero() {
			return time.Time{}, false
		}

		if !anyActive || state.maxEventTime.Before(minimum) {
			minimum = state.maxEventTime
		}
		anyActive = true
	}

	if !anyActive {
		if !w.anyEventSeen() {
			return time.Time{}, false
		}
		return now, true
	}
	return minimum, true
}

func (w *Watermarks) anyEventSeen() bool {
	for _, state := range w.partitions {
		if !state.maxEventTime.IsZero() {
			return true
		}
	}
	return !w.current.IsZero()
}

func (w *Watermarks) idle(state *partitionState, now time.Time) bool {
	if w.idleTimeout <= 0 || state.lag > 0 {
		return false
	}
	return now.Sub(state.lastActivity) >= w.idleTimeout
}

// Current returns the watermark computed by the last Advance, or the zero
// time before the first one.
func (w *Watermarks) Current() time.Time {
	return w.current
}

// WatermarkState is the checkpoint of Watermarks.
type WatermarkState struct {
	// Partitions lists the partitions with at least one event, ordered by
	// topic and partition.
	Partitions []PartitionWatermark `json:"partitions"`
	// Watermark is the value of Current, the zero time before any Advance.
	Watermark time.Time `json:"watermark"`
}

// PartitionWatermark is the highest event time observed on one partition.
type PartitionWatermark struct {
	// Topic and Partition identify the partition as in PartitionKey.
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// MaxEventTime is the highest event time observed, in UTC.
	MaxEventTime time.Time `json:"max_event_time"`
}

// Snapshot returns the state to checkpoint. Assignment, lag and activity
// times are not part of it because they describe the running consumer.
func (w *Watermarks) Snapshot() WatermarkState {
	state := WatermarkState{Watermark: w.current}
	for key, partition := range w.partitions {
		if partition.maxEventTime.IsZero() {
			continue
		}
		state.Partitions = append(state.Partitions, PartitionWatermark{
			Topic:        key.Topic,
			Partition:    key.Partition,
			MaxEventTime: partition.maxEventTime,
		})
	}

	slices.SortFunc(state.Partitions, func(a, b PartitionWatermark) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return state
}

// Restore replaces all state with s. No partition is assigned afterwards, so
// the watermark stays at s.Watermark until Assign is called. Each restored
// partition keeps its maximum event time for when it is assigned again.
func (w *Watermarks) Restore(s WatermarkState) {
	w.partitions = make(map[PartitionKey]*partitionState, len(s.Partitions))
	for _, p := range s.Partitions {
		key := PartitionKey{Topic: p.Topic, Partition: p.Partition}
		w.partitions[key] = &partitionState{maxEventTime: p.MaxEventTime.UTC()}
	}

	w.everAssigned = false
	w.current = s.Watermark.UTC()
}
