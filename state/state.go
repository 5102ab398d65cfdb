package state

import (
	"time"

	"github.com/gamestream/gamestream/handlers"
	"github.com/gamestream/gamestream/windows"
)

// State is everything the processor folds events into: users, windows and
// watermarks, plus the offsets up to which every record has been folded.
// One goroutine owns a State; it is not safe for concurrent use.
type State struct {
	Users      map[string]*User
	Windows    *windows.Manager
	Watermarks *windows.Watermarks
	// Offsets holds, per partition, the offset of the next record to fold:
	// every record below it is included in the state.
	Offsets map[windows.PartitionKey]int64
	// Emissions holds the latest emission of each fired window not yet
	// written to MySQL, keyed by window; FinalEmissions holds every final
	// emission not yet written to the vault. Both are checkpointed, so a
	// window that fired before a crash is still written after it.
	Emissions      map[string]windows.Emission
	FinalEmissions []windows.Emission
	// LateEvents lists the events not applied to some window because they
	// came beyond its allowed lateness, until they are written to the vault.
	LateEvents []LateEvent
	// Rebuilding is set while the state is being rebuilt from the log. The
	// processor then writes nothing to MySQL until it has caught up, so
	// dashboards never see the partial totals of a rebuild.
	Rebuilding bool
	// KnownLate maps the LateKey of each event still to be read again to the
	// specs for which it was recorded as late before a replay. Fold leaves
	// the event out of those windows whatever the watermark, so a replay
	// keeps the decisions already written to the vault. Fold then deletes
	// the entry.
	KnownLate map[string][]string

	dirtyCheckpoint map[string]struct{}
	dirtyFlush      map[string]struct{}
}

// New returns an empty state for the given window specs and watermark
// settings.
func New(specs []windows.Spec, bound, idleTimeout time.Duration) *State {
	return &State{
		Users:           make(map[string]*User),
		Windows:         windows.NewManager(specs),
		Watermarks:      windows.NewWatermarks(bound, idleTimeout),
		Offsets:         make(map[windows.PartitionKey]int64),
		Emissions:       make(map[string]windows.Emission),
		dirtyCheckpoint: make(map[string]struct{}),
		dirtyFlush:      make(map[string]struct{}),
	}
}

// Fold applies one stored event to the user and to every window spec, and
// returns the names of the specs for which the event was too late to apply.
func (s *State) Fold(e *handlers.Event, src handlers.Source, now time.Time) (late []string) {
	s.applyToUser(e)
	s.dirtyFlush[e.UID] = struct{}{}

	key := windows.PartitionKey{Topic: src.Topic, Partition: src.Partition}
	s.Watermarks.Observe(key, e.Time, now)
	var known []string
	if len(s.KnownLate) > 0 {
		lk := LateKey(e.Kind, e.MsgID)
		known = s.KnownLate[lk]
		delete(s.KnownLate, lk)
	}
	late = s.Windows.AddSkipping(e.Time, contribution(e), s.Watermarks.Current(), known)
	for _, spec := range late {
		s.LateEvents = append(s.LateEvents, LateEvent{Kind: e.Kind, MsgID: e.MsgID, Spec: spec, Time: e.Time})
	}
	return late
}

// Refold applies an event read back from the vault while the state is
// rebuilt as of given offsets. It updates the user and the highest event time
// of the partition, and applies the event to the window of every spec not
// named in skip, whatever the watermark. The user is marked for the next
// checkpoint but not for a flush: a rebuilt state writes every user to MySQL
// once it has caught up.
func (s *State) Refold(e *handlers.Event, src handlers.Source, skip []string) {
	s.applyToUser(e)

	s.Watermarks.Observe(windows.PartitionKey{Topic: src.Topic, Partition: src.Partition}, e.Time, time.Time{})
	s.Windows.AddSkipping(e.Time, contribution(e), time.Time{}, skip)
}

// applyToUser applies e to its user, created on its first event, and marks
// the user for the next checkpoint.
func (s *State) applyToUser(e *handlers.Event) {
	u, ok := s.Users[e.UID]
	if !ok {
		u = &User{}
		s.Users[e.UID] = u
	}
	u.Apply(e)
	s.dirtyCheckpoint[e.UID] = struct{}{}
}

// LateKey is the key of an event in KnownLate.
func LateKey(kind handlers.Kind, msgID string) string {
	return string(kind) + "/" + msgID
}

// LateEvent is an event that the window spec Spec did not apply.
type LateEvent struct {
	Kind  handlers.Kind `json:"kind"`
	MsgID string        `json:"msg_id"`
	Spec  string        `json:"spec"`
	Time  time.Time     `json:"time"`
}

func contribution(e *handlers.Event) windows.Contribution {
	c := windows.Contribution{UID: e.UID, AppID: e.AppID}
	switch e.Kind {
	case handlers.KindSpin:
		c.Spins = e.SpinCount
	case handlers.KindPurchase:
		c.IsPurchase = true
		c.Purchase = e.AmountReporting
	}
	return c
}

// Advance records that every record of the partition below next is folded.
func (s *State) Advance(key windows.PartitionKey, next int64) {
	if next > s.Offsets[key] {
		s.Offsets[key] = next
	}
}

// DirtyForCheckpoint returns how many users changed since the last checkpoint.
func (s *State) DirtyForCheckpoint() int { return len(s.dirtyCheckpoint) }

// TakeDirtyForFlush returns the users changed since the last call and clears
// that set. The caller puts them back with MarkForFlush if its write fails.
func (s *State) TakeDirtyForFlush() []string {
	uids := make([]string, 0, len(s.dirtyFlush))
	for uid := range s.dirtyFlush {
		uids = append(uids, uid)
	}
	clear(s.dirtyFlush)
	return uids
}

// MarkForFlush marks users as changed for the next flush.
func (s *State) MarkForFlush(uids []string) {
	for _, uid := range uids {
		s.dirtyFlush[uid] = struct{}{}
	}
}

// MarkAllForFlush marks every user as changed for the next flush.
func (s *State) MarkAllForFlush() {
	for uid := range s.Users {
		s.dirtyFlush[uid] = struct{}{}
	}
}

// DirtyForFlush returns how many users changed since the last flush.
func (s *State) DirtyForFlush() int { return len(s.dirtyFlush) }

// Queue keeps e for the next flush: the latest emission per window for MySQL
// and every final emission for the vault.
func (s *State) Queue(e windows.Emission) {
	s.Emissions[e.Spec+"/"+e.Start.UTC().Format(time.RFC3339Nano)] = e
	if e.IsFinal {
		s.FinalEmissions = append(s.FinalEmissions, e)
	}
}

// PendingFlush returns the users and emissions waiting for the next flush.
func (s *State) PendingFlush() int {
	return len(s.dirtyFlush) + len(s.Emissions) + len(s.FinalEmissions) + len(s.LateEvents)
}
