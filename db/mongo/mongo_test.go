package mongo_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"labreview/db"
	"labreview/db/dbtest"
	"labreview/db/mongo"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestHostedOutageAndRecovery runs FerretDB on TCP as the hosted server:
// Open succeeds while it is down, Ping says unavailable, operations fail
// with ErrUnavailable, and the same store recovers by itself once the
// server is up, and again after a second outage.
func TestHostedOutageAndRecovery(t *testing.T) {
	addr := dbtest.FreeTCPAddr(t)
	s, err := mongo.Open(context.Background(), mongo.Options{
		URI:                    "mongodb://" + addr + "/?heartbeatFrequencyMS=500",
		Database:               "hosted",
		ServerSelectionTimeout: 500 * time.Millisecond,
		ConnectTimeout:         500 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("Open with the server down: %v", err)
	}
	defer s.Close(context.Background())
	if err := s.Ping(context.Background()); !errors.Is(err, db.ErrUnavailable) {
		t.Fatalf("Ping while down: got %v, want ErrUnavailable", err)
	}
	if _, err := s.UserByEmail(context.Background(), "a@lab.org"); !errors.Is(err, db.ErrUnavailable) {
		t.Fatalf("a query while down: got %v, want ErrUnavailable", err)
	}
	stop := dbtest.StartTCP(t, addr)
	waitPing(t, s, nil)
	if err := s.InsertUser(context.Background(), &db.User{ID: db.NewID(), Email: "a@lab.org", Role: db.RoleAdmin, PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	stop()
	waitPing(t, s, db.ErrUnavailable)
	dbtest.StartTCP(t, addr)
	waitPing(t, s, nil)
}

func waitPing(t *testing.T, s *mongo.Store, want error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := s.Ping(ctx)
		cancel()
		if (want == nil && err == nil) || (want != nil && errors.Is(err, want)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ping: still %v, want %v", err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestValidateURI(t *testing.T) {
	for _, good := range []string{"mongodb://db1:27017,db2:27017/?replicaSet=rs0&tls=true", "mongodb+srv://user:pw@cluster0.example.net/?retryWrites=true",
		"mongodb://%2Ftmp%2Fmongodb-27017.sock/"} {
		if err := mongo.ValidateURI(good); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	for _, bad := range []string{"mysql://db", "mongodb://user:hunter2@db:notaport", "mongodb+srv://cluster.example.net:27017",
		"mongodb+srv://a.example.net,b.example.net", "::", "postgres://x"} {
		err := mongo.ValidateURI(bad)
		if err == nil {
			t.Errorf("%s accepted", bad)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the message shows the password: %v", err)
		}
	}
}

// TestRedactURI: the password and every option (TLS key passwords, AWS
// session tokens, …) are hidden.
func TestRedactURI(t *testing.T) {
	for uri, want := range map[string]string{
		"mongodb://lab:hunter2@db.example.org:27017/?authSource=admin&tlsCertificateKeyFilePassword=s3cret": "mongodb://lab:xxxxx@db.example.org:27017/?…",
		"mongodb+srv://cluster0.example.net/?authMechanismProperties=AWS_SESSION_TOKEN:tok3n":               "mongodb+srv://cluster0.example.net/?…",
		"mongodb://db1,db2/labreview":                   "mongodb://db1,db2/labreview",
		"mongodb://u:p%40ss@db/#frag":                   "mongodb://u:xxxxx@db/",
		"not a uri":                                     "[unparseable, redacted]",
		"mongodb://%2Ftmp%2Fmongodb-27017.sock/lab?x=1": "mongodb://%2Ftmp%2Fmongodb-27017.sock/lab?…",
		"mongodb://db/?tlsCertificateKeyFile=/k.pem&":   "mongodb://db/?…",
	} {
		if got := mongo.RedactURI(uri); got != want {
			t.Errorf("mongo.RedactURI(%q) = %q, want %q", uri, got, want)
		}
	}
	msg := mongo.RedactURIText("auth failed for hunter2 with s3cret", "mongodb://lab:hunter2@db/?tlsCertificateKeyFilePassword=s3cret")
	if strings.Contains(msg, "hunter2") || strings.Contains(msg, "s3cret") {
		t.Errorf("RedactURIText left a secret: %s", msg)
	}
}
