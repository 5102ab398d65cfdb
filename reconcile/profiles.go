package reconcile

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// vaultProfilesSQL recomputes every profile from the satellites, ordered by
// uid in byte order. It follows state.User:
//
//   - email and phone come from the auth event with the latest created_at,
//     ties to the larger msg_id in byte order, and are NULL without auth
//     events,
//   - favorite_game is the app with the most spins, ties to the higher
//     purchase total and then the smaller app_id in byte order, among apps
//     with spins or purchases,
//   - last_event_at is the latest created_at of any kind,
//   - newest_load is the latest load_dts, for the pending rule.
//
// total_purchases is the exact sum; Go rounds it as the processor's MySQL
// write does.
const vaultProfilesSQL = `
WITH events AS (
    SELECT uid, app_id, created_at, load_dts, 0::bigint AS spins, 0::numeric AS amount, 0 AS purchases
    FROM satellite_auth_info
    UNION ALL
    SELECT uid, app_id, created_at, load_dts, spin_count, 0, 0
    FROM satellite_spin_info
    UNION ALL
    SELECT uid, app_id, created_at, load_dts, 0, amount_reporting, 1
    FROM satellite_purchase_info
),
per_app AS (
    SELECT uid, app_id, sum(spins) AS spins, sum(amount) AS amount, sum(purchases) AS purchases,
           max(created_at) AS last_event_at, max(load_dts) AS newest_load
    FROM events
    GROUP BY uid, app_id
),
favorites AS (
    SELECT DISTINCT ON (uid) uid, app_id
    FROM per_app
    WHERE spins <> 0 OR amount <> 0
    ORDER BY uid, spins DESC, amount DESC, app_id COLLATE "C"
),
contacts AS (
    SELECT DISTINCT ON (uid) uid, email, phone
    FROM satellite_auth_info
    ORDER BY uid, created_at DESC, msg_id COLLATE "C" DESC
),
totals AS (
    SELECT uid, sum(spins) AS spins, sum(amount) AS amount, sum(purchases) AS purchases,
           max(last_event_at) AS last_event_at, max(newest_load) AS newest_load
    FROM per_app
    GROUP BY uid
)
SELECT t.uid, c.email, c.phone, t.spins::bigint, t.amount::text, t.purchases::bigint, f.app_id,
       t.last_event_at, t.newest_load
FROM totals AS t
LEFT JOIN contacts AS c ON c.uid = t.uid
LEFT JOIN favorites AS f ON f.uid = t.uid
ORDER BY t.uid COLLATE "C"`

// storedProfilesSQL reads user_profiles in the order of its primary key.
// utf8mb4_bin orders by code point, which is the byte order of UTF-8.
const storedProfilesSQL = `
SELECT uid, email, phone, total_spins, total_purchases, purchase_count, favorite_game, last_event_at, updated_at
FROM user_profiles
ORDER BY uid`

// profile holds the compared columns of a user_profiles row.
type profile struct {
	uid            string
	email          sql.NullString
	phone          sql.NullString
	totalSpins     int64
	totalPurchases decimal.Decimal
	purchaseCount  int64
	favoriteGame   sql.NullString
	lastEventAt    time.Time
}

// vaultProfile is a recomputed profile and the newest load_dts of its
// events.
type vaultProfile struct {
	profile
	newestLoad time.Time
}

// storedProfile is a MySQL profile and its write time.
type storedProfile struct {
	profile
	updatedAt time.Time
}

func (p profile) String() string {
	return fields(
		"email", formatNullText(p.email),
		"phone", formatNullText(p.phone),
		"total_spins", formatInt(p.totalSpins),
		"total_purchases", formatMoney(p.totalPurchases),
		"purchase_count", formatInt(p.purchaseCount),
		"favorite_game", formatNullText(p.favoriteGame),
		"last_event_at", formatTime(p.lastEventAt),
	)
}

func (p profile) equal(q profile) bool {
	return sameNullText(p.email, q.email) &&
		sameNullText(p.phone, q.phone) &&
		p.totalSpins == q.totalSpins &&
		p.totalPurchases.Equal(q.totalPurchases) &&
		p.purchaseCount == q.purchaseCount &&
		sameNullText(p.favoriteGame, q.favoriteGame) &&
		sameTime(p.lastEventAt, q.lastEventAt)
}

// upsertValues returns the user_profiles columns but updated_at.
func (p profile) upsertValues() []any {
	return []any{
		p.uid, nullTextArg(p.email), nullTextArg(p.phone), p.totalSpins, moneyArg(p.totalPurchases),
		p.purchaseCount, nullTextArg(p.favoriteGame), microsUTC(p.lastEventAt),
	}
}

