package windows

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Emission is a report of the figures of one window, returned by Advance.
type Emission struct {
	// Spec is the name of the window spec.
	Spec string `json:"spec"`
	// Start and End bound the window [Start, End) in UTC.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Figures are the figures of the whole window.
	Figures Figures `json:"figures"`
	// Apps are the figures of each app in the window, by app ID.
	Apps map[string]Figures `json:"apps"`
	// IsFinal marks an emission after the watermark passed the window end.
	IsFinal bool `json:"is_final"`
	// Revision is 0 for a provisional emission and counts the final
	// emissions of the window from 1. A final emission with a revision above
	// 1 replaces the earlier ones after late events.
	Revision int `json:"revision"`
}

// window is the state of one window of one spec.
type window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Apps  aggregate `json:"apps"`
	// Changed marks events applied since the last emission.
	Changed bool `json:"changed"`
	// Revision counts the final emissions so far.
	Revision int `json:"revision"`
	// Emitted marks a window with at least one emission, at LastEmission.
	Emitted      bool      `json:"emitted"`
	LastEmission time.Time `json:"last_emission"`
}

func (w *window) emit(spec string, now time.Time, final bool) Emission {
	figures, apps := w.Apps.figures()
	emission := Emission{
		Spec:    spec,
		Start:   w.Start,
		End:     w.End,
		Figures: figures,
		Apps:    apps,
		IsFinal: final,
	}

	if final {
		w.Revision++
		emission.Revision = w.Revision
	}

	w.Changed = false
	w.Emitted = true
	w.LastEmission = now
	return emission
}

// Manager holds the windows of every spec and decides when they fire.
//
// An event is applied to a window while the watermark is before the window
// end plus the allowed lateness of its spec. A window fires final once the
// watermark reaches its end, fires final again with the next revision after
// each late event, and is dropped once the watermark reaches its end plus the
// allowed lateness. Before that, a changed window fires provisionally at most
// once per emit interval of processing time.
//
// Manager encodes to JSON for checkpoints, without its specs. It is not safe
// for concurrent use.
type Manager struct {
	specs []Spec
	// windows maps a spec name and a window start in UTC to the window.
	windows map[string]map[time.Time]*window
	// changes records the windows changed (true) or dropped (false) since
	// the last ClearChanges, for incremental checkpoints.
	changes map[WindowKey]bool
}

// WindowKey identifies one window of one spec.
type WindowKey struct {
	Spec  string
	Start time.Time
}

// NewManager returns a Manager without windows for specs. Spec names must be
// unique, as ValidateSpecs ensures.
func NewManager(specs []Spec) *Manager {
	m := &Manager{windows: make(map[string]map[time.Time]*window), changes: make(map[WindowKey]bool)}
	m.SetSpecs(specs)
	return m
}

// SetSpecs replaces the specs, for example after the Manager was decoded
// from JSON, which does not contain them. It drops the windows of specs that
// no longer exist and the windows whose bounds no longer match their spec,
// including any changes in them that were not emitted yet.
func (m *Manager) SetSpecs(specs []Spec) {
	m.specs = slices.Clone(specs)
	if m.windows == nil {
		m.windows = make(map[string]map[time.Time]*window)
	}
	if m.changes == nil {
		m.changes = make(map[WindowKey]bool)
	}

	specsByName := make(map[string]Spec, len(specs))
	for _, spec := range specs {
		specsByName[spec.Name] = spec
	}

	for name, byStart := range m.windows {
		spec, ok := specsByName[name]
		if !ok {
			for start := range byStart {
				m.changes[WindowKey{name, start}] = false
			}
			delete(m.windows, name)
			continue
		}

		for start, w := range byStart {
			assignedStart, assignedEnd := spec.Assign(start)
			if !assignedStart.Equal(w.Start) || !assignedEnd.Equal(w.End) {
				delete(byStart, start)
				m.changes[WindowKey{name, start}] = false
			}
		}
	}
}

