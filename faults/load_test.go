package faults

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/gamestream/gamestream/configs"
	"github.com/gamestream/gamestream/loadgen"
)

// input is a generated event stream with the msg_ids that the vault must
// contain once it is processed.
type input struct {
	lines [][]byte
	// valid maps each kind to the distinct msg_ids of its valid lines.
	valid map[string]map[string]bool
	// invalid counts lines that the processor must dead-letter.
	invalid int
	// duplicates counts valid lines whose msg_id an earlier line of the
	// same kind already carried.
	duplicates int
}

// validCount returns the number of distinct valid msg_ids over all kinds.
func (in input) validCount() int {
	n := 0
	for _, ids := range in.valid {
		n += len(ids)
	}
	return n
}

// generatorConfig returns a load of the given number of events from the
// given number of users, spread over one day of 2025, so every window is in
// the past and closes once the input stops.
func generatorConfig(seed int64, events, users int) loadgen.GeneratorConfig {
	cfg := loadgen.DefaultGeneratorConfig()
	cfg.Seed = seed
	cfg.Events = events
	cfg.Users = users
	cfg.Span = 24 * time.Hour
	cfg.PurchaseRate = 0.05
	cfg.DuplicateRate = 0.02
	cfg.InvalidRate = 0.01
	return cfg
}

// generate runs the generator and classifies every line independently of
// the processor's validator. A line is valid when it is a JSON object with
// a msg_id, a known type and a uid, and, for a purchase, an amount without a
// minus sign in a currency of the default rate table. These are the only
// defects the generator injects.
func generate(t *testing.T, cfg loadgen.GeneratorConfig) input {
	t.Helper()
	defaults, err := configs.Load("", nil)
	if err != nil {
		t.Fatalf("loading the default configuration failed: %v", err)
	}
	rates := defaults.Events.Rates

	in := input{valid: map[string]map[string]bool{"auth": {}, "spin": {}, "purchase": {}}}
	err = loadgen.Generate(cfg, func(line []byte) error {
		line = bytes.Clone(line)
		in.lines = append(in.lines, line)

		var ev struct {
			MsgID    string  `json:"msg_id"`
			Type     string  `json:"type"`
			UID      *string `json:"uid"`
			Amount   string  `json:"purchase_amount"`
			Currency string  `json:"currency"`
		}
		valid := json.Unmarshal(line, &ev) == nil && ev.MsgID != "" && ev.UID != nil && *ev.UID != ""
		ids, known := in.valid[ev.Type]
		valid = valid && known
		if valid && ev.Type == "purchase" {
			_, rated := rates[ev.Currency]
			valid = rated && ev.Amount != "" && ev.Amount[0] != '-'
		}
		switch {
		case !valid:
			in.invalid++
		case ids[ev.MsgID]:
			in.duplicates++
		default:
			ids[ev.MsgID] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("generating the input failed: %v", err)
	}

	// The generator makes InvalidRate of the lines invalid. Far more invalid
	// lines mean that the classification above rejects valid ones.
	if limit := int(2*cfg.InvalidRate*float64(cfg.Events)) + 50; in.invalid > limit {
		t.Fatalf("%d of %d generated lines classified invalid, want at most %d for InvalidRate %v",
			in.invalid, cfg.Events, limit, cfg.InvalidRate)
	}
	return in
}
