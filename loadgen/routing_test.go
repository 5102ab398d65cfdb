package loadgen

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReadRouting(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		wantType  string
		wantUID   string
		typeIsNil bool
		uidIsNil  bool
	}{
		{name: "generated line", line: `{"msg_id":"gen-1-1","type":"spin","uid":"abc","bet":"10"}`, wantType: "spin", wantUID: "abc"},
		{name: "spaces", line: ` { "type" : "auth" , "uid" : "u 1" } `, wantType: "auth", wantUID: "u 1"},
		{name: "uid first", line: `{"uid":"u1","x":1,"type":"purchase"}`, wantType: "purchase", wantUID: "u1"},
		{name: "nested objects skipped", line: `{"meta":{"uid":"inner","a":[1,{"type":"x"}]},"type":"spin","uid":"outer"}`, wantType: "spin", wantUID: "outer"},
		{name: "name inside a value", line: `{"note":"\"uid\":\"fake\"","uid":"real","type":"spin"}`, wantType: "spin", wantUID: "real"},
		{name: "uid as a value", line: `{"product_id":"uid","type":"auth","uid":"u2"}`, wantType: "auth", wantUID: "u2"},
		{name: "escaped value decoded", line: `{"type":"spin","uid":"a\"b\u00e9"}`, wantType: "spin", wantUID: "a\"bé"},
		{name: "literals and numbers", line: `{"ok":true,"n":-1.5e3,"z":null,"type":"spin","uid":"u3"}`, wantType: "spin", wantUID: "u3"},
		{name: "last member wins", line: `{"uid":"first","uid":"second","type":"spin"}`, wantType: "spin", wantUID: "second"},
		{name: "missing uid", line: `{"type":"purchase","app_id":"a"}`, wantType: "purchase", uidIsNil: true},
		{name: "numeric uid", line: `{"type":"spin","uid":123}`, wantType: "spin", uidIsNil: true},
		{name: "truncated after uid", line: `{"type":"spin","uid":"u4","bet":"1`, wantType: "spin", wantUID: "u4"},
		{name: "truncated inside uid", line: `{"type":"spin","uid":"u4`, wantType: "spin", uidIsNil: true},
		{name: "not an object", line: `["type","spin"]`, typeIsNil: true, uidIsNil: true},
		{name: "not JSON", line: `type=spin uid=u5`, typeIsNil: true, uidIsNil: true},
		{name: "empty", line: ``, typeIsNil: true, uidIsNil: true},
		{name: "empty object", line: `{}`, typeIsNil: true, uidIsNil: true},
		{name: "unclosed nested object", line: `{"a":{"b":1,"type":"spin","uid":"u6"`, typeIsNil: true, uidIsNil: true},
		{name: "escaped name ignored", line: `{"type":"spin","u\u0069d":"u7"}`, wantType: "spin", uidIsNil: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, uid := readRouting([]byte(tt.line))
			if tt.typeIsNil {
				assert.Nil(t, typ, "type")
			} else {
				assert.Equal(t, tt.wantType, string(typ), "type")
			}
			if tt.uidIsNil {
				assert.Nil(t, uid, "uid")
			} else {
				assert.Equal(t, tt.wantUID, string(uid), "uid")
			}
		})
	}
}

func TestReadRoutingDoesNotAllocate(t *testing.T) {
	line := []byte(`{"msg_id":"gen-1-1","type":"spin","uid":"8c3d964728b602d8","app_id":"slots-gold-rush","timestamp":"2025-05-26T00:00:00.010Z","spin_count":1,"bet":"20","win":"0","currency":"coins"}`)
	allocs := testing.AllocsPerRun(100, func() {
		readRouting(line)
	})
	assert.Zero(t, allocs)
}
