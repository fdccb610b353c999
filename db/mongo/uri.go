package mongo

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
)

// ValidateURI checks a deployment URI without network access: a
// mongodb+srv:// URI is resolved through DNS only when the server
// connects, so an outage of DNS does not stop the server from starting.
// Messages never contain the URI's secrets.
func ValidateURI(uri string) error {
	u, err := url.Parse(uri)
	if err != nil {
		return errors.New("not a valid URI")
	}
	switch u.Scheme {
	case "mongodb":
		if _, err := connstring.ParseAndValidate(uri); err != nil {
			return fmt.Errorf("not a valid MongoDB URI: %s", RedactURIText(strings.Join(strings.Fields(err.Error()), " "), uri))
		}
	case "mongodb+srv":
		if u.Hostname() == "" || u.Port() != "" || strings.Contains(u.Host, ",") {
			return errors.New("a mongodb+srv:// URI must name exactly one host name and no port")
		}
	default:
		return errors.New("must start with mongodb:// or mongodb+srv://")
	}
	return nil
}

// RedactURI returns the URI safe to print: the password of the user part
// replaced, and the query (where TLS key passwords, AWS session tokens and
// other credentials can sit) shown as "?…" when present.
func RedactURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "[unparseable, redacted]"
	}
	hasQuery := u.RawQuery != "" || u.ForceQuery
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	out := u.Redacted()
	if hasQuery {
		out += "?…"
	}
	return out
}

// RedactURIText removes the URI's password and every query value from a
// message about it.
func RedactURIText(msg, uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return msg
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
			if esc := url.QueryEscape(p); esc != p {
				msg = strings.ReplaceAll(msg, esc, "xxxxx")
			}
		}
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= 4 {
				msg = strings.ReplaceAll(msg, v, "xxxxx")
			}
		}
	}
	return msg
}