func scanVaultProfile(rows pgx.Rows) (vaultProfile, error) {
	var (
		p      vaultProfile
		amount string
	)
	err := rows.Scan(&p.uid, &p.email, &p.phone, &p.totalSpins, &amount, &p.purchaseCount, &p.favoriteGame,
		&p.lastEventAt, &p.newestLoad)
	if err != nil {
		return vaultProfile{}, err
	}
	total, err := parseMoney(amount, "total_purchases of uid "+p.uid)
	if err != nil {
		return vaultProfile{}, err
	}
	p.totalPurchases = roundMoney(total)
	return p, nil
}

func scanStoredProfile(rows *sql.Rows) (storedProfile, error) {
	var (
		p      storedProfile
		amount string
	)
	err := rows.Scan(&p.uid, &p.email, &p.phone, &p.totalSpins, &amount, &p.purchaseCount, &p.favoriteGame,
		&p.lastEventAt, &p.updatedAt)
	if err != nil {
		return storedProfile{}, err
	}
	if p.totalPurchases, err = parseMoney(amount, "total_purchases of uid "+p.uid); err != nil {
		return storedProfile{}, err
	}
	return p, nil
}

// compareProfiles merges the recomputed profiles with user_profiles.
//
// NOTE: user_profiles uses the PAD SPACE collation utf8mb4_bin, so uids that
// differ only in trailing spaces share one MySQL row. The vault keeps them
// apart, so such uids show up as differences that a repair cannot fix.
func (r *runner) compareProfiles(ctx context.Context, t *table) error {
	// The MySQL snapshot starts before the vault query. The processor stores
	// events before it writes MySQL, so a MySQL write that the snapshot lacks
	// belongs to events that the vault query returns with a newer load_dts,
	// and the pending rule counts such rows as pending.
	snap, err := r.readModels.snapshot(ctx)
	if err != nil {
		return err
	}
	defer snap.close(ctx)

	vaultRows, err := r.vault.Query(ctx, vaultProfilesSQL)
	if err != nil {
		return fmt.Errorf("query vault profiles: %w", err)
	}
	defer vaultRows.Close()
	expected := newCursor("vault profiles", rowReader(vaultRows, scanVaultProfile),
		func(a, b vaultProfile) int { return strings.Compare(a.uid, b.uid) },
		func(p vaultProfile) string { return p.uid })

	// The first vault row arrives once the aggregation is done. Starting the
	// MySQL query only then keeps its rows from waiting in the server's
	// send buffer for that long.
	if _, _, err := expected.peek(); err != nil {
		return err
	}

	storedRows, err := snap.conn.QueryContext(ctx, storedProfilesSQL)
	if err != nil {
		return fmt.Errorf("query %s: %w", ProfilesTable, err)
	}
	defer storedRows.Close()
	actual := newCursor(ProfilesTable, rowReader(storedRows, scanStoredProfile),
		func(a, b storedProfile) int { return strings.Compare(a.uid, b.uid) },
		func(p storedProfile) string { return p.uid })

	for {
		e, haveExpected, err := expected.peek()
		if err != nil {
			return err
		}
		a, haveActual, err := actual.peek()
		if err != nil {
			return err
		}
		if !haveExpected && !haveActual {
			break
		}
		t.compared()

		switch {
		case haveActual && (!haveExpected || a.uid < e.uid):
			err = r.extraProfile(ctx, t, a)
			actual.advance()
		case haveExpected && (!haveActual || e.uid < a.uid):
			err = r.missingProfile(ctx, t, e)
			expected.advance()
		default:
			err = r.matchProfile(ctx, t, e, a)
			expected.advance()
			actual.advance()
		}
		if err != nil {
			return err
		}
	}
	return t.finishRepair(ctx)
}

// extraProfile handles a MySQL profile of a uid without stored events.
func (r *runner) extraProfile(ctx context.Context, t *table, a storedProfile) error {
	t.differ(a.uid, "", a.String())
	if t.repair == nil {
		return nil
	}
	return t.repair.remove(ctx, a.uid)
}

// missingProfile handles a uid with stored events and no MySQL profile.
func (r *runner) missingProfile(ctx context.Context, t *table, e vaultProfile) error {
	if r.start.Sub(e.newestLoad) < PendingWindow {
		t.result.Pending++
		return nil
	}
	t.differ(e.uid, e.String(), "")
	if t.repair == nil {
		return nil
	}
	return t.repair.upsert(ctx, e.upsertValues()...)
}

// matchProfile compares the two rows of one uid.
func (r *runner) matchProfile(ctx context.Context, t *table, e vaultProfile, a storedProfile) error {
	if e.equal(a.profile) {
		return nil
	}
	if !a.updatedAt.After(e.newestLoad) {
		t.result.Pending++
		return nil
	}
	t.differ(e.uid, e.String(), a.String())
	if t.repair == nil {
		return nil
	}
	return t.repair.upsert(ctx, e.upsertValues()...)
}
