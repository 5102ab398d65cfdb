package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/gamestream/gamestream/internal/failpoint"
	"github.com/gamestream/gamestream/windows"
)

// formatVersion is the version of the checkpoint layout written by this code.
const formatVersion = 1

// Key layout in Badger.
var (
	keyMeta       = []byte("meta")
	keyOffsets    = []byte("offsets")
	keyWatermarks = []byte("watermarks")
	keyPending    = []byte("pending")
	prefixUser    = []byte("user/")
	prefixWindow  = []byte("window/")
)

// ErrGroupMismatch is returned by Load when the checkpoint was written for
// another consumer group.
var ErrGroupMismatch = errors.New("checkpoint belongs to another consumer group")

// Meta describes a checkpoint.
type Meta struct {
	Version int       `json:"version"`
	Group   string    `json:"group"`
	Seq     uint64    `json:"seq"`
	SavedAt time.Time `json:"saved_at"`
}

// pendingFlush is the part of a checkpoint that lists work not yet flushed.
type pendingFlush struct {
	Users          []string                    `json:"users"`
	Emissions      map[string]windows.Emission `json:"emissions"`
	FinalEmissions []windows.Emission          `json:"final_emissions"`
	LateEvents     []LateEvent                 `json:"late_events"`
	Rebuilding     bool                        `json:"rebuilding"`
	KnownLate      map[string][]string         `json:"known_late,omitempty"`
}

type offsetEntry struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Next      int64  `json:"next"`
}

// Checkpointer writes State to a Badger database and reads it back.
//
// A checkpoint is one Badger transaction. It contains the users and the
// windows changed since the previous checkpoint, the watermarks, the work
// waiting for MySQL and the offsets. After a crash the database therefore
// holds either the previous or the new checkpoint, never a mix. The caller bounds the size of a transaction by
// checkpointing after at most processor.checkpoint_max_dirty_users changed
// users.
//
// NOTE: the number of changed windows is not bounded that way. A transaction
// larger than Badger's limit (about 19 MB with the 128 MB memtable set here)
// fails with badger.ErrTxnTooBig on every retry. The demo's largest commit,
// some 23,000 minute windows, was written without error.
type Checkpointer struct {
	db    *badger.DB
	dir   string
	group string
	seq   uint64
}

// OpenCheckpointer opens or creates the Badger database in dir for the
// consumer group.
func OpenCheckpointer(dir, group string, logger *slog.Logger) (*Checkpointer, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{logger}).
		WithSyncWrites(true).
		WithMemTableSize(128 << 20).
		WithNumVersionsToKeep(1)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("opening state directory %s: %w", dir, err)
	}
	return &Checkpointer{db: db, dir: dir, group: group}, nil
}

// Dir returns the Badger directory.
func (c *Checkpointer) Dir() string { return c.dir }

// Close closes the database.
func (c *Checkpointer) Close() error { return c.db.Close() }

// Load returns the last checkpoint as a State, or found false with an empty
// State when the database holds none.
func (c *Checkpointer) Load(specs []windows.Spec, bound, idleTimeout time.Duration) (s *State, meta Meta, found bool, err error) {
	s = New(specs, bound, idleTimeout)
	err = c.db.View(func(txn *badger.Txn) error {
		ok, err := readJSON(txn, keyMeta, &meta)
		if err != nil || !ok {
			return err
		}
		found = true
		if meta.Version != formatVersion {
			return fmt.Errorf("checkpoint format version %d is not supported (want %d)", meta.Version, formatVersion)
		}
		if meta.Group != c.group {
			return fmt.Errorf("%w: written for %q, configured %q", ErrGroupMismatch, meta.Group, c.group)
		}
		return c.loadInto(txn, s, specs)
	})
	if err != nil {
		return nil, Meta{}, false, fmt.Errorf("reading checkpoint from %s: %w", c.dir, err)
	}
	c.seq = meta.Seq
	return s, meta, found, nil
}

func (c *Checkpointer) loadInto(txn *badger.Txn, s *State, specs []windows.Spec) error {
	var offsets []offsetEntry
	if _, err := readJSON(txn, keyOffsets, &offsets); err != nil {
		return err
	}
	for _, o := range offsets {
		s.Offsets[windows.PartitionKey{Topic: o.Topic, Partition: o.Partition}] = o.Next
	}

	if err := loadWindows(txn, s.Windows); err != nil {
		return err
	}
	s.Windows.SetSpecs(specs)

	var wm windows.WatermarkState
	if _, err := readJSON(txn, keyWatermarks, &wm); err != nil {
		return err
	}
	s.Watermarks.Restore(wm)

	var pending pendingFlush
	if _, err := readJSON(txn, keyPending, &pending); err != nil {
		return err
	}
	s.MarkForFlush(pending.Users)
	if pending.Emissions != nil {
		s.Emissions = pending.Emissions
	}
	s.FinalEmissions = pending.FinalEmissions
	s.LateEvents = pending.LateEvents
	s.Rebuilding = pending.Rebuilding
	s.KnownLate = pending.KnownLate

	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256, Prefix: prefixUser})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		uid := string(item.Key()[len(prefixUser):])
		u := &User{}
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, u) }); err != nil {
			return fmt.Errorf("decoding user %q: %w", uid, err)
		}
		s.Users[uid] = u
	}
	return nil
}

