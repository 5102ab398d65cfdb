package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/gamestream/gamestream/handlers"
)

// LateEvent names a stored event that a window spec did not apply because it
// arrived beyond the allowed lateness.
type LateEvent struct {
	Kind       handlers.Kind
	MsgID      string
	ReportType string
	CreatedAt  time.Time
}

// InsertLateEvents records late events in late_event_info in one statement;
// pairs already recorded are left unchanged.
func (v *Vault) InsertLateEvents(ctx context.Context, events []LateEvent, source string, loadTime time.Time) error {
	if len(events) == 0 {
		return nil
	}
	kinds := make([]string, len(events))
	msgIDs := make([]string, len(events))
	types := make([]string, len(events))
	times := make([]time.Time, len(events))
	for i, e := range events {
		kinds[i], msgIDs[i], types[i], times[i] = string(e.Kind), e.MsgID, e.ReportType, e.CreatedAt
	}
	_, err := v.pool.Exec(ctx, `
INSERT INTO late_event_info (kind, msg_id, report_type, created_at, load_dts, record_source)
SELECT k, m, r, c, $5, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS e(k, m, r, c)
ON CONFLICT DO NOTHING`, kinds, msgIDs, types, times, loadTime, source)
	if err != nil {
		return fmt.Errorf("insert %d rows into late_event_info (first msg_id %q): %w", len(events), msgIDs[0], err)
	}
	return nil
}
