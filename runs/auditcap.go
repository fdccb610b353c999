package runs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// MaxAuditValue caps each value an audit event keeps of what a change did
// (a param, notes, a comment's text): params may be 64 KiB of JSON, and the
// audit log kept every changed param whole, before and after (154 KB in
// one event). Longer values are kept as capped.
const MaxAuditValue = 1024

// auditValue is v as the audit log keeps it: as it is when its text (a
// string) or its JSON (anything else) is at most MaxAuditValue bytes, else
// capped, as {"truncated", "bytes", "sha256"} (JSON-shaped, like every
// audit detail).
func auditValue(v any) any {
	var text string
	if s, ok := v.(string); ok {
		text = s
	} else {
		b, _ := json.Marshal(v) // JSON-shaped values always marshal
		text = string(b)
	}
	if len(text) <= MaxAuditValue {
		return v
	}
	sum := sha256.Sum256([]byte(text))
	return map[string]any{"truncated": truncate(text, MaxAuditValue), "bytes": float64(len(text)),
		"sha256": hex.EncodeToString(sum[:])}
}
