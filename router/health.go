package router

import (
	"log/slog"
	"sort"
	"sync"
)

// Health tracks whether each dependency (postgres, mysql, badger, kafka)
// currently works. It logs one line per change of state, never one per
// retry, and feeds /readyz and the gamestream_dependency_up metric.
type Health struct {
	mu      sync.Mutex
	failing map[string]error
	known   map[string]bool
	metrics *Metrics
	logger  *slog.Logger
}

// NewHealth returns a tracker with every dependency assumed up.
func NewHealth(m *Metrics, logger *slog.Logger) *Health {
	return &Health{failing: make(map[string]error), known: make(map[string]bool), metrics: m, logger: logger}
}

// Set records the outcome of the latest operation on dep: nil for success.
func (h *Health) Set(dep string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()

	_, wasFailing := h.failing[dep]
	first := !h.known[dep]
	h.known[dep] = true
	switch {
	case err != nil && !wasFailing:
		h.failing[dep] = err
		h.metrics.dependencyUp.WithLabelValues(dep).Set(0)
		h.logger.Error("dependency unavailable; retrying with backoff", "dependency", dep, "error", err)
	case err != nil:
		h.failing[dep] = err
	case wasFailing:
		delete(h.failing, dep)
		h.metrics.dependencyUp.WithLabelValues(dep).Set(1)
		h.logger.Info("dependency available again", "dependency", dep)
	case first:
		h.metrics.dependencyUp.WithLabelValues(dep).Set(1)
	}
}

// Problems returns one line per failing dependency, sorted; empty when all
// work.
func (h *Health) Problems() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.failing))
	for dep, err := range h.failing {
		out = append(out, dep+": "+err.Error())
	}
	sort.Strings(out)
	return out
}
