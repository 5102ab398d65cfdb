package windows

import (
	"encoding/json"
	"slices"

	"github.com/shopspring/decimal"
)

// avgPurchasePlaces is the number of decimal places of AvgPurchase.
const avgPurchasePlaces = 2

// Contribution is the data of one event that window figures count.
type Contribution struct {
	// UID is the user, who counts as active for any contribution.
	UID string
	// AppID is the game the event belongs to.
	AppID string
	// Spins is the number of spins, 0 for events that are not spins.
	Spins int64
	// IsPurchase marks a purchase. Purchase is ignored unless it is set.
	IsPurchase bool
	// Purchase is the purchase amount in the reporting currency.
	Purchase decimal.Decimal
}

// Figures are the reported figures of a window or of one app in a window.
type Figures struct {
	// TotalSpins is the sum of Contribution.Spins.
	TotalSpins int64 `json:"total_spins"`
	// TotalPurchases is the exact sum of the purchase amounts in the
	// reporting currency.
	TotalPurchases decimal.Decimal `json:"total_purchases"`
	// PurchaseCount is the number of purchases.
	PurchaseCount int64 `json:"purchase_count"`
	// AvgPurchase is TotalPurchases / PurchaseCount rounded half away from
	// zero to 2 decimal places. ROUND on DECIMAL values rounds the same way
	// in MySQL 8 ("Rounding Behavior" in its manual) and PostgreSQL 13 and
	// later (round(numeric)). It is invalid (NULL) when PurchaseCount is 0.
	AvgPurchase decimal.NullDecimal `json:"avg_purchase"`
	// MostSpentGame is the app with the highest purchase total, the smaller
	// app ID in byte order on a tie, and empty when there are no purchases.
	MostSpentGame string `json:"most_spent_game"`
	// ActiveUsers is the number of distinct users with any contribution.
	ActiveUsers int64 `json:"active_users"`
}

// userSet is a set of user IDs that encodes to JSON as a sorted array.
type userSet map[string]struct{}

// MarshalJSON encodes the set as a sorted array of user IDs.
func (s userSet) MarshalJSON() ([]byte, error) {
	users := make([]string, 0, len(s))
	for uid := range s {
		users = append(users, uid)
	}
	slices.Sort(users)
	return json.Marshal(users)
}

// UnmarshalJSON decodes a set from an array of user IDs.
func (s *userSet) UnmarshalJSON(data []byte) error {
	var users []string
	if err := json.Unmarshal(data, &users); err != nil {
		return err
	}

	*s = make(userSet, len(users))
	for _, uid := range users {
		(*s)[uid] = struct{}{}
	}
	return nil
}

// appAggregate holds the running totals of one app in one window.
type appAggregate struct {
	TotalSpins     int64           `json:"total_spins"`
	TotalPurchases decimal.Decimal `json:"total_purchases"`
	PurchaseCount  int64           `json:"purchase_count"`
	Users          userSet         `json:"users"`
}

func (a *appAggregate) add(c Contribution) {
	a.TotalSpins += c.Spins
	if c.IsPurchase {
		a.TotalPurchases = a.TotalPurchases.Add(c.Purchase)
		a.PurchaseCount++
	}

	if a.Users == nil {
		a.Users = make(userSet)
	}
	a.Users[c.UID] = struct{}{}
}

func (a *appAggregate) figures(appID string) Figures {
	f := Figures{
		TotalSpins:     a.TotalSpins,
		TotalPurchases: a.TotalPurchases,
		PurchaseCount:  a.PurchaseCount,
		AvgPurchase:    average(a.TotalPurchases, a.PurchaseCount),
		ActiveUsers:    int64(len(a.Users)),
	}
	if a.PurchaseCount > 0 {
		f.MostSpentGame = appID
	}
	return f
}

// aggregate holds the running totals of one window, by app ID.
type aggregate map[string]*appAggregate

func (g aggregate) add(c Contribution) {
	app, ok := g[c.AppID]
	if !ok {
		app = &appAggregate{}
		g[c.AppID] = app
	}
	app.add(c)
}

// figures returns the figures of the whole window and of each app.
func (g aggregate) figures() (Figures, map[string]Figures) {
	var total Figures
	apps := make(map[string]Figures, len(g))
	users := make(map[string]struct{})
	var bestTotal decimal.Decimal
	haveBest := false

	for appID, app := range g {
		apps[appID] = app.figures(appID)

		total.TotalSpins += app.TotalSpins
		total.TotalPurchases = total.TotalPurchases.Add(app.TotalPurchases)
		total.PurchaseCount += app.PurchaseCount
		for uid := range app.Users {
			users[uid] = struct{}{}
		}

		if app.PurchaseCount > 0 && (!haveBest || isMoreSpent(app.TotalPurchases, appID, bestTotal, total.MostSpentGame)) {
			bestTotal = app.TotalPurchases
			total.MostSpentGame = appID
			haveBest = true
		}
	}

	total.AvgPurchase = average(total.TotalPurchases, total.PurchaseCount)
	total.ActiveUsers = int64(len(users))
	return total, apps
}

// isMoreSpent reports whether the app with amount and appID ranks before the
// best app so far: a higher amount, or the same amount and a smaller app ID.
func isMoreSpent(amount decimal.Decimal, appID string, bestAmount decimal.Decimal, bestAppID string) bool {
	switch amount.Cmp(bestAmount) {
	case 1:
		return true
	case 0:
		return appID < bestAppID
	}
	return false
}

// average returns total / count rounded half away from zero to 2 places,
// or an invalid NullDecimal when count is 0. DivRound rounds the exact
// quotient, so there is no double rounding.
func average(total decimal.Decimal, count int64) decimal.NullDecimal {
	if count == 0 {
		return decimal.NullDecimal{}
	}
	return decimal.NewNullDecimal(total.DivRound(decimal.NewFromInt(count), avgPurchasePlaces))
}
