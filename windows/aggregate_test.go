package windows

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// figuresView is Figures with decimals as strings, so that equal values
// with different internal representations compare equal.
type figuresView struct {
	TotalSpins     int64
	TotalPurchases string
	PurchaseCount  int64
	AvgPurchase    string
	MostSpentGame  string
	ActiveUsers    int64
}

func viewFigures(f Figures) figuresView {
	avg := "NULL"
	if f.AvgPurchase.Valid {
		avg = f.AvgPurchase.Decimal.String()
	}

	return figuresView{
		TotalSpins:     f.TotalSpins,
		TotalPurchases: f.TotalPurchases.String(),
		PurchaseCount:  f.PurchaseCount,
		AvgPurchase:    avg,
		MostSpentGame:  f.MostSpentGame,
		ActiveUsers:    f.ActiveUsers,
	}
}

func viewApps(apps map[string]Figures) map[string]figuresView {
	views := make(map[string]figuresView, len(apps))
	for appID, f := range apps {
		views[appID] = viewFigures(f)
	}
	return views
}

func spin(uid, appID string, spins int64) Contribution {
	return Contribution{UID: uid, AppID: appID, Spins: spins}
}

func purchase(uid, appID, amount string) Contribution {
	return Contribution{UID: uid, AppID: appID, IsPurchase: true, Purchase: decimal.RequireFromString(amount)}
}

