// Package clustertest holds the tests that run labreview as the real
// binary, several processes at once, on one store outside them: two
// instances on one hosted store (FerretDB in a process of its own, behind
// a proxy the test can cut), store outages under load on both adapters,
// and the soak across a rolling restart. It has no code outside its tests.
package clustertest
