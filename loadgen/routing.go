package loadgen

import "encoding/json"

// readRouting returns the values of the top-level "type" and "uid" members
// of the JSON object in line. It reads the line in one pass and allocates
// only for values with escape sequences.
//
// It does not validate the line: it reads members until the end of the
// object or the first syntax error and returns what it found before that
// point. A later member of the same name replaces an earlier one, as
// encoding/json does when it decodes into a struct. A value is nil when its
// member is missing or its value is not a string. Member names are compared
// byte for byte, so an escaped name such as "u\u0069d" does not count.
// Values without escapes are subslices of line, and values with escapes are
// decoded into new slices.
func readRouting(line []byte) (typ, uid []byte) {
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return nil, nil
	}
	i++

	for {
		i = skipSpace(line, i)
		if i >= len(line) || line[i] != '"' {
			return typ, uid
		}
		nameEnd, ok := scanString(line, i)
		if !ok {
			return typ, uid
		}
		name := line[i+1 : nameEnd-1]

		i = skipSpace(line, nameEnd)
		if i >= len(line) || line[i] != ':' {
			return typ, uid
		}
		i = skipSpace(line, i+1)

		valueStart := i
		var value []byte
		if i < len(line) && line[i] == '"' {
			i, ok = scanString(line, i)
			if ok {
				value = stringValue(line[valueStart:i])
			}
		} else {
			i, ok = skipValue(line, i)
		}
		if !ok {
			return typ, uid
		}
		switch string(name) {
		case "type":
			typ = value
		case "uid":
			uid = value
		}

		i = skipSpace(line, i)
		if i >= len(line) || line[i] != ',' {
			return typ, uid
		}
		i++
	}
}

// scanString returns the index after the closing quote of the JSON string
// that starts at line[start], or false when the string is not terminated.
func scanString(line []byte, start int) (int, bool) {
	for i := start + 1; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return len(line), false
}

// stringValue returns the contents of a quoted JSON string: a subslice when
// it has no escapes, otherwise the decoded bytes, or nil when it does not
// decode.
func stringValue(quoted []byte) []byte {
	inner := quoted[1 : len(quoted)-1]
	for _, c := range inner {
		if c == '\\' {
			var decoded string
			if json.Unmarshal(quoted, &decoded) != nil {
				return nil
			}
			return []byte(decoded)
		}
	}
	return inner
}

// skipValue returns the index after the non-string JSON value that starts at
// line[start]: an object or array, matched by brackets, or a number or
// literal, which ends at the next delimiter. It reports false when a
// bracket is not closed or the value is empty.
func skipValue(line []byte, start int) (int, bool) {
	depth := 0
	i := start
	for i < len(line) {
		switch c := line[i]; c {
		case '"':
			end, ok := scanString(line, i)
			if !ok {
				return end, false
			}
			i = end
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i, i > start
			}
			depth--
			if depth == 0 {
				return i + 1, true
			}
		case ',', ' ', '\t', '\r', '\n':
			if depth == 0 {
				return i, i > start
			}
		}
		i++
	}
	return i, depth == 0 && i > start
}

func skipSpace(line []byte, i int) int {
	for i < len(line) {
		switch line[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}