// Add applies c to the window of every spec that contains eventTime, given
// the current watermark. It returns the names of the specs whose window had
// already passed its allowed lateness, in spec order. c is not applied to
// those windows.
func (m *Manager) Add(eventTime time.Time, c Contribution, watermark time.Time) (late []string) {
	return m.AddSkipping(eventTime, c, watermark, nil)
}

// AddSkipping is Add, except that c is not applied to the windows of the
// specs named in skip, and those specs are not reported as late.
func (m *Manager) AddSkipping(eventTime time.Time, c Contribution, watermark time.Time, skip []string) (late []string) {
	for _, spec := range m.specs {
		if slices.Contains(skip, spec.Name) {
			continue
		}
		start, end := spec.Assign(eventTime)
		if !watermark.Before(end.Add(spec.AllowedLateness)) {
			late = append(late, spec.Name)
			continue
		}

		w := m.window(spec.Name, start, end)
		w.Apps.add(c)
		w.Changed = true
		m.changes[WindowKey{spec.Name, start}] = true
	}
	return late
}

func (m *Manager) window(spec string, start, end time.Time) *window {
	byStart, ok := m.windows[spec]
	if !ok {
		byStart = make(map[time.Time]*window)
		m.windows[spec] = byStart
	}

	w, ok := byStart[start]
	if !ok {
		w = &window{Start: start, End: end, Apps: make(aggregate)}
		byStart[start] = w
	}
	return w
}

// Advance returns the emissions due at watermark and processing time now,
// ordered by spec order and then window start, and drops the windows whose
// allowed lateness has passed.
func (m *Manager) Advance(watermark, now time.Time) []Emission {
	var emissions []Emission
	for _, spec := range m.specs {
		emissions = m.advanceSpec(spec, watermark, now, emissions)
	}
	return emissions
}

func (m *Manager) advanceSpec(spec Spec, watermark, now time.Time, emissions []Emission) []Emission {
	byStart := m.windows[spec.Name]
	var due []time.Time
	for start, w := range byStart {
		if w.Revision > 0 || !watermark.Before(w.End) || w.Changed {
			due = append(due, start)
		}
	}
	slices.SortFunc(due, time.Time.Compare)

	for _, start := range due {
		w := byStart[start]
		key := WindowKey{spec.Name, start}

		// A window that fired final stays final even if a caller passes an
		// earlier watermark later.
		if w.Revision > 0 || !watermark.Before(w.End) {
			if w.Revision == 0 || w.Changed {
				emissions = append(emissions, w.emit(spec.Name, now, true))
				m.changes[key] = true
			}
			if !watermark.Before(w.End.Add(spec.AllowedLateness)) {
				delete(byStart, start)
				m.changes[key] = false
			}
			continue
		}

		if w.Changed && (!w.Emitted || now.Sub(w.LastEmission) >= spec.EmitInterval) {
			emissions = append(emissions, w.emit(spec.Name, now, false))
			m.changes[key] = true
		}
	}
	return emissions
}

// EmitChanged returns a provisional emission of every window that changed
// since its last emission and has not fired final, whatever the emit
// interval, ordered by spec order and then window start. Call it right after
// Advance, which fires the windows that are due final, when MySQL must catch
// up with the state: at shutdown and at the end of a rebuild.
func (m *Manager) EmitChanged(now time.Time) []Emission {
	var emissions []Emission
	for _, spec := range m.specs {
		byStart := m.windows[spec.Name]
		var changed []time.Time
		for start, w := range byStart {
			if w.Changed && w.Revision == 0 {
				changed = append(changed, start)
			}
		}
		slices.SortFunc(changed, time.Time.Compare)
		for _, start := range changed {
			emissions = append(emissions, byStart[start].emit(spec.Name, now, false))
			m.changes[WindowKey{spec.Name, start}] = true
		}
	}
	return emissions
}

