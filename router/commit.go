package router

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/gamestream/gamestream/stores/mysql"
	"github.com/gamestream/gamestream/stores/postgres"
	"github.com/gamestream/gamestream/windows"
)

// commit checkpoints the state to Badger and then writes the changed
// profiles and the queued window reports to MySQL and the vault. A failed
// checkpoint skips the flush, and a failed flush keeps its rows queued. Both
// are retried with backoff at later ticks while processing goes on. With
// final set it retries until ctx ends instead, for shutdown.
func (p *Processor) commit(ctx context.Context, final bool) error {
	for {
		err := p.commitOnce(ctx)
		if err == nil {
			p.commitRetry.succeeded()
			return nil
		}
		now := p.now()
		p.commitRetry.failed(now)
		if !final {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("final commit: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(time.Until(p.commitRetry.next)):
		}
	}
}

func (p *Processor) commitOnce(ctx context.Context) error {
	now := p.now()
	start := time.Now()
	if err := p.ckpt.Save(p.st, now); err != nil {
		p.metrics.writeErrors.WithLabelValues("badger").Inc()
		p.health.Set("badger", err)
		return err
	}
	p.health.Set("badger", nil)
	p.metrics.writeSeconds.WithLabelValues("badger").Observe(time.Since(start).Seconds())
	p.metrics.checkpointTime.Set(float64(now.UnixMilli()) / 1000)
	p.lastCommit = now
	if p.st.Rebuilding {
		if !p.caughtUp() {
			return nil
		}
		p.st.Rebuilding = false
		for _, e := range p.st.Windows.EmitChanged(now) {
			p.st.Queue(e)
		}
		p.st.MarkAllForFlush()
		p.logger.Info("state rebuilt from the log; writing every profile and report to MySQL", "users", len(p.st.Users))
		if err := p.ckpt.Save(p.st, now); err != nil {
			return err
		}
	}
	return p.flush(ctx, now)
}

// nearEndGrace is how long a rebuild may stay within one batch of the end of
// every partition before it counts as caught up without reaching lag 0.
const nearEndGrace = 10 * time.Second

// caughtUp reports whether the processor owns at least one partition and has
// folded every one of them to its high-water mark. Live traffic can keep a
// partition a few records behind its end for good, so being within one batch
// of the end for nearEndGrace also counts.
func (p *Processor) caughtUp() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.assigned) == 0 {
		return false
	}
	exact := true
	for key := range p.assigned {
		lag := p.hwm[key] - p.st.Offsets[key]
		if lag > int64(p.cfg.BatchSize) {
			p.nearEndSince = time.Time{}
			return false
		}
		exact = exact && lag <= 0
	}
	if exact {
		return true
	}
	now := p.now()
	if p.nearEndSince.IsZero() {
		p.nearEndSince = now
	}
	return now.Sub(p.nearEndSince) >= nearEndGrace
}

func (p *Processor) flush(ctx context.Context, now time.Time) error {
	uids := p.st.TakeDirtyForFlush()
	if len(uids) == 0 && len(p.st.Emissions) == 0 && len(p.st.FinalEmissions) == 0 && len(p.st.LateEvents) == 0 {
		return nil
	}
	profiles := p.profileRows(uids)
	reports, apps := p.reportRows()

	start := time.Now()
	if err := p.reports.Write(ctx, profiles, reports, apps, p.asOf(now)); err != nil {
		p.st.MarkForFlush(uids)
		p.metrics.writeErrors.WithLabelValues("mysql").Inc()
		p.health.Set("mysql", err)
		return err
	}
	p.health.Set("mysql", nil)
	p.metrics.writeSeconds.WithLabelValues("mysql").Observe(time.Since(start).Seconds())
	p.metrics.profilesOut.Add(float64(len(profiles)))
	for _, r := range reports {
		p.metrics.reportsOut.WithLabelValues(finality(r.IsFinal)).Inc()
	}
	clear(p.st.Emissions)

	if len(p.st.FinalEmissions) > 0 {
		rows := make([]postgres.ReportRow, 0, len(p.st.FinalEmissions))
		for _, e := range p.st.FinalEmissions {
			rows = append(rows, vaultReport(e))
		}
		if err := p.vault.InsertReports(ctx, rows, "gamestream", now); err != nil {
			p.metrics.writeErrors.WithLabelValues("postgres").Inc()
			p.health.Set("postgres", err)
			return err
		}
		p.st.FinalEmissions = nil
	}
	if len(p.st.LateEvents) > 0 {
		late := make([]postgres.LateEvent, 0, len(p.st.LateEvents))
		for _, e := range p.st.LateEvents {
			late = append(late, postgres.LateEvent{Kind: e.Kind, MsgID: e.MsgID, ReportType: e.Spec, CreatedAt: e.Time})
		}
		if err := p.vault.InsertLateEvents(ctx, late, "gamestream", now); err != nil {
			p.metrics.writeErrors.WithLabelValues("postgres").Inc()
			p.health.Set("postgres", err)
			return err
		}
		p.st.LateEvents = nil
	}
	return nil
}