func TestAggregateFigures(t *testing.T) {
	tests := []struct {
		name          string
		contributions []Contribution
		want          figuresView
		wantApps      map[string]figuresView
	}{
		{
			name:          "average 0.125 rounds to 0.13",
			contributions: []Contribution{purchase("u1", "a", "0.10"), purchase("u1", "a", "0.15")},
			want:          figuresView{TotalPurchases: "0.25", PurchaseCount: 2, AvgPurchase: "0.13", MostSpentGame: "a", ActiveUsers: 1},
			wantApps: map[string]figuresView{
				"a": {TotalPurchases: "0.25", PurchaseCount: 2, AvgPurchase: "0.13", MostSpentGame: "a", ActiveUsers: 1},
			},
		},
		{
			name:          "average -0.125 rounds to -0.13",
			contributions: []Contribution{purchase("u1", "a", "-0.10"), purchase("u1", "a", "-0.15")},
			want:          figuresView{TotalPurchases: "-0.25", PurchaseCount: 2, AvgPurchase: "-0.13", MostSpentGame: "a", ActiveUsers: 1},
			wantApps: map[string]figuresView{
				"a": {TotalPurchases: "-0.25", PurchaseCount: 2, AvgPurchase: "-0.13", MostSpentGame: "a", ActiveUsers: 1},
			},
		},
		{
			name:          "average 0.005 rounds to 0.01",
			contributions: []Contribution{purchase("u1", "a", "0.01"), purchase("u2", "a", "0.00")},
			want:          figuresView{TotalPurchases: "0.01", PurchaseCount: 2, AvgPurchase: "0.01", MostSpentGame: "a", ActiveUsers: 2},
			wantApps: map[string]figuresView{
				"a": {TotalPurchases: "0.01", PurchaseCount: 2, AvgPurchase: "0.01", MostSpentGame: "a", ActiveUsers: 2},
			},
		},
		{
			name:          "average one third rounds down",
			contributions: []Contribution{purchase("u1", "a", "1.00"), purchase("u2", "a", "0"), purchase("u3", "a", "0")},
			want:          figuresView{TotalPurchases: "1", PurchaseCount: 3, AvgPurchase: "0.33", MostSpentGame: "a", ActiveUsers: 3},
			wantApps: map[string]figuresView{
				"a": {TotalPurchases: "1", PurchaseCount: 3, AvgPurchase: "0.33", MostSpentGame: "a", ActiveUsers: 3},
			},
		},
		{
			name:          "average two thirds rounds up",
			contributions: []Contribution{purchase("u1", "a", "2.00"), purchase("u2", "a", "0"), purchase("u3", "a", "0")},
			want:          figuresView{TotalPurchases: "2", PurchaseCount: 3, AvgPurchase: "0.67", MostSpentGame: "a", ActiveUsers: 3},
			wantApps: map[string]figuresView{
				"a": {TotalPurchases: "2", PurchaseCount: 3, AvgPurchase: "0.67", MostSpentGame: "a", ActiveUsers: 3},
			},
		},
		{
			name:          "no purchases gives NULL average",
			contributions: []Contribution{spin("u1", "a", 3), spin("u2", "b", 4)},
			want:          figuresView{TotalSpins: 7, TotalPurchases: "0", AvgPurchase: "NULL", ActiveUsers: 2},
			wantApps: map[string]figuresView{
				"a": {TotalSpins: 3, TotalPurchases: "0", AvgPurchase: "NULL", ActiveUsers: 1},
				"b": {TotalSpins: 4, TotalPurchases: "0", AvgPurchase: "NULL", ActiveUsers: 1},
			},
		},
		{
			name: "most spent tie goes to smaller app ID",
			contributions: []Contribution{
				purchase("u1", "b", "10.00"),
				purchase("u1", "a", "4.0"),
				purchase("u2", "a", "6.00"),
				purchase("u3", "c", "9.99"),
			},
			want: figuresView{TotalPurchases: "29.99", PurchaseCount: 4, AvgPurchase: "7.5", MostSpentGame: "a", ActiveUsers: 3},
			wantApps: map[string]figuresView{
				"a": {TotalPurchases: "10", PurchaseCount: 2, AvgPurchase: "5", MostSpentGame: "a", ActiveUsers: 2},
				"b": {TotalPurchases: "10", PurchaseCount: 1, AvgPurchase: "10", MostSpentGame: "b", ActiveUsers: 1},
				"c": {TotalPurchases: "9.99", PurchaseCount: 1, AvgPurchase: "9.99", MostSpentGame: "c", ActiveUsers: 1},
			},
		},
		{
			name:          "most spent tie uses byte order",
			contributions: []Contribution{purchase("u1", "a", "5"), purchase("u1", "B", "5")},
			want:          figuresView{TotalPurchases: "10", PurchaseCount: 2, AvgPurchase: "5", MostSpentGame: "B", ActiveUsers: 1},
			wantApps: map[string]figuresView{
				"a": {TotalPurchases: "5", PurchaseCount: 1, AvgPurchase: "5", MostSpentGame: "a", ActiveUsers: 1},
				"B": {TotalPurchases: "5", PurchaseCount: 1, AvgPurchase: "5", MostSpentGame: "B", ActiveUsers: 1},
			},
		},
		{
			name:          "most spent ignores apps without purchases",
			contributions: []Contribution{spin("u1", "a", 100), purchase("u2", "b", "0.50")},
			want:          figuresView{TotalSpins: 100, TotalPurchases: "0.5", PurchaseCount: 1, AvgPurchase: "0.5", MostSpentGame: "b", ActiveUsers: 2},
			wantApps: map[string]figuresView{
				"a": {TotalSpins: 100, TotalPurchases: "0", AvgPurchase: "NULL", ActiveUsers: 1},
				"b": {TotalPurchases: "0.5", PurchaseCount: 1, AvgPurchase: "0.5", MostSpentGame: "b", ActiveUsers: 1},
			},
		},
		{
			name: "active users are distinct and include logins",
			contributions: []Contribution{
				spin("u1", "a", 1),
				spin("u1", "a", 2),
				spin("u1", "b", 3),
				spin("u2", "b", 0),
				{UID: "u3", AppID: "a", Purchase: decimal.RequireFromString("7")},
			},
			want: figuresView{TotalSpins: 6, TotalPurchases: "0", AvgPurchase: "NULL", ActiveUsers: 3},
			wantApps: map[string]figuresView{
				"a": {TotalSpins: 3, TotalPurchases: "0", AvgPurchase: "NULL", ActiveUsers: 2},
				"b": {TotalSpins: 3, TotalPurchases: "0", AvgPurchase: "NULL", ActiveUsers: 2},
			},
		},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := make(aggregate)
			for _, c := range tc.contributions {
				g.add(c)
			}

			figures, apps := g.figures()

			require.Equal(t, tc.want, viewFigures(figures), "window figures")
			require.Equal(t, tc.wantApps, viewApps(apps), "app figures")
		})
	}
}

func TestAverageScale(t *testing.T) {
	tests := []struct {
		name  string
		total string
		count int64
		want  string
	}{
		{"whole number keeps two places", "10", 2, "5.00"},
		{"exact half cent", "0.25", 2, "0.13"},
		{"negative half cent", "-0.25", 2, "-0.13"},
		{"just below half cent", "0.2499", 2, "0.12"},
		{"many places", "100", 7, "14.29"},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			avg := average(decimal.RequireFromString(tc.total), tc.count)

			require.True(t, avg.Valid)
			require.Equal(t, tc.want, avg.Decimal.StringFixed(2))
			require.Equal(t, int32(-2), avg.Decimal.Exponent(), "scale")
		})
	}
}
