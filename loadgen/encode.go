package loadgen

import (
	"strconv"
	"time"
)

// timestampLayout is RFC 3339 with milliseconds. It writes "Z" for UTC and
// the numeric offset for other zones.
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

type eventKind uint8

const (
	kindAuth eventKind = iota
	kindSpin
	kindPurchase
)

// event is one generated event before encoding. It copies the player's
// contact details and currency, so it encodes the same way later, after the
// player has changed them.
type event struct {
	kind   eventKind
	msgID  uint64
	player *player
	app    int
	timeMs int64 // event time in Unix milliseconds

	emailVersion int    // auth
	phone        string // auth, empty when the player has no phone

	spinCount int   // spin
	bet, win  int64 // spin, in coins

	prices   *priceList // purchase
	tier     int        // purchase: index into prices.points and productIDs
	currency string     // purchase: the currency written, normally prices.code

	omitUID        bool // invalid line: leave out the uid member
	negativeAmount bool // invalid line: write purchase_amount with a minus sign
}

// appendEvent appends ev as one JSON object, without a line feed. Every
// string it writes is ASCII without quotes or backslashes, so none needs
// escaping.
func (g *generator) appendEvent(b []byte, ev *event) []byte {
	b = append(b, `{"msg_id":"gen-`...)
	b = strconv.AppendInt(b, g.cfg.Seed, 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, ev.msgID, 10)

	b = append(b, `","type":"`...)
	switch ev.kind {
	case kindAuth:
		b = append(b, "auth"...)
	case kindSpin:
		b = append(b, "spin"...)
	case kindPurchase:
		b = append(b, "purchase"...)
	}

	if !ev.omitUID {
		b = append(b, `","uid":"`...)
		b = append(b, ev.player.uid...)
	}
	b = append(b, `","app_id":"`...)
	b = append(b, g.apps[ev.app]...)
	b = append(b, `","timestamp":"`...)
	b = time.UnixMilli(ev.timeMs).In(ev.player.zone).AppendFormat(b, timestampLayout)
	b = append(b, '"')

	switch ev.kind {
	case kindAuth:
		b = appendAuthFields(b, ev)
	case kindSpin:
		b = appendSpinFields(b, ev)
	case kindPurchase:
		b = appendPurchaseFields(b, ev)
	}
	return append(b, '}')
}

func appendAuthFields(b []byte, ev *event) []byte {
	b = append(b, `,"email":"`...)
	b = appendEmail(b, ev.player, ev.emailVersion)
	b = append(b, '"')
	if ev.phone != "" {
		b = append(b, `,"phone":"`...)
		b = append(b, ev.phone...)
		b = append(b, '"')
	}
	return b
}

// appendEmail appends the address of the player's emailVersion-th email:
// "player" and the first 8 digits of the uid, then ".version" from the
// second address on, at a domain that changes with the version.
func appendEmail(b []byte, p *player, version int) []byte {
	b = append(b, "player"...)
	b = append(b, p.uid[:8]...)
	if version > 0 {
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(version), 10)
	}
	b = append(b, '@')
	return append(b, emailDomains[(p.domain+version)%len(emailDomains)]...)
}

func appendSpinFields(b []byte, ev *event) []byte {
	b = append(b, `,"spin_count":`...)
	b = strconv.AppendInt(b, int64(ev.spinCount), 10)
	b = append(b, `,"bet":"`...)
	b = strconv.AppendInt(b, ev.bet, 10)
	b = append(b, `","win":"`...)
	b = strconv.AppendInt(b, ev.win, 10)
	b = append(b, `","currency":"`...)
	b = append(b, gameCurrency...)
	return append(b, '"')
}

func appendPurchaseFields(b []byte, ev *event) []byte {
	b = append(b, `,"purchase_amount":"`...)
	if ev.negativeAmount {
		b = append(b, '-')
	}
	b = append(b, ev.prices.points[ev.tier]...)
	b = append(b, `","currency":"`...)
	b = append(b, ev.currency...)
	b = append(b, `","product_id":"`...)
	b = append(b, productIDs[ev.tier]...)
	return append(b, '"')
}