func finality(final bool) string {
	if final {
		return "final"
	}
	return "provisional"
}

func (p *Processor) profileRows(uids []string) []mysql.ProfileRow {
	sort.Strings(uids)
	rows := make([]mysql.ProfileRow, 0, len(uids))
	for _, uid := range uids {
		u := p.st.Users[uid]
		rows = append(rows, mysql.ProfileRow{
			UID:            uid,
			Email:          u.Email,
			Phone:          u.Phone,
			TotalSpins:     u.TotalSpins,
			TotalPurchases: u.TotalPurchases,
			PurchaseCount:  u.PurchaseCount,
			FavoriteGame:   u.FavoriteGame(),
			LastEventAt:    u.LastEventAt,
		})
	}
	return rows
}

func (p *Processor) reportRows() ([]mysql.ReportRow, []mysql.AppReportRow) {
	emissions := make([]windows.Emission, 0, len(p.st.Emissions))
	for _, e := range p.st.Emissions {
		emissions = append(emissions, e)
	}
	sort.Slice(emissions, func(i, j int) bool {
		return mysql.ReportID(emissions[i].Spec, emissions[i].Start) < mysql.ReportID(emissions[j].Spec, emissions[j].Start)
	})

	reports := make([]mysql.ReportRow, 0, len(emissions))
	var apps []mysql.AppReportRow
	for _, e := range emissions {
		id := mysql.ReportID(e.Spec, e.Start)
		f := e.Figures
		reports = append(reports, mysql.ReportRow{
			ReportID: id, ReportType: e.Spec, WindowStart: e.Start, WindowEnd: e.End,
			TotalSpins: f.TotalSpins, TotalPurchases: f.TotalPurchases, PurchaseCount: f.PurchaseCount,
			AvgPurchase: f.AvgPurchase, MostSpentGame: f.MostSpentGame, ActiveUsers: f.ActiveUsers,
			IsFinal: e.IsFinal, Revision: e.Revision,
		})
		appIDs := make([]string, 0, len(e.Apps))
		for app := range e.Apps {
			appIDs = append(appIDs, app)
		}
		sort.Strings(appIDs)
		for _, app := range appIDs {
			a := e.Apps[app]
			apps = append(apps, mysql.AppReportRow{
				ReportID: id, ReportType: e.Spec, AppID: app, WindowStart: e.Start, WindowEnd: e.End,
				TotalSpins: a.TotalSpins, TotalPurchases: a.TotalPurchases, PurchaseCount: a.PurchaseCount,
				AvgPurchase: a.AvgPurchase, ActiveUsers: a.ActiveUsers, IsFinal: e.IsFinal, Revision: e.Revision,
			})
		}
	}
	return reports, apps
}

func vaultReport(e windows.Emission) postgres.ReportRow {
	f := e.Figures
	return postgres.ReportRow{
		ReportID: mysql.ReportID(e.Spec, e.Start), Revision: e.Revision, ReportType: e.Spec, WindowStart: e.Start, WindowEnd: e.End,
		TotalSpins: f.TotalSpins, TotalPurchases: f.TotalPurchases, PurchaseCount: f.PurchaseCount,
		AvgPurchase: f.AvgPurchase, MostSpentGame: f.MostSpentGame, ActiveUsers: f.ActiveUsers,
	}
}
