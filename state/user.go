// Package state holds the per-user state and the window state of the
// processor in memory and checkpoints them, together with the Kafka offsets
// they include, to Badger.
package state

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/gamestream/gamestream/handlers"
)

// User is the folded state of one user. Folding the same set of events in
// any order gives the same User, because every field is a sum, a maximum or
// a choice with a total order.
type User struct {
	// Email and Phone come from the auth event with the latest event time;
	// among auth events with equal times the larger msg_id wins.
	Email        string    `json:"email,omitempty"`
	Phone        string    `json:"phone,omitempty"`
	ContactAt    time.Time `json:"contact_at"`
	ContactMsgID string    `json:"contact_msg_id,omitempty"`

	TotalSpins     int64           `json:"total_spins"`
	TotalPurchases decimal.Decimal `json:"total_purchases"`
	PurchaseCount  int64           `json:"purchase_count"`
	Apps           map[string]*App `json:"apps"`

	FirstEventAt time.Time `json:"first_event_at"`
	LastEventAt  time.Time `json:"last_event_at"`
}

// App holds one user's totals in one app.
type App struct {
	Spins     int64           `json:"spins"`
	Purchases decimal.Decimal `json:"purchases"`
}

// Apply folds one event into the user.
func (u *User) Apply(e *handlers.Event) {
	if u.FirstEventAt.IsZero() || e.Time.Before(u.FirstEventAt) {
		u.FirstEventAt = e.Time
	}
	if e.Time.After(u.LastEventAt) {
		u.LastEventAt = e.Time
	}

	switch e.Kind {
	case handlers.KindAuth:
		u.applyContact(e)
	case handlers.KindSpin:
		u.TotalSpins += e.SpinCount
		u.app(e.AppID).Spins += e.SpinCount
	case handlers.KindPurchase:
		u.TotalPurchases = u.TotalPurchases.Add(e.AmountReporting)
		u.PurchaseCount++
		app := u.app(e.AppID)
		app.Purchases = app.Purchases.Add(e.AmountReporting)
	}
}

func (u *User) applyContact(e *handlers.Event) {
	newer := u.ContactMsgID == "" ||
		e.Time.After(u.ContactAt) ||
		(e.Time.Equal(u.ContactAt) && e.MsgID > u.ContactMsgID)
	if !newer {
		return
	}
	u.Email = e.Email
	u.Phone = e.Phone
	u.ContactAt = e.Time
	u.ContactMsgID = e.MsgID
}

func (u *User) app(id string) *App {
	if u.Apps == nil {
		u.Apps = make(map[string]*App)
	}
	a, ok := u.Apps[id]
	if !ok {
		a = &App{}
		u.Apps[id] = a
	}
	return a
}

// FavoriteGame returns the app with the most spins; ties go to the higher
// purchase total and then to the smaller app id. It returns "" when the user
// has neither spins nor purchases.
func (u *User) FavoriteGame() string {
	best := ""
	var bestApp *App
	for id, a := range u.Apps {
		if a.Spins == 0 && a.Purchases.IsZero() {
			continue
		}
		if bestApp == nil || betterFavorite(id, a, best, bestApp) {
			best, bestApp = id, a
		}
	}
	return best
}

func betterFavorite(id string, a *App, bestID string, best *App) bool {
	if a.Spins != best.Spins {
		return a.Spins > best.Spins
	}
	if c := a.Purchases.Cmp(best.Purchases); c != 0 {
		return c > 0
	}
	return id < bestID
}
