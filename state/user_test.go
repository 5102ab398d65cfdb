package state

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/gamestream/gamestream/handlers"
)

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v.UTC()
}

func auth(t *testing.T, id, ts, email, phone string) *handlers.Event {
	return &handlers.Event{MsgID: id, Kind: handlers.KindAuth, UID: "u", AppID: "a", Time: at(t, ts), Email: email, Phone: phone}
}

func spin(t *testing.T, id, app, ts string, count int64) *handlers.Event {
	return &handlers.Event{MsgID: id, Kind: handlers.KindSpin, UID: "u", AppID: app, Time: at(t, ts), SpinCount: count}
}

func purchase(t *testing.T, id, app, ts, amount string) *handlers.Event {
	return &handlers.Event{MsgID: id, Kind: handlers.KindPurchase, UID: "u", AppID: app, Time: at(t, ts),
		Amount: decimal.RequireFromString(amount), AmountReporting: decimal.RequireFromString(amount)}
}

func TestUserContactLatestEventTime(t *testing.T) {
	tests := []struct {
		name   string
		events []*handlers.Event
		email  string
		phone  string
	}{
		{
			name: "later event time wins over later arrival",
			events: []*handlers.Event{
				auth(t, "a2", "2024-01-02T00:00:00Z", "new@x.example", "+4915112345678"),
				auth(t, "a1", "2024-01-01T00:00:00Z", "old@x.example", "+4915100000000"),
			},
			email: "new@x.example", phone: "+4915112345678",
		},
		{
			name: "latest auth without phone clears the phone",
			events: []*handlers.Event{
				auth(t, "a1", "2024-01-01T00:00:00Z", "old@x.example", "+4915100000000"),
				auth(t, "a2", "2024-01-02T00:00:00Z", "new@x.example", ""),
			},
			email: "new@x.example", phone: "",
		},
		{
			name: "equal times go to the larger msg_id",
			events: []*handlers.Event{
				auth(t, "b", "2024-01-01T00:00:00Z", "b@x.example", ""),
				auth(t, "a", "2024-01-01T00:00:00Z", "a@x.example", ""),
				auth(t, "c", "2024-01-01T00:00:00Z", "c@x.example", ""),
			},
			email: "c@x.example",
		},
		{
			name:   "spins only leave no contact",
			events: []*handlers.Event{spin(t, "s1", "slots", "2024-01-01T00:00:00Z", 1)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var u User
			for _, e := range tc.events {
				u.Apply(e)
			}
			require.Equal(t, tc.email, u.Email)
			require.Equal(t, tc.phone, u.Phone)
		})
	}
}

func TestUserTotalsAndTimes(t *testing.T) {
	var u User
	u.Apply(spin(t, "s1", "slots", "2024-01-02T00:00:00Z", 3))
	u.Apply(purchase(t, "p1", "slots", "2024-01-03T00:00:00Z", "0.10"))
	u.Apply(purchase(t, "p2", "poker", "2024-01-01T00:00:00Z", "0.20"))
	u.Apply(auth(t, "a1", "2023-12-31T00:00:00Z", "x@x.example", ""))

	require.Equal(t, int64(3), u.TotalSpins)
	require.Equal(t, "0.3", u.TotalPurchases.String())
	require.Equal(t, int64(2), u.PurchaseCount)
	require.Equal(t, at(t, "2023-12-31T00:00:00Z"), u.FirstEventAt)
	require.Equal(t, at(t, "2024-01-03T00:00:00Z"), u.LastEventAt)
}

func TestUserFavoriteGame(t *testing.T) {
	tests := []struct {
		name   string
		events []*handlers.Event
		want   string
	}{
		{
			name: "most spins",
			events: []*handlers.Event{
				spin(t, "1", "slots", "2024-01-01T00:00:00Z", 2),
				spin(t, "2", "poker", "2024-01-01T00:00:00Z", 5),
			},
			want: "poker",
		},
		{
			name: "spin tie goes to higher purchase total",
			events: []*handlers.Event{
				spin(t, "1", "slots", "2024-01-01T00:00:00Z", 2),
				spin(t, "2", "poker", "2024-01-01T00:00:00Z", 2),
				purchase(t, "3", "slots", "2024-01-01T00:00:00Z", "0.99"),
			},
			want: "slots",
		},
		{
			name: "full tie goes to smaller app id",
			events: []*handlers.Event{
				spin(t, "1", "zeta", "2024-01-01T00:00:00Z", 2),
				spin(t, "2", "alpha", "2024-01-01T00:00:00Z", 2),
			},
			want: "alpha",
		},
		{
			name: "purchases only",
			events: []*handlers.Event{
				purchase(t, "1", "shop", "2024-01-01T00:00:00Z", "4.99"),
			},
			want: "shop",
		},
		{
			name:   "logins only",
			events: []*handlers.Event{auth(t, "1", "2024-01-01T00:00:00Z", "", "")},
			want:   "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var u User
			for _, e := range tc.events {
				u.Apply(e)
			}
			require.Equal(t, tc.want, u.FavoriteGame())
		})
	}
}