// Save writes a checkpoint of s in one transaction and clears its record of
// users changed since the previous checkpoint.
func (c *Checkpointer) Save(s *State, now time.Time) error {
	meta := Meta{Version: formatVersion, Group: c.group, Seq: c.seq + 1, SavedAt: now.UTC()}
	offsets := make([]offsetEntry, 0, len(s.Offsets))
	for k, next := range s.Offsets {
		offsets = append(offsets, offsetEntry{Topic: k.Topic, Partition: k.Partition, Next: next})
	}

	pending := pendingFlush{Emissions: s.Emissions, FinalEmissions: s.FinalEmissions, LateEvents: s.LateEvents,
		Rebuilding: s.Rebuilding, KnownLate: s.KnownLate}
	for uid := range s.dirtyFlush {
		pending.Users = append(pending.Users, uid)
	}

	err := c.db.Update(func(txn *badger.Txn) error {
		for uid := range s.dirtyCheckpoint {
			if err := writeJSON(txn, append(append([]byte(nil), prefixUser...), uid...), s.Users[uid]); err != nil {
				return fmt.Errorf("user %q: %w", uid, err)
			}
		}
		if err := saveWindows(txn, s.Windows); err != nil {
			return err
		}
		if err := writeJSON(txn, keyWatermarks, s.Watermarks.Snapshot()); err != nil {
			return fmt.Errorf("watermarks: %w", err)
		}
		if err := writeJSON(txn, keyPending, pending); err != nil {
			return fmt.Errorf("pending flush: %w", err)
		}
		if err := writeJSON(txn, keyOffsets, offsets); err != nil {
			return fmt.Errorf("offsets: %w", err)
		}
		if err := writeJSON(txn, keyMeta, meta); err != nil {
			return err
		}
		failpoint.Hit(failpoint.CheckpointCommit)
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing checkpoint %d to %s: %w", meta.Seq, c.dir, err)
	}
	c.seq = meta.Seq
	clear(s.dirtyCheckpoint)
	s.Windows.ClearChanges()
	return nil
}

// SaveUsers writes the users changed since the last checkpoint in
// transactions of at most chunk users each and clears them from the record
// of changes. It works only on a database without a checkpoint, after Reset
// or on a new directory: the users become part of a checkpoint with the next
// Save, and a crash before that leaves no checkpoint rather than a mix.
func (c *Checkpointer) SaveUsers(s *State, chunk int) error {
	if chunk < 1 {
		return fmt.Errorf("saving users: chunk %d, want at least 1", chunk)
	}
	err := c.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(keyMeta)
		if err == nil {
			return errors.New("the database already contains a checkpoint; call Reset first")
		}
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("saving users to %s: %w", c.dir, err)
	}

	uids := make([]string, 0, len(s.dirtyCheckpoint))
	for uid := range s.dirtyCheckpoint {
		uids = append(uids, uid)
	}
	for len(uids) > 0 {
		n := min(chunk, len(uids))
		err := c.db.Update(func(txn *badger.Txn) error {
			for _, uid := range uids[:n] {
				if err := writeJSON(txn, append(append([]byte(nil), prefixUser...), uid...), s.Users[uid]); err != nil {
					return fmt.Errorf("user %q: %w", uid, err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("saving users to %s: %w", c.dir, err)
		}
		for _, uid := range uids[:n] {
			delete(s.dirtyCheckpoint, uid)
		}
		uids = uids[n:]
	}
	return nil
}

// saveWindows writes the windows changed since the last checkpoint, one key
// each, and deletes the keys of dropped windows.
func saveWindows(txn *badger.Txn, m *windows.Manager) error {
	changed, dropped, err := m.Changes()
	if err != nil {
		return err
	}
	for key, data := range changed {
		if err := txn.Set(windowKey(key), data); err != nil {
			return fmt.Errorf("window %s %s: %w", key.Spec, key.Start.Format(time.RFC3339Nano), err)
		}
	}
	for _, key := range dropped {
		if err := txn.Delete(windowKey(key)); err != nil {
			return fmt.Errorf("window %s %s: %w", key.Spec, key.Start.Format(time.RFC3339Nano), err)
		}
	}
	return nil
}

func loadWindows(txn *badger.Txn, m *windows.Manager) error {
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256, Prefix: prefixWindow})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		key, err := parseWindowKey(item.Key())
		if err != nil {
			return err
		}
		if err := item.Value(func(v []byte) error { return m.RestoreWindow(key, v) }); err != nil {
			return err
		}
	}
	return nil
}

// windowKey is window/<spec>/<start in UTC RFC 3339>. Spec names contain no
// slash.
func windowKey(key windows.WindowKey) []byte {
	return []byte(string(prefixWindow) + key.Spec + "/" + key.Start.UTC().Format(time.RFC3339Nano))
}

func parseWindowKey(raw []byte) (windows.WindowKey, error) {
	spec, start, ok := strings.Cut(string(raw[len(prefixWindow):]), "/")
	t, err := time.Parse(time.RFC3339Nano, start)
	if !ok || err != nil {
		return windows.WindowKey{}, fmt.Errorf("invalid window key %q", raw)
	}
	return windows.WindowKey{Spec: spec, Start: t.UTC()}, nil
}

// Reset deletes every checkpoint key, leaving an empty database.
func (c *Checkpointer) Reset() error {
	if err := c.db.DropAll(); err != nil {
		return fmt.Errorf("clearing state directory %s: %w", c.dir, err)
	}
	c.seq = 0
	return nil
}

func readJSON(txn *badger.Txn, key []byte, into any) (bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	err = item.Value(func(v []byte) error { return json.Unmarshal(v, into) })
	if err != nil {
		return false, fmt.Errorf("decoding %s: %w", key, err)
	}
	return true, nil
}

func writeJSON(txn *badger.Txn, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(key, data)
}

// badgerLogger sends Badger's warnings and errors to slog and drops its
// informational chatter.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Infof(string, ...any)  {}
func (b badgerLogger) Debugf(string, ...any) {}
