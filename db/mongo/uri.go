package mongo

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
)

// uriParts splits a MongoDB URI into its scheme, user information, host
// list, path and query by the connection-string grammar (hosts may be
// comma-separated, or a percent-encoded Unix socket path, which net/url
// rejects).
type uriParts struct {
	scheme, userinfo, hosts, path, query string
	hasUser, hasQuery                    bool
}

func splitURI(uri string) (uriParts, bool) {
	var p uriParts
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return p, false
	}
	p.scheme = scheme
	rest, _, _ = strings.Cut(rest, "#")
	rest, p.query, p.hasQuery = strings.Cut(rest, "?")
	authority, path, hasPath := strings.Cut(rest, "/")
	if hasPath {
		p.path = "/" + path
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		p.userinfo, p.hosts, p.hasUser = authority[:i], authority[i+1:], true
	} else {
		p.hosts = authority
	}
	return p, true
}

// ValidateURI checks a deployment URI without network access: a
// mongodb+srv:// URI is resolved through DNS only when the server
// connects, so an outage of DNS does not stop the server from starting.
// Messages never contain the URI's secrets.
func ValidateURI(uri string) error {
	p, ok := splitURI(uri)
	if !ok {
		return errors.New("not a valid URI: it must start with mongodb:// or mongodb+srv://")
	}
	switch p.scheme {
	case "mongodb":
		if _, err := connstring.ParseAndValidate(uri); err != nil {
			return fmt.Errorf("not a valid MongoDB URI: %s", RedactURIText(strings.Join(strings.Fields(err.Error()), " "), uri))
		}
	case "mongodb+srv":
		if p.hosts == "" || strings.Contains(p.hosts, ",") || strings.Contains(p.hosts, ":") {
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
	p, ok := splitURI(uri)
	if !ok {
		return "[unparseable, redacted]"
	}
	out := p.scheme + "://"
	if p.hasUser {
		user, _, hasPassword := strings.Cut(p.userinfo, ":")
		out += user
		if hasPassword {
			out += ":xxxxx"
		}
		out += "@"
	}
	out += p.hosts + p.path
	if p.hasQuery {
		out += "?…"
	}
	return out
}

// RedactURIText removes the URI's password and every query value from a
// message about it.
func RedactURIText(msg, uri string) string {
	p, ok := splitURI(uri)
	if !ok {
		return msg
	}
	var secrets []string
	if _, password, found := strings.Cut(p.userinfo, ":"); found && password != "" {
		secrets = append(secrets, password)
		if plain, err := url.PathUnescape(password); err == nil {
			secrets = append(secrets, plain)
		}
	}
	for _, pair := range strings.Split(p.query, "&") {
		if _, v, found := strings.Cut(pair, "="); found && len(v) >= 4 {
			secrets = append(secrets, v)
			if plain, err := url.QueryUnescape(v); err == nil {
				secrets = append(secrets, plain)
			}
		}
	}
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return msg
}