// Changes returns, encoded as JSON, the windows changed since the last
// ClearChanges, and the keys of the windows dropped since then. A caller
// writes them to a checkpoint and then calls ClearChanges.
func (m *Manager) Changes() (changed map[WindowKey][]byte, dropped []WindowKey, err error) {
	changed = make(map[WindowKey][]byte)
	for key, exists := range m.changes {
		if !exists {
			dropped = append(dropped, key)
			continue
		}
		data, err := json.Marshal(m.windows[key.Spec][key.Start])
		if err != nil {
			return nil, nil, fmt.Errorf("encoding window %s %s: %w", key.Spec, key.Start.Format(time.RFC3339Nano), err)
		}
		changed[key] = data
	}
	return changed, dropped, nil
}

// ClearChanges discards the record of changes that Changes returned.
func (m *Manager) ClearChanges() { clear(m.changes) }

// RestoreWindow adds a window encoded by Changes, when loading a checkpoint.
// Call SetSpecs after the last one.
func (m *Manager) RestoreWindow(key WindowKey, data []byte) error {
	var w window
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("decoding window %s %s: %w", key.Spec, key.Start.Format(time.RFC3339Nano), err)
	}
	byStart, err := indexWindows(key.Spec, []*window{&w})
	if err != nil {
		return err
	}
	if m.windows[key.Spec] == nil {
		m.windows[key.Spec] = make(map[time.Time]*window)
	}
	for start, restored := range byStart {
		m.windows[key.Spec][start] = restored
	}
	return nil
}

// OpenWindows returns the number of windows held in state. It includes the
// windows that fired final and still accept late events.
func (m *Manager) OpenWindows() int {
	count := 0
	for _, byStart := range m.windows {
		count += len(byStart)
	}
	return count
}

// managerState is the JSON form of a Manager: the windows of each spec name,
// ordered by start.
type managerState struct {
	Windows map[string][]*window `json:"windows"`
}

// MarshalJSON encodes the windows of the Manager. The specs are not encoded.
func (m *Manager) MarshalJSON() ([]byte, error) {
	state := managerState{Windows: make(map[string][]*window, len(m.windows))}
	for name, byStart := range m.windows {
		if len(byStart) == 0 {
			continue
		}

		list := slices.SortedFunc(maps.Values(byStart), func(a, b *window) int {
			return a.Start.Compare(b.Start)
		})
		state.Windows[name] = list
	}
	return json.Marshal(state)
}

// UnmarshalJSON replaces the windows with the decoded ones. When the Manager
// already has specs, it applies them as SetSpecs does. Otherwise call
// SetSpecs before using the Manager.
func (m *Manager) UnmarshalJSON(data []byte) error {
	var state managerState
	if err := json.Unmarshal(data, &state); err != nil {
		return err
	}

	windows := make(map[string]map[time.Time]*window, len(state.Windows))
	for name, list := range state.Windows {
		byStart, err := indexWindows(name, list)
		if err != nil {
			return err
		}
		windows[name] = byStart
	}

	m.windows = windows
	if len(m.specs) > 0 {
		m.SetSpecs(m.specs)
	}
	return nil
}

func indexWindows(name string, list []*window) (map[time.Time]*window, error) {
	byStart := make(map[time.Time]*window, len(list))
	for i, w := range list {
		if w == nil {
			return nil, fmt.Errorf("windows.%s[%d]: invalid value null: want a window", name, i)
		}
		if !w.End.After(w.Start) {
			return nil, fmt.Errorf("windows.%s[%d].end: invalid value %s: want a time after start %s",
				name, i, w.End.Format(time.RFC3339Nano), w.Start.Format(time.RFC3339Nano))
		}

		w.Start = w.Start.UTC()
		w.End = w.End.UTC()
		if w.Apps == nil {
			w.Apps = make(aggregate)
		}

		if _, ok := byStart[w.Start]; ok {
			return nil, fmt.Errorf("windows.%s[%d]: duplicate window start %s", name, i, w.Start.Format(time.RFC3339Nano))
		}
		byStart[w.Start] = w
	}
	return byStart, nil
}
